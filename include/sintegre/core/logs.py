"""Logging shared by the receiver and the forwarder: JSON lines, always redacted."""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

import msgspec

from sintegre.core.redact import RedactingFilter, install_redaction, redact

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
        entry = _head(record.created, record.levelname, record.name, record.getMessage())
        plain = True
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
                plain = plain and type(value) in _PLAIN
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        # The filter already redacted msg; extras and tracebacks pass through once more here.
        return _encode(entry, plain)


def _head(created: float, level: str, name: str, message: str) -> dict[str, Any]:
    """The first keys of every JSON line: time (UTC, ms), level, logger, message."""
    return {
        "ts": datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds"),
        "level": level.lower(),
        "logger": name,
        "msg": message,
    }


def _encode(entry: dict[str, Any], plain: bool) -> str:
    """The line: msgspec for plain values (same JSON), else ``json`` with ``default=str``;
    redacted."""
    return redact(_FAST_ENCODE(entry).decode() if plain else _ENCODER.encode(entry))


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


def info_json(logger: logging.Logger, message: str, fields: dict[str, Any]) -> None:
    """``logger.info(message, extra=fields)``: the receiver's one line per accepted notification.

    When logging is :func:`configure_logging`'s own JSON setup, untouched (the one handler on
    the root, nothing on the way up from ``logger``, the stock record factory), the line
    :class:`JsonFormatter` would write is built and written here directly, byte for byte the
    same (the same redaction, twice, and the same encoders): logging's generic record, filter
    and handler machinery cost ~35 µs of the ~250 µs an accepted notification costs in-process
    (issue #17). Any other setup (a test's ``caplog``, an operator's handler or level) takes
    ``logger.info`` itself.
    """
    handler = _own_json_handler(logger)
    if handler is None:
        logger.info(message, extra=fields)
        return
    message = redact(message)  # what RedactingFilter does to the record's message
    entry = _head(time.time(), "INFO", logger.name, message)
    plain = True
    for key, value in fields.items():
        if key in _STANDARD or key.startswith("_"):  # logging would refuse or hide them
            logger.info(message, extra=fields)
            return
        entry[key] = value
        plain = plain and type(value) in _PLAIN
    handler.acquire()
    try:
        line = _encode(entry, plain)
        stream = handler.stream
        stream.write(line + handler.terminator)
        stream.flush()
    except Exception:  # as StreamHandler.emit: logging's own error report, never a 5xx
        handler.handleError(logger.makeRecord(logger.name, logging.INFO, "", 0, message, (), None))
    finally:
        handler.release()


def _own_json_handler(logger: logging.Logger) -> logging.StreamHandler[Any] | None:
    """The root's one :func:`configure_logging` JSON handler when an INFO record of ``logger``
    would reach it and it alone, through nothing that could change the line; else ``None``."""
    if (
        type(logger) is not logging.Logger
        or not logger.isEnabledFor(logging.INFO)
        or logging.getLogRecordFactory() is not logging.LogRecord
    ):
        return None
    current: logging.Logger | None = logger
    while current is not None and current.parent is not None:  # up to, not including, root
        if current.handlers or current.filters or current.disabled or not current.propagate:
            return None
        current = current.parent
    root = logging.getLogger()
    if current is not root or root.filters or root.disabled or len(root.handlers) != 1:
        return None
    handler = root.handlers[0]
    if (
        type(handler) is not logging.StreamHandler
        or not getattr(handler, "_sintegre", False)
        or type(handler.formatter) is not JsonFormatter
        or handler.level > logging.INFO
        or not all(type(f) is RedactingFilter for f in handler.filters)
    ):
        return None
    return handler
