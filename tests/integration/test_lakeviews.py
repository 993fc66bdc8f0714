"""Integration tests for ``sintegre.lake.views``: DuckDB views over a real lake.

Every lake here is built with the real ``sintegre.lake.landing.land`` from small Parquet files;
crashes
are real (the writer process dies with ``os._exit`` at an injected point) and the lake is read
back with DuckDB, pyarrow and Polars.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from helpers.lake import curated_file
from helpers.pipeline import MACRO_SLUG
from sintegre.cli.lake import main
from sintegre.core.settings import PROJECT_ROOT
from sintegre.intake.notification import normalize
from sintegre.lake import locks as lake_locks
from sintegre.lake.landing import CRASH_ENV, land
from sintegre.lake.layout import CATALOG_SCHEMA, StagedTable, current_sha
from sintegre.lake.views import connect, view_names
from sintegre_dev.simulator import mint_token

DAY = "2025-04-29"
NEXT_DAY = "2025-04-30"
NBF = 1_745_900_000
INCLUDE = PROJECT_ROOT / "include"
CRASH_EXIT = 70

# The writer process of the crash tests: land() from a JSON description, nothing else.
WRITER = """
import json, sys
from pathlib import Path
from sintegre.lake.layout import StagedTable
from sintegre.lake.landing import land
spec = json.loads(Path(sys.argv[1]).read_text())
land(
    [StagedTable(**table) for table in spec["tables"]],
    spec["conf"],
    spec["download"],
    lake_root=Path(spec["lake"]),
    run_id=spec["run_id"],
)
"""


# --- helpers ---------------------------------------------------------------------------------


def sha(label: str) -> str:
    """A stable, distinct 64-hex sha256 per label."""
    return hashlib.sha256(label.encode()).hexdigest()


def make_conf(**overrides: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "notification_id": "n1",
        "nome": "Carga",
        "dataset": "carga",
        "macroprocesso_slug": MACRO_SLUG,
        "macroProcesso": "Programação da Operação",
        "periodicidade_date": DAY,
        "periodicidade_final_date": DAY,
        "granularity": "daily",
        "token_nbf": NBF,
        "product_id": 275,
        "processo": "p",
        "dataProduto": "29/04/2025",
    }
    conf.update(overrides)
    return conf


def make_download(label: str) -> dict[str, Any]:
    return {"raw_path": f"raw/{label}", "sha256": sha(label), "file_name": f"{label}.csv"}


def stage(staging: Path, name: str, columns: dict[str, list[Any]]) -> StagedTable:
    """Write a small parsed table to the staging folder, as the parse step does."""
    table = pa.table(columns)
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / f"{uuid.uuid4().hex}.parquet"
    pq.write_table(table, path)
    return StagedTable(
        name=name,
        path=str(path),
        source_member="",
        original_columns=list(table.column_names),
        rows=table.num_rows,
    )


def rows(
    con: duckdb.DuckDBPyConnection, sql: str, parameters: list[Any] | None = None
) -> list[tuple[Any, ...]]:
    return con.execute(sql, parameters or []).fetchall()


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def current_shas(lake: Path, dataset: str) -> set[str]:
    """The source sha256 values the current view of ``dataset`` shows."""
    with connect(lake) as con:
        return {row[0] for row in rows(con, f'SELECT DISTINCT src_sha256 FROM "{dataset}"')}


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    return tmp_path / "staging"


# --- empty lakes -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["missing", "empty_folders"])
def test_empty_lake_has_an_empty_catalog_with_the_catalog_schema(lake: Path, shape: str) -> None:
    if shape == "empty_folders":
        (lake / "catalog" / "ingestions").mkdir(parents=True)
        (lake / "history" / "carga" / f"macroprocesso={MACRO_SLUG}").mkdir(parents=True)
    with connect(lake) as con:
        assert view_names(con) == ["catalog", "datasets"]
        described = {row[0]: row[1] for row in rows(con, "DESCRIBE catalog")}
        expected = [*CATALOG_SCHEMA.names, "macroprocesso", "periodicidade", "is_current"]
        assert list(described) == expected
        assert described["periodicidade"] == "DATE"
        assert described["periodicidade_final"] == "DATE"
        assert described["delivered_at"] == "TIMESTAMP WITH TIME ZONE"
        assert described["product_id"] == "BIGINT"
        assert described["is_current"] == "BOOLEAN"
        assert scalar(con, "SELECT count(*) FROM catalog") == 0
        assert scalar(con, "SELECT count(*) FROM datasets") == 0
        assert [row[0] for row in rows(con, "DESCRIBE datasets")] == [
            "name",
            "partitions",
            "current_rows",
            "versions",
            "last_ingested_at",
        ]


# --- versions --------------------------------------------------------------------------------


def test_newer_version_replaces_and_an_older_late_delivery_does_not(
    lake: Path, staging: Path
) -> None:
    v1 = stage(staging, "", {"mw": [1.0, 2.0], "tag": ["v1", "v1"]})
    v2 = stage(staging, "", {"mw": [10.0, 20.0, 30.0], "tag": ["v2", "v2", "v2"]})
    land([v1], make_conf(notification_id="n1"), make_download("v1"), lake_root=lake, run_id="r1")
    result = land(
        [v2],
        make_conf(notification_id="n2", token_nbf=NBF + 3600),
        make_download("v2"),
        lake_root=lake,
        run_id="r2",
    )
    assert result["datasets"][0]["outcome"] == "new"

    with connect(lake) as con:
        assert view_names(con) == ["carga", "carga_history", "catalog", "datasets"]
        assert sorted(rows(con, "SELECT tag, mw FROM carga")) == [
            ("v2", 10.0),
            ("v2", 20.0),
            ("v2", 30.0),
        ]
        assert scalar(con, "SELECT count(*) FROM carga_history") == 5
        assert rows(con, "SELECT sha256 FROM catalog WHERE is_current") == [(sha("v2"),)]
        assert rows(con, "SELECT sha256 FROM catalog WHERE NOT is_current") == [(sha("v1"),)]
        expected = [*CATALOG_SCHEMA.names, "macroprocesso", "periodicidade", "is_current"]
        assert [row[0] for row in rows(con, "DESCRIBE catalog")] == expected
        assert scalar(con, "SELECT typeof(periodicidade) FROM catalog LIMIT 1") == "DATE"

    # An OLDER delivery (smaller nbf) with new content, landed late: history only.
    v0 = stage(staging, "", {"mw": [0.5], "tag": ["v0"]})
    result = land(
        [v0],
        make_conf(notification_id="n0", token_nbf=NBF - 3600),
        make_download("v0"),
        lake_root=lake,
        run_id="r0",
    )
    assert result["datasets"][0]["outcome"] == "older"
    with connect(lake) as con:
        assert {row[0] for row in rows(con, "SELECT DISTINCT tag FROM carga")} == {"v2"}
        assert scalar(con, "SELECT count(*) FROM carga") == 3
        assert scalar(con, "SELECT count(DISTINCT src_sha256) FROM carga_history") == 3
        assert scalar(con, "SELECT count(*) FROM carga_history") == 6
        assert rows(con, "SELECT sha256 FROM catalog WHERE is_current") == [(sha("v2"),)]
        assert rows(con, "SELECT outcome FROM catalog ORDER BY ingested_at") == [
            ("new",),
            ("new",),
            ("older",),
        ]
        summary = rows(con, "SELECT name, partitions, current_rows, versions FROM datasets")
        assert summary == [("carga", 1, 3, 3)]
        last = scalar(con, "SELECT last_ingested_at FROM datasets")
        assert last == scalar(con, "SELECT max(ingested_at) FROM catalog")
    assert current_sha(curated_file(lake, "carga", DAY)) == sha("v2")


@pytest.mark.drill(
    "#14.4 A, then B (newer), then A again (newest): A is current ('reverted'), its history"
    " file untouched"
)
def test_content_that_reverts_is_current_again_without_rewriting_its_history(
    lake: Path, staging: Path
) -> None:
    """A lands, then B (newer), then A again (newest): A is current, from its own history."""
    a_rows = {"mw": [1.0, 2.0], "tag": ["a", "a"]}
    land(
        [stage(staging, "", a_rows)],
        make_conf(notification_id="n1"),
        make_download("A"),
        lake_root=lake,
        run_id="r1",
    )
    land(
        [stage(staging, "", {"mw": [9.0], "tag": ["b"]})],
        make_conf(notification_id="n2", token_nbf=NBF + 60),
        make_download("B"),
        lake_root=lake,
        run_id="r2",
    )
    history = next((lake / "history" / "carga").rglob(f"{sha('A')}.parquet"))
    before = (history.read_bytes(), history.stat().st_mtime_ns)

    result = land(
        [stage(staging, "", a_rows)],
        make_conf(notification_id="n3", token_nbf=NBF + 120),
        make_download("A"),
        lake_root=lake,
        run_id="r3",
    )

    assert [(d["outcome"], d["changed"]) for d in result["datasets"]] == [("reverted", True)]
    assert result["unchanged"] is False
    assert (history.read_bytes(), history.stat().st_mtime_ns) == before
    assert current_sha(curated_file(lake, "carga", DAY)) == sha("A")
    assert pq.read_table(curated_file(lake, "carga", DAY)).column("tag").to_pylist() == ["a", "a"]
    with connect(lake) as con:
        assert sorted(rows(con, "SELECT tag, mw FROM carga")) == [("a", 1.0), ("a", 2.0)]
        assert rows(con, "SELECT sha256, outcome FROM catalog WHERE is_current") == [
            (sha("A"), "reverted")
        ]
        # Still two versions of content, three deliveries.
        assert rows(con, "SELECT versions FROM datasets") == [(2,)]

    # The same A delivered again but older than the current one changes nothing.
    late = land(
        [stage(staging, "", a_rows)],
        make_conf(notification_id="n4", token_nbf=NBF + 90),
        make_download("A"),
        lake_root=lake,
        run_id="r4",
    )
    assert late["datasets"][0]["outcome"] == "unchanged"
    assert current_sha(curated_file(lake, "carga", DAY)) == sha("A")


def test_same_content_landed_twice_is_unchanged(lake: Path, staging: Path) -> None:
    table = {"mw": [1.0, 2.0]}
    land(
        [stage(staging, "", table)], make_conf(), make_download("same"), lake_root=lake, run_id="r1"
    )
    with connect(lake) as con:
        before = sorted(rows(con, "SELECT * FROM carga"))
    result = land(
        [stage(staging, "", table)],
        make_conf(notification_id="n2", token_nbf=NBF + 60),
        make_download("same"),
        lake_root=lake,
        run_id="r2",
    )
    assert result["datasets"][0]["outcome"] == "unchanged"
    assert result["changed"] is False
    with connect(lake) as con:
        assert rows(con, "SELECT outcome, is_current FROM catalog ORDER BY ingested_at") == [
            ("new", True),
            ("unchanged", False),
        ]
        assert sorted(rows(con, "SELECT * FROM carga")) == before
        assert scalar(con, "SELECT count(*) FROM carga_history") == 2
        assert rows(con, "SELECT versions FROM datasets") == [(1,)]


def test_monthly_period_sent_in_utc_lands_on_the_first_of_the_month(
    lake: Path, staging: Path
) -> None:
    token = mint_token(
        url_claim="https://sintegre.ons.org.br/sites/9/13/56/Produtos/275/carga_08_2025.csv",
        nome_produto="Carga",
    )
    payload = {
        "nome": "Carga",
        "processo": "p",
        "dataProduto": "08/2025",
        "macroProcesso": "Programação da Operação",
        "periodicidade": "2025-08-01T03:00:00.000Z",
        "periodicidadeFinal": "2025-09-01T02:59:59.000Z",
        "url": f"https://apps08.ons.org.br/ONS.Sintegre.Proxy/webhook?token={token}",
    }
    conf = normalize(json.dumps(payload).encode(), allowed_hosts=("apps08.ons.org.br",)).to_conf()
    assert conf["periodicidade_date"] == "2025-08-01"
    assert conf["granularity"] == "monthly"

    land(
        [stage(staging, "", {"mw": [1.0, 2.0]})],
        conf,
        make_download("m"),
        lake_root=lake,
        run_id="r",
    )
    partitions = sorted(
        p.name for p in (lake / "history" / "carga" / f"macroprocesso={MACRO_SLUG}").iterdir()
    )
    assert partitions == ["periodicidade=2025-08-01"]
    with connect(lake) as con:
        assert rows(con, "SELECT DISTINCT periodicidade, periodicidade_final FROM carga") == [
            (date(2025, 8, 1), date(2025, 8, 31))
        ]
        assert (
            scalar(con, "SELECT count(*) FROM carga WHERE periodicidade = DATE '2025-08-01'") == 2
        )
        assert scalar(con, "SELECT typeof(periodicidade) FROM carga LIMIT 1") == "DATE"
        assert rows(con, "SELECT periodicidade, product_id FROM catalog WHERE is_current") == [
            (date(2025, 8, 1), 275)
        ]


def test_a_forced_reprocess_shows_the_new_parse_of_the_same_version(
    lake: Path, staging: Path
) -> None:
    land(
        [stage(staging, "", {"mw": [1.0]})],
        make_conf(),
        make_download("v1"),
        lake_root=lake,
        run_id="r1",
    )
    # A parser fix: the same source file (same sha256) parsed again, landed with force.
    result = land(
        [stage(staging, "", {"mw": [1.0], "fixed": [True]})],
        make_conf(),
        make_download("v1"),
        lake_root=lake,
        run_id="r2",
        force=True,
    )
    assert result["datasets"][0]["outcome"] == "reprocessed"
    with connect(lake) as con:
        assert rows(con, "SELECT mw, fixed FROM carga") == [(1.0, True)]
        assert rows(con, "SELECT outcome, is_current FROM catalog ORDER BY ingested_at") == [
            ("new", False),
            ("reprocessed", True),
        ]
        assert rows(con, "SELECT partitions, current_rows, versions FROM datasets") == [(1, 1, 1)]
    assert current_sha(curated_file(lake, "carga", DAY)) == sha("v1")
    assert pq.read_table(curated_file(lake, "carga", DAY)).column("fixed").to_pylist() == [True]


# --- three engines, one dataset --------------------------------------------------------------


def test_pyarrow_polars_and_duckdb_read_the_same_dataset(lake: Path, staging: Path) -> None:
    land(
        [stage(staging, "", {"mw": [1.5, 2.5], "area": ["N", "S"]})],
        make_conf(),
        make_download("d1"),
        lake_root=lake,
        run_id="r1",
    )
    # The second period's file has one more column.
    land(
        [stage(staging, "", {"mw": [3.5], "area": ["SE"], "extra": [7]})],
        make_conf(periodicidade_date=NEXT_DAY, periodicidade_final_date=NEXT_DAY),
        make_download("d2"),
        lake_root=lake,
        run_id="r2",
    )
    curated = lake / "curated" / "carga"
    expected_mw = {1.5, 2.5, 3.5}

    # pyarrow: an explicit hive partitioning schema and the union of the files' schemas.
    partitioning_schema = pa.schema(
        [("macroprocesso", pa.string()), ("periodicidade", pa.date32())]
    )
    partitioning = pads.partitioning(partitioning_schema, flavor="hive")
    files = sorted(curated.rglob("*.parquet"))
    assert len(files) == 2
    unified = pa.unify_schemas([pq.read_schema(f) for f in files] + [partitioning_schema])
    arrow = pads.dataset(curated, format="parquet", partitioning=partitioning, schema=unified)
    arrow_table = arrow.to_table()
    assert arrow_table.schema.field("periodicidade").type == pa.date32()
    assert arrow_table.num_rows == 3
    assert set(arrow_table.column("mw").to_pylist()) == expected_mw
    assert sorted(arrow_table.column("extra").to_pylist(), key=str) == [7, None, None]
    assert set(arrow_table.column("periodicidade").to_pylist()) == {
        date(2025, 4, 29),
        date(2025, 4, 30),
    }

    # Polars: files scanned by name; a column missing from a file comes back as nulls.
    polars_frame = pl.scan_parquet(
        str(curated / "**" / "*.parquet"),
        hive_partitioning=True,
        missing_columns="insert",
        extra_columns="ignore",
    ).collect()
    assert polars_frame.schema["periodicidade"] == pl.Date
    assert polars_frame.height == 3
    assert set(polars_frame["mw"].to_list()) == expected_mw
    # With the full schema given, Polars keeps the extra column too.
    full = pl.scan_parquet(
        str(curated / "**" / "*.parquet"),
        hive_partitioning=True,
        schema=pl.from_arrow(unified.empty_table()).drop("macroprocesso", "periodicidade").schema,
        missing_columns="insert",
    ).collect()
    assert sorted(full["extra"].to_list(), key=str) == [7, None, None]
    assert full.schema["periodicidade"] == pl.Date

    # DuckDB: the views (from history + catalog) and the curated files directly.
    with connect(lake) as con:
        assert scalar(con, "SELECT count(*) FROM carga") == 3
        assert {row[0] for row in rows(con, "SELECT mw FROM carga")} == expected_mw
        assert scalar(con, "SELECT typeof(periodicidade) FROM carga LIMIT 1") == "DATE"
        assert sorted(rows(con, "SELECT extra FROM carga"), key=str) == [(7,), (None,), (None,)]
        glob = (curated / "**" / "*.parquet").as_posix()
        direct = con.sql(
            f"SELECT mw, periodicidade FROM read_parquet('{glob}', hive_partitioning = true, "
            "union_by_name = true)"
        )
        assert [str(t) for t in direct.types] == ["DOUBLE", "DATE"]
        assert {row[0] for row in direct.fetchall()} == expected_mw
        assert rows(con, "SELECT partitions, current_rows, versions FROM datasets") == [(2, 3, 2)]


# --- the command line ------------------------------------------------------------------------


def test_main_runs_one_statement(
    lake: Path, staging: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    land(
        [stage(staging, "", {"mw": [1.0, 2.0, 3.0, 4.0]})],
        make_conf(),
        make_download("x"),
        lake_root=lake,
        run_id="r",
    )
    monkeypatch.setenv("LAKE_URI", str(lake))
    assert main(["SELECT count(*) FROM carga"]) == 0
    out = capsys.readouterr().out
    assert "count_star()" in out
    assert "│" in out and " 4 " in out

    assert main(["--lake", str(lake), "SELECT", "sum(mw)", "AS", "total", "FROM", "carga"]) == 0
    assert "10.0" in capsys.readouterr().out

    assert main(["--lake", str(lake), "SELECT * FROM no_such_view"]) == 1
    assert "no_such_view" in capsys.readouterr().err


def test_module_is_interactive_without_sql(lake: Path, staging: Path) -> None:
    land(
        [stage(staging, "", {"mw": [1.0, 2.0]})],
        make_conf(),
        make_download("x"),
        lake_root=lake,
        run_id="r",
    )
    process = subprocess.run(
        [sys.executable, "-m", "sintegre.cli.lake", "--lake", str(lake)],
        input="SELECT count(*) AS n FROM carga;\nSELECT nonsense FROM nowhere\n\n"
        "SELECT name FROM datasets\n",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(INCLUDE)},
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    assert "views: carga, carga_history, catalog, datasets" in process.stdout
    assert re.search(r"│\s+n\s+│", process.stdout)
    assert re.search(r"│\s+2\s+│", process.stdout)
    assert re.search(r"│\s+carga\s+│", process.stdout)
    assert "nowhere" in process.stderr


# --- crash consistency -----------------------------------------------------------------------


def run_writer(
    tmp_path: Path, lake: Path, tables: list[StagedTable], crash_at: str | None
) -> subprocess.CompletedProcess[str]:
    """Land v2 in a separate process, optionally dying at ``crash_at``."""
    spec = {
        "tables": [table.__dict__ for table in tables],
        "conf": make_conf(notification_id="n2", token_nbf=NBF + 3600),
        "download": make_download("v2"),
        "lake": str(lake),
        "run_id": "r2",
    }
    spec_file = tmp_path / f"spec-{uuid.uuid4().hex}.json"
    spec_file.write_text(json.dumps(spec))
    env = {key: value for key, value in os.environ.items() if key != CRASH_ENV}
    env["PYTHONPATH"] = str(INCLUDE)
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run(
        [sys.executable, "-c", WRITER, str(spec_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_every_parquet_file_is_readable(lake: Path) -> None:
    for path in lake.rglob("*.parquet"):
        pq.read_table(path)  # raises on a partial file


@pytest.mark.parametrize(
    "crash_at", ["after_history", "between_datasets", "after_catalog", "mid_file"]
)
def test_a_crashed_landing_shows_the_old_version_or_the_new_never_a_mix(
    tmp_path: Path, lake: Path, staging: Path, crash_at: str
) -> None:
    datasets = ("carga__a", "carga__b")
    v1 = [
        stage(staging, "a", {"mw": [1.0], "version": ["v1"]}),
        stage(staging, "b", {"n": [1, 2], "version": ["v1", "v1"]}),
    ]
    land(v1, make_conf(), make_download("v1"), lake_root=lake, run_id="r1")
    v2 = [
        stage(staging, "a", {"mw": [2.0, 3.0], "version": ["v2", "v2"]}),
        stage(staging, "b", {"n": [3], "version": ["v2"]}),
    ]

    crashed = run_writer(tmp_path, lake, v2, crash_at)
    assert crashed.returncode == CRASH_EXIT, crashed.stderr
    committed = crash_at == "after_catalog"
    visible = sha("v2") if committed else sha("v1")
    for dataset in datasets:
        assert current_shas(lake, dataset) == {visible}
    with connect(lake) as con:
        versions = {row[0] for row in rows(con, "SELECT DISTINCT version FROM carga__a")} | {
            row[0] for row in rows(con, "SELECT DISTINCT version FROM carga__b")
        }
        assert versions == ({"v2"} if committed else {"v1"})
        assert scalar(con, "SELECT count(*) FROM catalog") == (4 if committed else 2)
    assert_every_parquet_file_is_readable(lake)
    if crash_at == "mid_file":
        # The writer really died inside a write: its temp file is left, but never as *.parquet.
        assert list(lake.rglob(".*.tmp"))
    if committed:
        # Committed, but curated/ still holds v1 until the retry repairs it.
        for dataset in datasets:
            assert current_sha(curated_file(lake, dataset, DAY)) == sha("v1")

    retried = run_writer(tmp_path, lake, v2, None)
    assert retried.returncode == 0, retried.stderr
    for dataset in datasets:
        assert current_shas(lake, dataset) == {sha("v2")}
        assert current_sha(curated_file(lake, dataset, DAY)) == sha("v2")
    with connect(lake) as con:
        assert rows(con, "SELECT version, mw FROM carga__a ORDER BY mw") == [
            ("v2", 2.0),
            ("v2", 3.0),
        ]
        assert rows(con, "SELECT version, n FROM carga__b") == [("v2", 3)]
        assert rows(
            con, "SELECT dataset, sha256 FROM catalog WHERE is_current ORDER BY dataset"
        ) == [("carga__a", sha("v2")), ("carga__b", sha("v2"))]
        assert rows(con, "SELECT name, current_rows, versions FROM datasets") == [
            ("carga__a", 2, 2),
            ("carga__b", 1, 2),
        ]
        for name, current_rows in rows(con, "SELECT name, current_rows FROM datasets"):
            assert scalar(con, f'SELECT count(*) FROM "{name}"') == current_rows
    assert_every_parquet_file_is_readable(lake)


def test_a_first_landing_that_crashed_before_its_catalog_shows_nothing(
    tmp_path: Path, lake: Path, staging: Path
) -> None:
    tables = [stage(staging, "a", {"mw": [1.0]}), stage(staging, "b", {"n": [1]})]
    assert run_writer(tmp_path, lake, tables, "after_history").returncode == CRASH_EXIT
    assert sorted(p.name for p in (lake / "history").iterdir()) == ["carga__a", "carga__b"]
    with connect(lake) as con:
        assert scalar(con, "SELECT count(*) FROM carga__a_history") == 1
        assert scalar(con, "SELECT count(*) FROM carga__a") == 0
        assert scalar(con, "SELECT count(*) FROM carga__b") == 0
        assert scalar(con, "SELECT count(*) FROM catalog") == 0
        assert rows(con, "SELECT * FROM datasets") == [
            ("carga__a", 0, 0, 0, None),
            ("carga__b", 0, 0, 0, None),
        ]


# --- names -----------------------------------------------------------------------------------


def test_dataset_names_are_quoted_and_clashes_skipped(
    lake: Path, staging: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # (product dataset, table name): "carga__select" needs quoting; "carga_history" would be
    # the history view of "carga" and "catalog" is taken: both are skipped with a warning.
    landings = [("carga", ""), ("carga", "select"), ("carga_history", ""), ("catalog", "")]
    for index, (product, table_name) in enumerate(landings):
        land(
            [stage(staging, table_name, {"mw": [float(index)]})],
            make_conf(dataset=product),
            make_download(f"x{index}"),
            lake_root=lake,
            run_id=f"r{index}",
            now=datetime(2025, 5, 1, tzinfo=UTC) + timedelta(seconds=index),
        )
    with caplog.at_level("WARNING", logger="sintegre.lake.views"), connect(lake) as con:
        assert view_names(con) == [
            "carga",
            "carga__select",
            "carga__select_history",
            "carga_history",
            "catalog",
            "datasets",
        ]
        assert rows(con, 'SELECT mw FROM "carga__select"') == [(1.0,)]
        assert rows(con, "SELECT DISTINCT src_sha256 FROM carga_history") == [(sha("x0"),)]
        assert scalar(con, "SELECT count(*) FROM catalog") == 4
        assert rows(con, "SELECT name FROM datasets") == [("carga",), ("carga__select",)]
    skipped = " ".join(record.getMessage() for record in caplog.records)
    assert "'carga_history'" in skipped and "'catalog'" in skipped


@pytest.mark.drill(
    "#14.10 a partition lock held longer than SINTEGRE_LAKE_LOCK_WAIT_SECONDS: the landing "
    "fails naming the partition (was: waits for ever)"
)
def test_a_local_partition_lock_held_too_long_fails_with_a_message(tmp_path: Path) -> None:
    """flock waited for ever; a stuck holder now fails the landing after the wait."""
    import time

    from sintegre.core.settings import load_settings
    from sintegre.lake.storage import open_store

    settings = load_settings(
        {"LAKE_URI": str(tmp_path / "lake"), "SINTEGRE_LAKE_LOCK_WAIT_SECONDS": "0.5"}
    )
    store = open_store(settings.lake_uri, settings)
    with lake_locks.partition_lock(store, MACRO_SLUG, DAY, settings):
        started = time.monotonic()
        with (
            pytest.raises(lake_locks.LakeLockTimeout, match=r"periodicidade=2025-04-29 for"),
            lake_locks.partition_lock(store, MACRO_SLUG, DAY, settings),
        ):
            pass
        assert time.monotonic() - started < 10
    with lake_locks.partition_lock(store, MACRO_SLUG, DAY, settings):
        pass  # free again


@pytest.mark.drill("#15.3 <dataset>_as_of(T) returns what the lake said at T, version by version")
def test_time_travel_shows_what_the_lake_said_at_an_instant(lake: Path, staging: Path) -> None:
    t1 = datetime(2025, 4, 29, 12, 0, tzinfo=UTC)
    t2 = t1 + timedelta(hours=6)
    land(
        [stage(staging, "", {"mw": [1.0], "tag": ["v1"]})],
        make_conf(notification_id="n1"),
        make_download("v1"),
        lake_root=lake,
        run_id="r1",
        now=t1,
    )
    land(
        [stage(staging, "", {"mw": [2.0, 3.0], "tag": ["v2", "v2"]})],
        make_conf(notification_id="n2", token_nbf=NBF + 3600),
        make_download("v2"),
        lake_root=lake,
        run_id="r2",
        now=t2,
    )
    with connect(lake) as con:

        def as_of(instant: datetime) -> list[tuple]:
            return sorted(rows(con, "SELECT tag, mw FROM carga_as_of(?)", [instant]))

        assert as_of(t1 - timedelta(minutes=1)) == []
        assert as_of(t1 + timedelta(hours=1)) == [("v1", 1.0)]
        assert as_of(t2 + timedelta(hours=1)) == [("v2", 2.0), ("v2", 3.0)]
        assert as_of(t2 + timedelta(hours=1)) == sorted(rows(con, "SELECT tag, mw FROM carga"))


def test_dataset_names_list_one_level_and_skip_folders_with_only_hidden_files(
    tmp_path: Path,
) -> None:
    """``dataset_names`` reads history/'s first level (not every version's file), and a
    folder an interrupted write left with only a hidden temporary file is not a dataset."""
    from sintegre.lake.storage import open_store
    from sintegre.lake.views import dataset_names

    lake = tmp_path / "lake"
    deep = lake / "history" / "real" / "macroprocesso=m" / "periodicidade=2025-04-29"
    deep.mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), deep / "v1.parquet")
    ghost = lake / "history" / "ghost" / "macroprocesso=m" / "periodicidade=2025-04-29"
    ghost.mkdir(parents=True)
    (ghost / ".v1.parquet.tmp").write_bytes(b"half")
    (lake / "history" / ".staging").mkdir()
    store = open_store(lake)
    assert store.folders("history") == ["ghost", "real"]
    assert dataset_names(lake) == ["real"]
    assert dataset_names(tmp_path / "missing") == []
