"""DuckDB views over the Parquet lake: the catalog, every dataset's history and current rows.

The current version of a partition is computed from the catalog (the commit point of
``sintegre.lake.land``), never from ``curated/``: a landing that crashed before its catalog file
is invisible here, and one that crashed after it is already visible, even while ``curated/``
still holds the previous copy (the retry repairs it).

Views created by :func:`connect`:

``catalog``
    Every ingestion row, with the hive partition columns ``macroprocesso`` and
    ``periodicidade`` (a ``DATE``) and ``is_current``: true for the row that defines the
    current version of its (dataset, macroprocesso, periodicidade).
``<dataset>_history``
    Every landed version of a dataset (one per ``history/`` folder).
``<dataset>``
    The current rows only: the history rows of the version the catalog marks current.
``datasets``
    One row per dataset: ``name``, ``partitions``, ``current_rows``, ``versions``,
    ``last_ingested_at``.

The set of dataset views is fixed when :func:`connect` runs; the files they read are found at
query time, so new versions of known datasets show without reconnecting.

Usage::

    python -m sintegre.lakeviews "SELECT * FROM datasets"   # one statement, then exit
    python -m sintegre.lakeviews                              # interactive, one statement a line
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlsplit

import duckdb
import pyarrow as pa

from sintegre.lake import CATALOG_SCHEMA, VERSION_OUTCOMES
from sintegre.settings import load_settings

logger = logging.getLogger(__name__)

CATALOG_VIEW = "catalog"
DATASETS_VIEW = "datasets"
HISTORY_SUFFIX = "_history"
#: Hive partition keys of every zone and their SQL types (never inferred from the values).
PARTITION_TYPES = (("macroprocesso", "VARCHAR"), ("periodicidade", "DATE"))

_ARROW_TO_SQL = {
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.float64(): "DOUBLE",
}


def quote_identifier(name: str) -> str:
    """Quote an SQL identifier for DuckDB (double quotes, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote an SQL string literal (single quotes, embedded quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _sql_type(type_: pa.DataType) -> str:
    if pa.types.is_timestamp(type_):
        return "TIMESTAMPTZ" if type_.tz else "TIMESTAMP"
    try:
        return _ARROW_TO_SQL[type_]
    except KeyError:
        raise TypeError(f"no SQL type for catalog column type {type_}") from None


def _local_root(lake_root: Path | str) -> Path:
    """The lake root as a local path; ``file://`` URIs are accepted, other schemes are not."""
    text = str(lake_root)
    if "://" not in text:
        return Path(text).expanduser()
    parts = urlsplit(text)
    if parts.scheme != "file":
        raise ValueError(f"only a local lake (a path or file:// URI) can be viewed, got {text!r}")
    return Path(unquote(parts.path))


def _read_parquet(glob: Path, *options: str) -> str:
    """``read_parquet(...)`` over a glob: hive partitions typed explicitly, columns by name."""
    hive_types = ", ".join(f"{quote_literal(name)}: {sql}" for name, sql in PARTITION_TYPES)
    extra = "".join(f", {option}" for option in options)
    return (
        f"read_parquet({quote_literal(glob.as_posix())}, hive_partitioning = true, "
        f"union_by_name = true, hive_types = {{{hive_types}}}{extra})"
    )


def _has_parquet(folder: Path) -> bool:
    return folder.is_dir() and any(folder.rglob("*.parquet"))


def _empty_catalog_select() -> str:
    """A zero-row SELECT with the catalog's columns, for a lake with no catalog file yet."""
    columns = [
        f"CAST(NULL AS {_sql_type(field.type)}) AS {quote_identifier(field.name)}"
        for field in CATALOG_SCHEMA
    ]
    columns += [f"CAST(NULL AS {sql}) AS {quote_identifier(name)}" for name, sql in PARTITION_TYPES]
    columns += ["CAST(NULL AS VARCHAR) AS _file", "CAST(NULL AS BIGINT) AS _row"]
    return f"SELECT {', '.join(columns)} WHERE false"


def _catalog_sql(lake: Path) -> str:
    """The ``catalog`` view: every ingestion row plus ``is_current``."""
    folder = lake / "catalog" / "ingestions"
    if _has_parquet(folder):
        scan = _read_parquet(
            folder / "**" / "*.parquet", "filename = '_file'", "file_row_number = true"
        )
        source = f"SELECT * RENAME (file_row_number AS _row) FROM {scan}"
    else:
        source = _empty_catalog_select()
    versions = f"outcome IN ({', '.join(quote_literal(o) for o in VERSION_OUTCOMES)})"
    # The rule of sintegre.lake.current_version: the newest delivery, then the latest landing;
    # on a full tie the first row in catalog-file order (Python's max keeps the first maximum).
    return f"""
        SELECT * EXCLUDE (_file, _row, _rank), coalesce({versions} AND _rank = 1, false)
            AS is_current
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY dataset, macroprocesso, periodicidade, {versions}
                ORDER BY delivered_at DESC, ingested_at DESC, _file, _row
            ) AS _rank
            FROM ({source})
        )
    """


def _current_sql(dataset: str) -> str:
    """The ``<dataset>`` view: the history rows of the version the catalog marks current."""
    history = quote_identifier(dataset + HISTORY_SUFFIX)
    return f"""
        SELECT h.* FROM {history} AS h
        SEMI JOIN (
            SELECT macroprocesso, periodicidade, version FROM {quote_identifier(CATALOG_VIEW)}
            WHERE is_current AND dataset = {quote_literal(dataset)}
        ) AS c
        ON h.macroprocesso = c.macroprocesso
            AND h.periodicidade = c.periodicidade
            AND h.src_version = c.version
    """


def _datasets_sql(datasets: Sequence[str]) -> str:
    """The ``datasets`` view: one summary row per dataset, from one pass over the catalog.

    ``current_rows`` is what the catalog records for the current versions (the row count of
    each landed table), so the summary never scans the data files.
    """
    if not datasets:
        return (
            "SELECT CAST(NULL AS VARCHAR) AS name, CAST(NULL AS BIGINT) AS partitions, "
            "CAST(NULL AS BIGINT) AS current_rows, CAST(NULL AS BIGINT) AS versions, "
            "CAST(NULL AS TIMESTAMPTZ) AS last_ingested_at WHERE false"
        )
    names = ", ".join(f"({quote_literal(name)})" for name in datasets)
    versions = f"outcome IN ({', '.join(quote_literal(o) for o in VERSION_OUTCOMES)})"
    return f"""
        SELECT
            n.name,
            coalesce(c.partitions, 0) AS partitions,
            coalesce(c.current_rows, 0) AS current_rows,
            coalesce(c.versions, 0) AS versions,
            c.last_ingested_at
        FROM (VALUES {names}) AS n(name)
        LEFT JOIN (
            SELECT
                dataset,
                count(*) FILTER (WHERE is_current) AS partitions,
                CAST(sum(rows) FILTER (WHERE is_current) AS BIGINT) AS current_rows,
                count(DISTINCT (macroprocesso, periodicidade, sha256)) FILTER (WHERE {versions})
                    AS versions,
                max(ingested_at) AS last_ingested_at
            FROM {quote_identifier(CATALOG_VIEW)}
            GROUP BY dataset
        ) AS c ON c.dataset = n.name
        ORDER BY n.name
    """


def dataset_names(lake_root: Path | str) -> list[str]:
    """The datasets of a lake: every ``history/`` folder holding at least one Parquet file.

    Args:
        lake_root: The lake root (a path or a ``file://`` URI).

    Returns:
        The folder names, sorted.
    """
    history = _local_root(lake_root) / "history"
    if not history.is_dir():
        return []
    return sorted(
        folder.name
        for folder in history.iterdir()
        if not folder.name.startswith(".") and _has_parquet(folder)
    )


def connect(lake_root: Path | str, *, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """Open DuckDB with views over the lake: ``catalog``, ``datasets`` and two per dataset.

    Works on an empty or missing lake: ``catalog`` and ``datasets`` are then empty views with
    their usual columns. A dataset whose views would clash with another view's name
    (``catalog``, ``datasets``, or ``x_history`` next to ``x``) is skipped with a warning.

    Args:
        lake_root: The lake root (``load_settings().lake_uri``): a path or a ``file://`` URI.
        database: The DuckDB database; views are created (or replaced) in it.

    Returns:
        The open connection; the caller closes it.

    Raises:
        ValueError: ``lake_root`` is a remote URI (s3:// and the like).
    """
    lake = _local_root(lake_root)
    con = duckdb.connect(database)
    try:
        con.execute(
            f"CREATE OR REPLACE VIEW {quote_identifier(CATALOG_VIEW)} AS {_catalog_sql(lake)}"
        )
        names: list[str] = []
        taken = {CATALOG_VIEW, DATASETS_VIEW}
        for name in dataset_names(lake):
            views = {name, name + HISTORY_SUFFIX}
            if views & taken:
                logger.warning("dataset %r skipped: its view names are already taken", name)
                continue
            taken |= views
            names.append(name)
            glob = lake / "history" / name / "**" / "*.parquet"
            con.execute(
                f"CREATE OR REPLACE VIEW {quote_identifier(name + HISTORY_SUFFIX)} AS "
                f"SELECT * FROM {_read_parquet(glob)}"
            )
            con.execute(f"CREATE OR REPLACE VIEW {quote_identifier(name)} AS {_current_sql(name)}")
        con.execute(
            f"CREATE OR REPLACE VIEW {quote_identifier(DATASETS_VIEW)} AS {_datasets_sql(names)}"
        )
    except BaseException:
        con.close()
        raise
    return con


def view_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The views of the connection's main schema, sorted."""
    rows = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
        "ORDER BY view_name"
    ).fetchall()
    return [row[0] for row in rows]


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
    """``python -m sintegre.lakeviews [--lake PATH] [SQL]``.

    With SQL, run it, print the result and exit (0, or 1 when it fails). Without, list the
    views and read one statement a line from stdin until EOF (``.tables`` lists the views,
    ``.quit`` leaves).

    Args:
        argv: The arguments (``sys.argv[1:]`` when omitted).

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sintegre.lakeviews",
        description="Query the Parquet lake through DuckDB views.",
    )
    parser.add_argument("--lake", help="lake root (default: LAKE_URI from the settings)")
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
