"""Strict JSON for webhook bodies: duplicate keys, huge integers, NaN, lone surrogates refused."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from sintegre.intake.notification.errors import NotificationError

if TYPE_CHECKING:
    pass


MAX_JSON_DEPTH = 4

_CANONICAL_KEYS = {
    "nome": "nome",
    "processo": "processo",
    "dataproduto": "dataProduto",
    "macroprocesso": "macroProcesso",
    "periodicidade": "periodicidade",
    "periodicidadefinal": "periodicidadeFinal",
    "url": "url",
    "uri": "url",
}


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON nests deeper than ``limit`` (iterative: no recursion on hostile input)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return False


#: Digits a JSON integer may have: epochs and ids need 10–13; Python refuses 4,300+ anyway,
#: with a ValueError that must not become a 500.
MAX_INT_DIGITS = 30
_SURROGATE = re.compile("[\ud800-\udfff]")


class _BadJson(ValueError):
    """JSON that parses but that no sender means: duplicate keys, absurd numbers."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # {"url": A, "url": B} is last-wins in Python: refuse it, naming the key, rather than
    # guess which one the sender meant.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            shown = _SURROGATE.sub("?", key)[:60]
            raise _BadJson(f"duplicate key {shown!r}")
        result[key] = value
    return result


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _BadJson(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _no_nan(text: str) -> float:
    raise _BadJson(f"{text} is not a JSON number")


def _lone_surrogate(value: Any, where: str = "the body") -> str | None:
    """Where a string (key or value) holds a lone surrogate, or None."""
    if isinstance(value, str):
        return where if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                return "a key"
            found = _lone_surrogate(item, f"field {key!r}")
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            found = _lone_surrogate(item, where)
            if found:
                return found
    return None


#: ``json.loads`` with hooks builds a decoder (and its scanner) on every call, ~5 µs of an
#: accepted notification (issue #17): one decoder, built once, does what it did.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_int=_bounded_int, parse_constant=_no_nan
)


def parse_body(body: bytes) -> dict[str, Any]:
    """Decode the raw body into a JSON object.

    Raises:
        NotificationError: 400 when the body is not UTF-8, not JSON, too deep or not an object.
    """
    if not body.strip():
        raise NotificationError("the body is empty; a JSON object was expected", status=400)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotificationError(
            f"the body is not valid UTF-8 (byte {exc.start})", status=400
        ) from None
    try:
        if text.startswith("\ufeff"):  # a second BOM: json.loads's own refusal, word for word
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        data = _DECODER.decode(text)
    except _BadJson as exc:
        raise NotificationError(f"the body is not valid JSON: {exc}", status=400) from None
    except (json.JSONDecodeError, RecursionError) as exc:
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise NotificationError(f"the body is not valid JSON: {message}", status=400) from None
    # The text was decoded strictly, so a lone surrogate can only come from a ``\\u`` escape
    # (JSON spells it lower case only): without one, the walk over every string is skipped.
    bad = _lone_surrogate(data) if "\\u" in text else None
    if bad is not None:
        raise NotificationError(
            f"the body is not valid JSON: {bad} holds a lone UTF-16 surrogate (\\ud800-\\udfff "
            "escape), which is not text",
            status=400,
        )
    if not isinstance(data, dict):
        raise NotificationError(
            f"the body must be a JSON object, got {type(data).__name__}", status=400
        )
    # A notification is a flat object: only one holding an object or a list is walked.
    nested = any(isinstance(value, (dict, list)) for value in data.values())
    if nested and _deeper_than(data, MAX_JSON_DEPTH):
        raise NotificationError(
            f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels", status=400
        )
    return data


def canonical_fields(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Map keys in any casing onto ONS's names; ``uri`` is a synonym of ``url``.

    Returns:
        The known fields under their canonical names, and every other key as sent.
    """
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        canonical = _CANONICAL_KEYS.get(str(key).strip().lower())
        if canonical is None:
            extra[key] = value
            continue
        if canonical in known and known[canonical] != value:
            raise NotificationError(
                f"field '{canonical}' is given twice with different values (as '{key}' too)",
                field=canonical,
            )
        known[canonical] = value
    return known, extra
