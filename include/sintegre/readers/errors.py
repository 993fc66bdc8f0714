"""Exceptions raised by the product-file readers.

Every message names the file (and the ZIP member or sheet when there is one) and says
what is wrong in words an operator can act on, because these messages end up in Airflow
task logs and alert e-mails read by people who never saw the code.
"""

from __future__ import annotations

__all__ = ["ParseError", "ReaderError", "UnsupportedFormatError"]


class ReaderError(ValueError):
    """Base class: a product file could not be turned into tables."""


class UnsupportedFormatError(ReaderError):
    """The file is in a format the readers do not handle (image, Word document, RAR...)."""


class ParseError(ReaderError):
    """The format is known but the content is broken, truncated or not what was expected."""
