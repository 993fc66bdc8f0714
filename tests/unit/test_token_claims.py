"""The receiver's JWT claim reader gives PyJWT's verdicts (it replaced ``jwt.decode`` for speed).

``read_token_claims`` decodes the ONS token by hand (see its docstring: PyJWT's per-character
check cost ~40 µs an accept). Whatever PyJWT reads with ``verify_signature=False`` it must read
to the same claims, and whatever PyJWT refuses it must refuse: checked on hand-picked tokens
and on tokens hypothesis mutates.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sintegre.intake.notification import NotificationError
from sintegre.intake.notification.urls import read_token_claims

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _pyjwt(token: str) -> dict[str, Any] | None:
    """PyJWT's reading (None: refused), as ``read_token_claims`` did before."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, RecursionError):
        return None
    return claims


def _ours(token: str) -> dict[str, Any] | None:
    try:
        return read_token_claims(token)
    except NotificationError:
        return None


SIGNED = jwt.encode(
    {"URL": "https://sintegre.ons.org.br/sites/9/13/56/Produtos/230/x.xls", "nbf": 1, "exp": 2},
    "a-secret-of-enough-length-for-hs256!",
    algorithm="HS256",
)
HEADER = _b64(b'{"alg":"HS256","typ":"JWT"}')
PAYLOAD = _b64(b'{"nbf":1,"IsFile":"True"}')

CASES = [
    SIGNED,
    f"{HEADER}.{PAYLOAD}.{_b64(b'sig')}",
    f"{HEADER}.{PAYLOAD}.",  # an empty signature: readable (alg none style)
    f"{HEADER}={'=' if len(HEADER) % 4 == 2 else ''}.{PAYLOAD}.sig",  # padded segments
    f"{HEADER}.{PAYLOAD}",  # two segments
    f"{HEADER}.{PAYLOAD}.sig.more",  # four
    "not-a-jwt",
    "",
    "..",
    f"{HEADER}.{PAYLOAD}.s!g",  # junk in the signature
    f"{HEADER}.{PAYLOAD}.a",  # a lone sextet: impossible length
    f"{HEADER}.{PAYLOAD[:-1]}.sig",  # a truncated payload
    f"{HEADER}.{PAYLOAD}===.sig",  # three pad characters
    f"{_b64(b'[1]')}.{PAYLOAD}.sig",  # a header that is not an object
    f"{HEADER}.{_b64(b'[1, 2]')}.sig",  # claims that are not an object
    f"{HEADER}.{_b64(b'42')}.sig",
    f"{HEADER}.{_b64(b'{bad json')}.sig",
    f"{HEADER}.{_b64(bytes([0xFF, 0xFE]))}.sig",  # not UTF-8
    f"{HEADER}.{_b64(b'{}')}.sig",
    HEADER + "." + _b64(b'{"exp": Infinity}') + ".sig",
    HEADER + "." + _b64(b'{"exp": 1' + b"0" * 5000 + b"}") + ".sig",  # beyond the digit limit
    f"{HEADER}.{_b64(json.dumps({'a': 'é ✓'}, ensure_ascii=False).encode())}.sig",
    f"{HEADER}.{PAYLOAD}.{_b64(b'sig')[:-1]}B",  # non-canonical last character
    f"{HEADER}.{PAYLOAD}.sigé",
    # msgspec reads plain segments (issue #17); where it and json part, json's verdict stands:
    HEADER + "." + _b64(b'{"a":' + b"[" * 2000 + b"]" * 2000 + b"}") + ".sig",  # too deep
    HEADER + "." + _b64(b'{"a":' + b"[" * 20 + b"]" * 20 + b"}") + ".sig",  # deep enough
    HEADER + "." + _b64(b'{"exp": NaN, "nbf": -Infinity}') + ".sig",
    HEADER + "." + _b64(b'{"exp": 1e400}') + ".sig",
    HEADER + "." + _b64(b'{"exp": 1, "exp": 2}') + ".sig",  # a repeated claim: the last
    HEADER + "." + _b64(b"\xef\xbb\xbf{}") + ".sig",  # a BOM
    HEADER + "." + _b64('{"nbf": 1}'.encode("utf-16")) + ".sig",
    HEADER + "." + _b64(b'{"nbf": 1' + b"0" * 4000 + b"}") + ".sig",  # under the digit limit
    HEADER + "." + _b64(b'{"nbf": 1}\x00') + ".sig",
    HEADER + "." + _b64(b'{"a": "x\x01y"}') + ".sig",  # a raw control character
]


@pytest.mark.parametrize("token", CASES)
def test_the_reader_gives_pyjwts_verdict(token: str) -> None:
    assert _ours(token) == _pyjwt(token)


def test_a_valid_token_is_read_to_its_claims() -> None:
    claims = read_token_claims(SIGNED)
    assert claims["nbf"] == 1 and claims["URL"].endswith("/230/x.xls")


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.+/!é"


@settings(max_examples=400, deadline=None)
@given(
    st.data(),
    st.lists(st.tuples(st.integers(0, 400), st.sampled_from(_ALPHABET)), max_size=4),
    st.integers(0, 3),
)
def test_mutated_tokens_get_pyjwts_verdict(
    data: st.DataObject, edits: list[tuple[int, str]], cut: int
) -> None:
    token = data.draw(st.sampled_from([SIGNED, CASES[1], CASES[21]]))
    chars = list(token)
    for position, char in edits:
        chars[position % len(chars)] = char
    mutated = "".join(chars)[: len(chars) - cut]
    assert _ours(mutated) == _pyjwt(mutated)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"URL": "\\ud800"}',  # an escape
        '{"URL": "x"}'.encode("utf-16-le")[:-4]
        + "\ud800".encode("utf-16-le", "surrogatepass")
        + '"}'.encode("utf-16-le"),  # UTF-16 with a raw lone surrogate
        b'{"URL": "' + "\ud800".encode("utf-8", "surrogatepass") + b'"}',  # UTF-8-encoded one
    ],
    ids=["escape", "utf-16", "utf-8-bytes"],
)
def test_a_lone_surrogate_in_the_claims_is_refused_however_it_is_spelled(payload: bytes) -> None:
    # The claim walk is skipped for plain ASCII claims (issue #17); every other spelling of a
    # surrogate must still reach it.
    token = f"{HEADER}.{_b64(payload)}.sig"
    with pytest.raises(NotificationError, match=r"surrogate|readable"):
        read_token_claims(token)
