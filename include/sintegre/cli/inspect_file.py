"""Show how a product file would be read, without landing anything.

``make inspect-file F=path [PRODUCT=id]`` (or ``python -m sintegre.cli.inspect_file``): the product
(given, or recognised by the catalog's file patterns), each table with its lake dataset, the
members or sheets it came from, its columns with types and units, the first rows, the layout
checks (required columns, numeric columns, plausible ranges) and any drift. A file that does not
fit its catalogued layout prints the mismatch (where, expected, found) and exits 1: this is how a
data engineer onboards a product or explains a ``layout_mismatch`` on the status page.
"""

from __future__ import annotations

import argparse
import fnmatch
import logging
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sintegre.catalog.products import Catalog, Product, load_catalog
from sintegre.catalog.spec import TableSpec

__all__ = ["guess_product", "inspect", "main"]

# Placeholders of the catalog's file_pattern ("ACOMPH_dd.mm.yyyy.xls", "RVn_PMO_<Mês>_yyyy…").
_PLACEHOLDER = re.compile(r"<[^>]+>|yyyy|yy|dd|mm|MMM|RVn|REVn|nnnn|\bn\b")


def _pattern_globs(product: Product) -> list[str]:
    globs = []
    for alternative in product.file_pattern.split("|"):
        text = alternative.split("(")[0].strip()
        if not text or "→" in text or "folder" in text:
            continue
        globs.append(_PLACEHOLDER.sub("*", text).replace("**", "*"))
    return globs


def guess_product(file_name: str, catalog: Catalog | None = None) -> Product | None:
    """The catalogued product whose file pattern fits ``file_name``, when exactly one does."""
    catalog = catalog or load_catalog()
    name = file_name.casefold()
    fits = [
        product
        for product in catalog.products
        if any(fnmatch.fnmatchcase(name, glob.casefold()) for glob in _pattern_globs(product))
    ]
    return fits[0] if len(fits) == 1 else None


def inspect(path: Path, product: Product | None, *, rows: int = 5) -> tuple[int, list[str]]:
    """Read ``path`` as the product's DAG would and describe the result.

    Returns:
        The exit code (0 readable, 1 layout mismatch or unreadable) and the lines to print.
    """
    from sintegre.readers import ReaderError, read_product_file
    from sintegre.readers.errors import LayoutMismatch

    lines = [f"file: {path.name} ({path.stat().st_size:,} bytes)"]
    if product is None:
        lines.append("product: not catalogued (or not recognised): the generic readers decide")
        specs: Sequence[TableSpec] = ()
    else:
        lines.append(f"product: {product.id} {product.name!r} (DAG {product.dag_id})")
        if product.evidence:
            lines.append(f"evidence: {product.evidence}")
        specs = product.tables
    with tempfile.TemporaryDirectory(prefix="sintegre-inspect-") as work_dir:
        try:
            tables = read_product_file(path, path.name, tables=specs, work_dir=Path(work_dir))
        except LayoutMismatch as mismatch:
            located = mismatch.located(product=product.id if product else None)
            lines += [
                "LAYOUT MISMATCH: nothing of this file would land",
                f"  where:    {located.where}",
                f"  table:    {located.table or '?'}",
                f"  expected: {located.expected}",
                f"  found:    {located.found}",
            ]
            return 1, lines
        except ReaderError as error:
            lines.append(f"UNREADABLE: {error}")
            return 1, lines
        if not tables:
            lines.append("no tables: the file is kept raw only")
        for parsed in tables:
            lines += _describe(parsed, product, rows)
    return 0, lines


def _describe(parsed, product: Product | None, rows: int) -> list[str]:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    spec = None
    if product is not None and parsed.catalogued:
        spec = product.table_named(parsed.name)
    if spec is not None and product is not None:
        dataset = product.dataset_of(spec)
    elif product is not None:
        dataset = f"{product.dataset}__{parsed.name}" if parsed.name else product.dataset
    else:
        dataset = f"<product>__{parsed.name}" if parsed.name else "<product>"
    table = pq.read_table(parsed.path) if parsed.path is not None else parsed.table
    kind = "catalogued" if spec is not None else "generic (uncatalogued)"
    out = [
        "",
        f"dataset {dataset}: {table.num_rows:,} rows, {kind}",
        f"  from: {parsed.source_member or '(the file itself)'}",
    ]
    if spec is not None and spec.description:
        out.append(f"  what: {spec.description}")
    units = {c.name: c for c in spec.columns} if spec is not None else {}
    out.append("  columns:")
    for field in table.schema:
        column = units.get(field.name)
        extra = []
        if column is not None and column.unit:
            extra.append(column.unit)
        if column is not None and column.range is not None:
            extra.append(f"plausible {list(column.range)}")
        out.append(f"    {field.name:<32} {field.type!s:<22} {', '.join(extra)}")
    out.append("  checks:")
    if spec is None:
        out.append("    none: no catalog table describes it (types as the generic readers guess)")
    if spec is not None:
        out.append("    required columns present, numeric and date columns typed: ok")
    if parsed.drift:
        out.append(f"    DRIFT: {parsed.drift}")
    if parsed.implausible:
        out.append(f"    IMPLAUSIBLE values (kept, flagged): {parsed.implausible}")
    if spec is not None and not parsed.drift and not parsed.implausible:
        out.append("    no drift, every value within its plausible range")
    out.append(f"  first {min(rows, table.num_rows)} rows:")
    for row in table.slice(0, rows).to_pylist():
        out.append("    " + ", ".join(f"{k}={v}" for k, v in row.items()))
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 readable, 1 mismatch or unreadable, 2 bad arguments."""
    parser = argparse.ArgumentParser(
        prog="make inspect-file", description="Show how a product file would be read."
    )
    parser.add_argument("path", type=Path)
    parser.add_argument("--product", type=int, help="catalog product id (default: guessed)")
    parser.add_argument("--rows", type=int, default=5, help="rows shown per table")
    args = parser.parse_args(argv)
    if not args.path.is_file():
        print(f"inspect-file: {args.path} is not a file", file=sys.stderr)
        return 2
    catalog = load_catalog()
    product = catalog.by_id(args.product) if args.product else guess_product(args.path.name)
    if args.product and product is None:
        print(f"inspect-file: product {args.product} is not in the catalog", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="  (%(message)s)", stream=sys.stdout)
    code, lines = inspect(args.path, product, rows=args.rows)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())
