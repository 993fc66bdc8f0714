"""Keep bearer tokens and personal data out of every log line and error message.

The ``token`` query parameter of a SINtegre URL is a bearer credential for ~24 h, and its
``username`` claim is the subscriber's e-mail. Both must never reach a log.
"""

from __future__ import annotations

import logging
import re

REDACTED = "<redacted>"

# token=<anything up to a delimiter>, in URLs, in urllib3 retry messages and in reprs.
_TOKEN_PARAM = re.compile(r"(?i)(token=)[^&\s\"'<>)\]]+")
# A bare JWT (three base64url segments, the first two JSON objects starting with "eyJ").
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def redact(text: str) -> str:
    """Remove token values, JWTs and e-mail addresses from ``text``.

    Args:
        text: Any string about to be logged or raised.

    Returns:
        The same text with secrets replaced by ``<redacted>``.
    """
    # Each pattern needs a character or literal that a plain substring test finds far faster
    # than the pattern's scan (the e-mail one tries every position): a line without it cannot
    # match, so skipping the scan changes nothing. Every log line passes here, twice.
    if "=" in text:
        text = _TOKEN_PARAM.sub(rf"\g<1>{REDACTED}", text)
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    if "@" in text:
        text = _EMAIL.sub(REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the fully formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_redaction(*logger_names: str) -> None:
    """Attach :class:`RedactingFilter` to the handlers of the root logger and to named loggers.

    Filters on a logger only see records logged to that very logger, so the filter goes on
    every handler of the root logger too (records of child loggers pass through those).
    """
    flt = RedactingFilter()
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
    # A logger's filters only see records created on that very logger, so every urllib3
    # module logger that can print a URL gets the filter itself.
    urllib3_loggers = (
        "urllib3",
        "urllib3.connectionpool",
        "urllib3.connection",
        "urllib3.poolmanager",
        "urllib3.response",
        "urllib3.util.retry",
    )
    for name in (*urllib3_loggers, "requests", *logger_names):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(flt)
