"""`make lake`: DuckDB over the lake's views, one statement (``Q=...``) or interactive."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from typing import TextIO

import duckdb

from sintegre.core.settings import load_settings
from sintegre.lake.views import connect, view_names


def run_statement(con: duckdb.DuckDBPyConnection, sql: str, out: TextIO) -> None:
    """Run one SQL statement and print its result (DuckDB's box rendering) to ``out``.

    Raises:
        duckdb.Error: The statement failed.
    """
    relation = con.sql(sql)
    if relation is None:
        print("OK", file=out)
        return
    print(str(relation), file=out)


def interactive(
    con: duckdb.DuckDBPyConnection,
    lines: Iterable[str],
    out: TextIO,
    err: TextIO,
    *,
    prompt: str = "",
) -> None:
    """Read one statement a line until EOF; print each result, or the error, and go on."""
    if prompt:
        print(prompt, end="", file=out, flush=True)
    for line in lines:
        sql = line.strip().rstrip(";").strip()
        if sql in {".quit", ".exit"}:
            break
        if sql == ".tables":
            print("\n".join(view_names(con)), file=out)
        elif sql:
            try:
                run_statement(con, sql, out)
            except duckdb.Error as exc:
                print(f"error: {exc}", file=err)
        if prompt:
            print(prompt, end="", file=out, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sintegre.cli.lake [--lake PATH] [SQL]``.

    With SQL, run it, print the result and exit (0, or 1 when it fails). Without, list the
    views and read one statement a line from stdin until EOF (``.tables`` lists the views,
    ``.quit`` leaves).

    Args:
        argv: The arguments (``sys.argv[1:]`` when omitted).

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sintegre.cli.lake",
        description="Query the Parquet lake through DuckDB views.",
    )
    parser.add_argument(
        "--lake", help="lake root, a path or s3://bucket/prefix (default: LAKE_URI)"
    )
    parser.add_argument("sql", nargs="*", help="one SQL statement; interactive when omitted")
    args = parser.parse_args(argv)
    lake = load_settings().lake_uri if args.lake is None else args.lake
    with connect(lake) as con:
        if args.sql:
            try:
                run_statement(con, " ".join(args.sql), sys.stdout)
            except duckdb.Error as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            return 0
        print(f"lake: {lake}")
        print("views: " + ", ".join(view_names(con)))
        print("one SQL statement a line; .tables lists the views; EOF (Ctrl-D) or .quit leaves")
        interactive(
            con, sys.stdin, sys.stdout, sys.stderr, prompt="lake> " if sys.stdin.isatty() else ""
        )
        if sys.stdin.isatty():
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
