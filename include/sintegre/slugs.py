"""ASCII slugs for partition values, dataset names and column names."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(text: str, *, fallback: str = "") -> str:
    """Turn a label into an ASCII slug that every engine reads the same way.

    NFKD-decompose, drop accents, lowercase, collapse each run of other characters
    into ``_`` and trim: ``"Programação da Operação"`` → ``"programacao_da_operacao"``.

    Args:
        text: Any label as ONS sends it (accents, en dashes, double spaces, trailing dots).
        fallback: Returned when nothing alphanumeric is left.

    Returns:
        The slug, or ``fallback`` when the label has no letters or digits.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    slug = _NON_ALNUM.sub("_", ascii_only).strip("_")
    return slug or fallback
