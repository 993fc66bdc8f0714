"""Logging shared by the receiver and the forwarder: JSON lines, always redacted."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec

from sintegre.core.redact import install_redaction, redact

#: Attributes every LogRecord has; anything else was passed through ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
#: ``json.dumps(entry, ensure_ascii=False, default=str)`` builds this encoder on every call;
#: one line per request is the receiver's hot path, so it is built once (it keeps no state).
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
#: msgspec writes the same JSON for plain values in a fraction of the time (issue #17: one line
#: per accepted notification); anything else keeps ``json``'s ``default=str`` reading (msgspec
#: would write a dataclass's fields, bytes as base64, datetimes its own way).
_FAST_ENCODE = msgspec.json.Encoder().encode
_PLAIN = frozenset({str, int, float, bool, type(None)})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and every ``extra`` field."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        plain = True
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
                plain = plain and type(value) in _PLAIN
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        line = _FAST_ENCODE(entry).decode() if plain else _ENCODER.encode(entry)
        # The filter already redacted msg; extras and tracebacks pass through once more here.
        return redact(line)


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Log to stderr (JSON lines by default, ``text`` for humans) and redact every record."""
    root = logging.getLogger()
    if not any(getattr(h, "_sintegre", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler._sintegre = True  # type: ignore[attr-defined]
        if fmt == "json":
            handler.setFormatter(JsonFormatter())
        else:
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
            )
        root.addHandler(handler)
    root.setLevel(level)
    # Neither format prints the caller's file and line, nor thread or process names: the
    # logging HOWTO's "Optimization" settings skip collecting them for every record (the
    # receiver writes one per accepted notification; issue #17).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    install_redaction()
