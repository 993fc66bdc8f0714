"""ASCII slugs for partition values, dataset names and column names."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
#: Longest slug: a dataset or DAG-run path component stays far below the 255-byte limit of
#: file systems and object keys, with room for prefixes and suffixes.
MAX_SLUG_LENGTH = 80


def strip_format_characters(text: str) -> str:
    """Remove invisible format characters (zero-width space, joiners, direction marks, BOM).

    Unicode category Cf: they change no visible letter, so two names that differ only by them
    are the same name to a person.
    """
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def slugify(text: str, *, fallback: str = "", max_length: int = MAX_SLUG_LENGTH) -> str:
    """Turn a label into an ASCII slug that every engine reads the same way.

    NFKD-decompose, drop accents, lowercase, collapse each run of other characters
    into ``_`` and trim: ``"Programação da Operação"`` → ``"programacao_da_operacao"``.

    Args:
        text: Any label as ONS sends it (accents, en dashes, double spaces, trailing dots).
        fallback: Returned when nothing alphanumeric is left.

        max_length: A longer slug is cut and ends with ``_`` and 8 hex digits of the full
            slug's sha256, so two long labels that share a prefix stay apart.

    Returns:
        The slug, or ``fallback`` when the label has no letters or digits.
    """
    decomposed = unicodedata.normalize("NFKD", strip_format_characters(text))
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    slug = _NON_ALNUM.sub("_", ascii_only).strip("_")
    if len(slug) > max_length:
        digest = hashlib.sha256(slug.encode()).hexdigest()[:8]
        slug = f"{slug[: max_length - 9].rstrip('_')}_{digest}"
    return slug or fallback
