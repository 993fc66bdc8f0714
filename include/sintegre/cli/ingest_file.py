"""`make ingest-file`: land a file downloaded by hand from the portal, like a webhook would."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sintegre.core.settings import Settings
from sintegre.ingest.manual import IngestError, ProductLabels, ingest_file
from sintegre.readers import ReaderError


def summary_lines(result: dict[str, Any]) -> list[str]:
    """One line per landed dataset: name, partition, rows and outcome."""
    conf, landed = result["conf"], result["landed"]
    period = conf["periodicidade_date"]
    if not landed["datasets"]:  # a report (PDF) is kept raw only
        return [f"{conf['dataset']} {period}: 0 rows, raw_only"]
    return [
        f"{entry['dataset']} {period}: {entry['rows']} rows, {entry['outcome']}"
        for entry in landed["datasets"]
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sintegre.cli.ingest_file",
        description="Land a product file downloaded by hand from the SINtegre portal.",
    )
    parser.add_argument("path", type=Path, help="the downloaded file")
    parser.add_argument("--nome", required=True, help='product name, e.g. "Acomph"')
    parser.add_argument("--macro-processo", required=True, help="macro-process label")
    parser.add_argument(
        "--periodicidade",
        required=True,
        type=date.fromisoformat,
        help="first day of the period (YYYY-MM-DD, Brasília)",
    )
    parser.add_argument(
        "--periodicidade-final",
        type=date.fromisoformat,
        help="last day of the period (YYYY-MM-DD); defaults to --periodicidade",
    )
    parser.add_argument("--processo", help="process label")
    parser.add_argument("--data-produto", help="product date label, e.g. 29/04/2025")
    parser.add_argument("--product-id", type=int, help="portal product id, e.g. 230")
    return parser


def main(argv: list[str] | None = None, *, settings: Settings | None = None) -> int:
    """Entry point.

    Args:
        argv: The arguments (``sys.argv[1:]`` when omitted).
        settings: Where the lake is; read from the environment when omitted.

    Returns:
        0 when landed, 1 when the file cannot be read, 2 for invalid arguments.
    """
    args = _parser().parse_args(argv)
    try:
        labels = ProductLabels(
            nome=args.nome,
            macro_processo=args.macro_processo,
            periodicidade=args.periodicidade,
            periodicidade_final=args.periodicidade_final,
            processo=args.processo,
            data_produto=args.data_produto,
            product_id=args.product_id,
        )
        result = ingest_file(args.path, labels, settings=settings)
    except IngestError as exc:
        print(f"ingest-file: {exc}", file=sys.stderr)
        return 2
    except ReaderError as exc:
        print(f"ingest-file: cannot read {args.path}: {exc}; nothing was landed", file=sys.stderr)
        return 1
    for line in summary_lines(result):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
