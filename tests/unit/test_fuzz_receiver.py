"""Property-based fuzzing of the receiver: no input yields a 5xx or an undocumented error.

Hypothesis generates (a bounded number of) bodies three ways: arbitrary bytes, arbitrary JSON
documents, and valid notifications with one field replaced by an arbitrary JSON value. For
each: ``parse_body`` / ``normalize`` either succeed or raise ``NotificationError`` (the
documented refusal), and the receiver answers 2xx, 4xx or nothing else.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.webhook import ONS_HOST, make_payload, ons_url
from sintegre.intake.notification import NotificationError, normalize, parse_body

EXAMPLES = 300
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_text = st.text(alphabet=st.characters(codec=None), max_size=40)  # surrogates included
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=False)
    | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "nome",
    "processo",
    "dataProduto",
    "macroProcesso",
    "periodicidade",
    "periodicidadeFinal",
    "url",
    "Uri",
    "NOME",
]


def _encode(document: Any) -> bytes:
    # ensure_ascii escapes lone surrogates as \\udXXX, as a hostile sender would write them
    return json.dumps(document, ensure_ascii=True).encode()


def _check_normalize(body: bytes) -> None:
    try:
        normalize(body, allowed_hosts=(ONS_HOST,))
    except NotificationError as error:
        assert 400 <= error.status < 500
        str(error).encode("utf-8")  # the message itself is printable text


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes(body: bytes) -> None:
    _check_normalize(body)


@FUZZ
@given(json_values)
def test_arbitrary_json_documents(document: Any) -> None:
    _check_normalize(_encode(document))


@FUZZ
@given(st.sampled_from(FIELDS), json_values)
def test_valid_notification_with_one_field_replaced(field: str, value: Any) -> None:
    payload = make_payload(url=ons_url())
    payload[field] = value
    _check_normalize(_encode(payload))


@FUZZ
@given(st.sampled_from(FIELDS), json_values)
def test_the_receiver_never_answers_5xx(post, field: str, value: Any) -> None:
    payload = make_payload(url=ons_url())
    payload[field] = value
    response = post(_encode(payload))
    assert response.status_code < 500, response.get_data(as_text=True)[:300]


def test_parse_body_refuses_what_python_json_would_mangle() -> None:
    for body in (b'{"a": 1, "a": 2}', b'{"a": ' + b"1" * 40 + b"}", b'{"a": Infinity}'):
        with pytest.raises(NotificationError):
            parse_body(body)
