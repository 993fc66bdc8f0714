"""Logging set-up shared by the receiver and the forwarder: one format, always redacted."""

from __future__ import annotations

import logging
import sys

from sintegre.redact import install_redaction


def configure_logging(level: str = "INFO") -> None:
    """Log to stderr with timestamps, and redact every record (tokens, e-mails)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    install_redaction()
