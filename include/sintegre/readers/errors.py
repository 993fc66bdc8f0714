"""Exceptions raised by the product-file readers.

Every message names the file (and the ZIP member or sheet when there is one) and says
what is wrong in words an operator can act on, because these messages end up in Airflow
task logs and alert e-mails read by people who never saw the code.
"""

from __future__ import annotations

__all__ = ["LayoutMismatch", "ParseError", "ReaderError", "UnsupportedFormatError"]


class ReaderError(ValueError):
    """Base class: a product file could not be turned into tables."""


class UnsupportedFormatError(ReaderError):
    """The file is in a format the readers do not handle (image, Word document, RAR...)."""


class ParseError(ReaderError):
    """The format is known but the content is broken, truncated or not what was expected."""


class LayoutMismatch(ParseError):
    """A file does not have the layout its catalog entry describes: nothing of it may land.

    Raised by the layout readers (:mod:`sintegre.readers.layouts`) and by the catalog checks
    of :mod:`sintegre.readers.assemble` (a required column missing, a numeric column that is
    not numbers). The message says where (file, member or sheet), what was expected and what
    was found; ``details`` carries the same facts for the inbox and the status page.

    Attributes:
        where: File, member or sheet, as a person would name it.
        expected: What the catalog's layout requires.
        found: What the file holds instead.
        product: Catalog id of the product, when known.
        table: The catalog table being read, when known.
    """

    def __init__(
        self,
        where: str,
        expected: str,
        found: str,
        *,
        product: int | None = None,
        table: str | None = None,
    ) -> None:
        self.where = where
        self.expected = expected
        self.found = found
        self.product = product
        self.table = table
        super().__init__(self._message())

    def _message(self) -> str:
        what = []
        if self.product is not None:
            what.append(f"product {self.product}")
        if self.table:
            what.append(f"table {self.table!r}")
        context = f" ({', '.join(what)})" if what else ""
        return (
            f"{self.where}: layout mismatch{context}: expected {self.expected}; "
            f"found {self.found}. Nothing of this delivery was landed; the raw file is kept."
        )

    def located(self, *, product: int | None = None, table: str | None = None) -> LayoutMismatch:
        """The same mismatch with the product and table filled in where they were unknown."""
        return LayoutMismatch(
            self.where,
            self.expected,
            self.found,
            product=self.product if self.product is not None else product,
            table=self.table or table,
        )

    @property
    def details(self) -> dict[str, object]:
        """A small JSON-able summary (for the XCom the forwarder reads)."""
        return {
            "product": self.product,
            "table": self.table,
            "where": self.where,
            "expected": self.expected,
            "found": self.found,
            "message": str(self),
        }
