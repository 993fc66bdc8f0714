"""`python -m sintegre.cli.lake_migrate`: per-delivery catalog files → the Delta catalog, and
an older catalog table → today's column order (``sintegre.lake.migrate``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from sintegre.lake.migrate import MigrationError, migrate


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sintegre.cli.lake_migrate [LAKE] [--keep]``: 0 when migrated and verified."""
    parser = argparse.ArgumentParser(
        prog="python -m sintegre.cli.lake_migrate",
        description=(
            "Convert catalog/ingestions/*.parquet into the catalog Delta table, and rewrite "
            "a catalog table made in the old column order into today's; both verified."
        ),
    )
    parser.add_argument("lake", nargs="?", help="lake root, a path or s3://... (default: LAKE_URI)")
    parser.add_argument(
        "--keep", action="store_true", help="leave the old files in place (default: move them)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from sintegre.core.settings import load_settings

    settings = load_settings()
    lake = settings.lake_uri if args.lake is None else args.lake
    try:
        report = migrate(lake, keep=args.keep, settings=settings)
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report.as_dict()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
