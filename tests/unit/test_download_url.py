"""The download URL's plain-form reading gives the general path's verdicts (issue #17).

``checked_download_url`` reads ONS's usual URL (``https://<host>/<path>?token=<JWT>``) by one
regular expression instead of ``urlsplit`` and ``parse_qs``. For every URL, whichever path
reads it, the answer (token and canonical URL, or the refusal's message) must be what the
general path alone says: checked on hand-picked URLs and on URLs hypothesis builds from the
pieces that sit on either side of the plain form's edges.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sintegre.intake.notification import NotificationError, urls
from sintegre.intake.notification.urls import checked_download_url

HOSTS = ("apps08.ons.org.br", "1.2.3.4", "sintegre.ons.org.br")
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJuYmYiOjF9.c2ln"


def _general(url: str) -> tuple[str, str] | str:
    """The general path's verdict (the plain-form match switched off)."""
    original = urls._PLAIN_URL
    urls._PLAIN_URL = _NEVER
    try:
        return checked_download_url(url, HOSTS)
    except NotificationError as exc:
        return f"{exc.status} {exc}"
    finally:
        urls._PLAIN_URL = original


def _fast(url: str) -> tuple[str, str] | str:
    try:
        return checked_download_url(url, HOSTS)
    except NotificationError as exc:
        return f"{exc.status} {exc}"


class _Never:
    def fullmatch(self, _text: str) -> None:
        return None


_NEVER = _Never()

CASES = [
    f"https://apps08.ons.org.br/ONS.Sintegre.Proxy/webhook?token={TOKEN}",
    f"https://apps08.ons.org.br?token={TOKEN}",
    f"https://apps08.ons.org.br/?token={TOKEN}",
    f"https://apps08.ons.org.br/a/b/?token={TOKEN}==",
    f"HTTPS://APPS08.ons.org.br/ONS.Sintegre.Proxy/webhook?token={TOKEN}",
    f"https://apps08.ons.org.br:443/x?token={TOKEN}",
    f"https://user:pw@apps08.ons.org.br/x?token={TOKEN}",
    f"https://1.2.3.4/x?token={TOKEN}",
    f"https://evil.example/x?token={TOKEN}",
    f"https://apps08.ons.org.br./x?token={TOKEN}",
    f"https://apps08.ons.org.br/x?token={TOKEN}&token=other",
    f"https://apps08.ons.org.br/x?token={TOKEN}&other=1",
    f"https://apps08.ons.org.br/x?token={TOKEN}#frag",
    f"https://apps08.ons.org.br/x%20y?token={TOKEN}",
    "https://apps08.ons.org.br/x?token=a+b",
    "https://apps08.ons.org.br/x?token=a%2Eb",
    "https://apps08.ons.org.br/x?token=",
    "https://apps08.ons.org.br/x?token==",
    f"http://apps08.ons.org.br/x?token={TOKEN}",
    f"https://apps08.ons.org.br/x\t?token={TOKEN}",
    f"https://apps08.ons.org.br/x?token={TOKEN}\n",
    f"https:///x?token={TOKEN}",
    f"https://-/x?token={TOKEN}",
    f"https://apps08..ons.org.br/x?token={TOKEN}",
]


@pytest.mark.parametrize("url", CASES)
def test_hand_picked_urls_get_the_general_verdict(url: str) -> None:
    assert _fast(url) == _general(url)


def test_the_ons_url_takes_the_plain_path() -> None:
    url = CASES[0]
    assert urls._PLAIN_URL.fullmatch(url) is not None
    assert _fast(url) == (TOKEN, url)


_PIECES = st.sampled_from(
    [
        "https://",
        "HTTPS://",
        "http://",
        "https:/",
        "apps08",
        ".ons.org.br",
        "1.2.3.4",
        "sintegre",
        ".",
        "..",
        "-",
        ":443",
        ":x",
        "@",
        "user:pw@",
        "/",
        "/ONS.Sintegre.Proxy",
        "/webhook",
        "?",
        "?token=",
        "token=",
        "&",
        "&token=",
        "=",
        "==",
        "#",
        "%2E",
        "+",
        " ",
        "\t",
        "~",
        "_",
        "[",
        "]",
        "é",
        TOKEN,
        "a.b.c",
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=10).map("".join))
def test_generated_urls_get_the_general_verdict(url: str) -> None:
    assert _fast(url) == _general(url)


@settings(max_examples=300, deadline=None)
@given(
    host=st.sampled_from((*HOSTS, "other.org")),
    path=st.text(alphabet="abcXYZ09._~/-%é ", max_size=12),
    token=st.text(alphabet="abcXYZ09_.=-+%", max_size=12),
)
def test_plain_shaped_urls_get_the_general_verdict(host: str, path: str, token: str) -> None:
    url = f"https://{host}/{path}?token={token}"
    assert _fast(url) == _general(url)
