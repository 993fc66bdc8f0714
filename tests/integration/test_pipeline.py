"""Integration tests for ``sintegre.ingest.pipeline``: download → parse → land, end to end.

The real HTTPS simulator serves real fixture files (``sintegre_dev.fixtures``); the lake is a
temporary folder read back with DuckDB the way analysts read it.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from helpers.lake import catalog_rows, curated_file, history_dir, listing
from helpers.pipeline import DAY, MACRO, MACRO_SLUG, conf_for, publish, run_pipeline
from sintegre.core.settings import Settings, load_settings
from sintegre.ingest.pipeline import (
    StepFailed,
    download_step,
    ingest_step,
    land_step,
    parse_step,
)
from sintegre.lake import layout as lake_layout
from sintegre.readers import ReaderError
from sintegre_dev.fixtures import ExpectedTable, make_csv, make_pdf, make_xlsx, make_zip
from sintegre_dev.simulator import SimulatorServer

LINEAGE = (
    "src_product",
    "src_product_id",
    "src_notification_id",
    "src_sha256",
    "src_file",
    "granularity",
    "periodicidade_final",
    "ingested_at",
    "dag_run_id",
)


# --- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def settings(sim: SimulatorServer, tmp_path: Path) -> Settings:
    return load_settings(
        {
            "REQUESTS_CA_BUNDLE": str(sim.ca_path),
            "SINTEGRE_ALLOWED_DOWNLOAD_HOSTS": "localhost",
            "LAKE_URI": str(tmp_path / "lake"),
            "SINTEGRE_STATE_DIR": str(tmp_path / "state"),
            "SINTEGRE_DOWNLOAD_RETRIES": "2",
        }
    )


@pytest.fixture
def lake(settings: Settings) -> Path:
    return Path(settings.lake_uri)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """Where fixture files are written before the simulator serves them."""
    return tmp_path / "files"


def query(sql: str, *params: Any) -> list[dict[str, Any]]:
    with duckdb.connect() as con:
        cursor = con.execute(sql, list(params))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def curated_rows(lake: Path, dataset: str) -> list[dict[str, Any]]:
    glob = f"{lake}/curated/{dataset}/**/*.parquet"
    return query(f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")


def datasets_in(lake: Path, zone: str = "curated") -> list[str]:
    root = lake / zone
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def assert_table_equals(
    lake: Path, dataset: str, expected: ExpectedTable, source_member: str | None = None
) -> None:
    """The curated data of ``dataset`` holds exactly ``expected``, typed as expected.

    ``source_member``: only the rows that came from that member or sheet (merged tables).
    """
    rows = curated_rows(lake, dataset)
    if source_member is not None:
        rows = [row for row in rows if row["source_member"] == source_member]
    assert [{c: row[c] for c in expected.columns} for row in rows] == expected.rows
    schema = pq.read_schema(curated_file(lake, dataset))
    assert {c: str(schema.field(c).type) for c in expected.columns} == expected.types
    assert schema.names[: len(expected.columns)] == expected.columns
    metadata = schema.metadata or {}
    originals = json.loads(metadata[b"sintegre.original_columns"])
    assert originals[: len(expected.original_columns)] == expected.original_columns


def assert_partitions(lake: Path, dataset: str, day: date = DAY) -> None:
    """Hive partition columns come from the path: a slug and a DATE, never from the file."""
    glob = f"{lake}/curated/{dataset}/**/*.parquet"
    rows = query(
        "SELECT DISTINCT macroprocesso, periodicidade, typeof(macroprocesso) AS mt, "
        f"typeof(periodicidade) AS pt FROM read_parquet('{glob}', hive_partitioning = true)"
    )
    assert rows == [
        {"macroprocesso": MACRO_SLUG, "periodicidade": day, "mt": "VARCHAR", "pt": "DATE"}
    ]
    names = pq.read_schema(curated_file(lake, dataset, day)).names
    assert "macroprocesso" not in names
    assert "periodicidade" not in names


# --- CSV, the common case ----------------------------------------------------------------------


def test_csv_daily_lands_curated_history_and_catalog(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    expected = make_csv(files / "Carga_DESSEM_01-03-2024.csv")
    pub = publish(
        sim, files / "Carga_DESSEM_01-03-2024.csv", file_name="Carga_DESSEM_01-03-2024.csv"
    )
    conf = conf_for(pub)
    run_id = "manual__2024-03-01T10:00:00+00:00"

    downloaded, parsed, landed = run_pipeline(conf, run_id, settings)

    sha = hashlib.sha256(pub.content).hexdigest()
    assert downloaded["sha256"] == sha
    assert downloaded["raw_path"] == f"raw/carga_dessem/2024/03/{sha}/Carga_DESSEM_01-03-2024.csv"
    assert [t["rows"] for t in parsed["tables"]] == [24]
    assert landed["changed"] is True
    assert landed["datasets"] == [
        {"dataset": "carga_dessem", "rows": 24, "outcome": "new", "changed": True}
    ]
    assert landed["rows"] == 24
    assert landed["catalog_version"] == 0  # the lake's first Delta commit

    # curated: the fixture's values, partitioned by slug and DATE.
    assert datasets_in(lake) == ["carga_dessem"]
    assert_table_equals(lake, "carga_dessem", expected)
    assert_partitions(lake, "carga_dessem")

    # lineage on every row.
    rows = curated_rows(lake, "carga_dessem")
    for row in rows:
        assert set(LINEAGE) <= set(row)
        assert row["src_product"] == "Carga DESSEM"
        assert row["src_product_id"] == 230
        assert row["src_notification_id"] == conf["notification_id"]
        assert row["src_sha256"] == sha
        assert row["src_file"] == "Carga_DESSEM_01-03-2024.csv"
        assert row["granularity"] == "daily"
        assert row["periodicidade_final"] == DAY
        assert row["ingested_at"] is not None
        assert row["dag_run_id"] == run_id
    assert lake_layout.current_sha(curated_file(lake, "carga_dessem")) == sha

    # history keeps this version under its sha256.
    assert sorted(p.name for p in history_dir(lake, "carga_dessem").iterdir()) == [f"{sha}.parquet"]
    assert pq.read_table(history_dir(lake, "carga_dessem") / f"{sha}.parquet").num_rows == 24

    # one catalog row.
    [entry] = catalog_rows(lake)
    assert entry["changed"] is True
    assert entry["dataset"] == "carga_dessem"
    assert entry["rows"] == 24
    assert entry["sha256"] == sha
    assert entry["raw_path"] == downloaded["raw_path"]
    assert entry["notification_id"] == conf["notification_id"]
    assert entry["dag_run_id"] == run_id
    assert entry["macroprocesso"] == MACRO_SLUG
    assert entry["periodicidade"] == DAY
    assert entry["macroprocesso_label"] == MACRO
    assert json.loads(entry["original_columns"]) == expected.original_columns
    assert entry["curated_path"] == str(curated_file(lake, "carga_dessem").relative_to(lake))

    # staging is gone; no temporary files anywhere.
    staging = lake / "_staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    assert not [p for p in lake.rglob("*") if p.name.endswith((".tmp", ".part"))]


def test_relanding_the_same_file_changes_nothing_but_the_catalog(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    path = files / "carga.csv"
    make_csv(path)
    run_pipeline(conf_for(publish(sim, path, file_name="carga.csv")), "run-1", settings)
    target = curated_file(lake, "carga_dessem")
    before = (target.stat().st_mtime_ns, target.read_bytes())
    history_before = listing(lake / "history", mtime=True)

    # SINtegre resends the product: same bytes, fresh token, new run.
    resent = conf_for(publish(sim, path, file_name="carga.csv"))
    downloaded, _, landed = run_pipeline(resent, "run-2", settings)

    assert landed["changed"] is False
    assert landed["datasets"] == [
        {"dataset": "carga_dessem", "rows": 24, "outcome": "unchanged", "changed": False}
    ]
    assert (target.stat().st_mtime_ns, target.read_bytes()) == before
    assert listing(lake / "history", mtime=True) == history_before
    assert {row["dag_run_id"] for row in curated_rows(lake, "carga_dessem")} == {"run-1"}
    entries = catalog_rows(lake)
    assert [(e["dag_run_id"], e["changed"]) for e in entries] == [
        ("run-1", True),
        ("run-2", False),
    ]
    assert entries[0]["sha256"] == entries[1]["sha256"] == downloaded["sha256"]
    assert not (lake / "_staging" / "run-2").exists()


def test_new_version_replaces_curated_and_keeps_both_in_history(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    make_csv(files / "v1" / "carga.csv", rows=24)
    v2 = make_csv(files / "v2" / "carga.csv", rows=16)
    first, _, _ = run_pipeline(
        conf_for(publish(sim, files / "v1" / "carga.csv", file_name="carga.csv")), "run-1", settings
    )

    second, _, landed = run_pipeline(
        conf_for(publish(sim, files / "v2" / "carga.csv", file_name="carga.csv")), "run-2", settings
    )

    assert second["sha256"] != first["sha256"]
    assert landed["changed"] is True
    assert_table_equals(lake, "carga_dessem", v2)
    rows = curated_rows(lake, "carga_dessem")
    assert {(r["src_sha256"], r["dag_run_id"]) for r in rows} == {(second["sha256"], "run-2")}
    assert lake_layout.current_sha(curated_file(lake, "carga_dessem")) == second["sha256"]
    history = history_dir(lake, "carga_dessem")
    assert sorted(p.name for p in history.iterdir()) == sorted(
        [f"{first['sha256']}.parquet", f"{second['sha256']}.parquet"]
    )
    assert pq.read_table(history / f"{first['sha256']}.parquet").num_rows == 24
    assert pq.read_table(history / f"{second['sha256']}.parquet").num_rows == 16
    assert [e["changed"] for e in catalog_rows(lake)] == [True, True]
    # Both raw originals stay, content-addressed.
    assert (lake / first["raw_path"]).is_file()
    assert (lake / second["raw_path"]).is_file()


def test_each_period_is_its_own_partition(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    expected = make_csv(files / "carga.csv")
    next_day = date(2024, 3, 2)
    run_pipeline(conf_for(publish(sim, files / "carga.csv", file_name="carga.csv")), "a", settings)
    run_pipeline(
        conf_for(publish(sim, files / "carga.csv", file_name="carga.csv"), next_day), "b", settings
    )

    rows = curated_rows(lake, "carga_dessem")
    assert sorted({r["periodicidade"] for r in rows}) == [DAY, next_day]
    assert len(rows) == 2 * len(expected.rows)
    assert curated_file(lake, "carga_dessem", next_day).is_file()


def test_accented_file_name_reaches_lineage_and_catalog(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    name = "Carga_2° nível de contingência.csv"
    make_csv(files / "carga.csv")
    pub = publish(sim, files / "carga.csv", file_name=name)  # served as rfc5987, like ONS

    downloaded, _, _ = run_pipeline(conf_for(pub), "run-accents", settings)

    assert downloaded["raw_path"].endswith(f"/{name}")
    assert {r["src_file"] for r in curated_rows(lake, "carga_dessem")} == {name}
    assert [e["source_file"] for e in catalog_rows(lake)] == [name]


# --- workbooks, archives, reports ------------------------------------------------------------


def test_xlsx_with_two_sheets_of_one_layout_gives_one_dataset(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    expected = make_xlsx(files / "Vazoes.xlsx")
    pub = publish(sim, files / "Vazoes.xlsx", file_name="Vazoes_01-03-2024.xlsx", nome="Acomph")

    downloaded, _, landed = run_pipeline(conf_for(pub), "run-xlsx", settings)

    assert downloaded["file_name"] == "Vazoes_01-03-2024.xlsx"
    # One sheet per subsystem, same layout: one table, the sheet a column (stable names).
    assert datasets_in(lake) == ["acomph"]
    assert {d["dataset"]: d["rows"] for d in landed["datasets"]} == {"acomph": 20}
    for sheet, table in expected.items():
        assert_table_equals(lake, "acomph", table, source_member=sheet)
    assert_partitions(lake, "acomph")
    assert {r["sheet"] for r in curated_rows(lake, "acomph")} == {"Sudeste", "Sul"}
    entries = catalog_rows(lake)
    assert [(e["dataset"], e["table_name"]) for e in entries] == [("acomph", "")]
    assert all(e["changed"] for e in entries)


def test_zip_of_csv_and_xlsx_gives_one_dataset_per_layout(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    carga = make_csv(files / "in" / "carga.csv")
    vazoes = make_xlsx(files / "in" / "vazoes.xlsx")
    archive = make_zip(
        files / "Pacote.zip",
        {
            "Carga DESSEM.csv": files / "in" / "carga.csv",
            "dados/Vazões Diárias.xlsx": files / "in" / "vazoes.xlsx",
        },
    )
    pub = publish(sim, archive, file_name="Pacote_DESSEM.zip", nome="Pacote DESSEM")

    _, parsed, landed = run_pipeline(conf_for(pub), "run-zip", settings)

    assert len(parsed["tables"]) == 2
    assert datasets_in(lake) == ["pacote_dessem__carga_dessem", "pacote_dessem__vazoes_diarias"]
    assert landed["rows"] == 24 + 10 + 10
    assert_table_equals(lake, "pacote_dessem__carga_dessem", carga)
    for sheet in ("Sudeste", "Sul"):
        assert_table_equals(
            lake,
            "pacote_dessem__vazoes_diarias",
            vazoes[sheet],
            source_member=f"dados/Vazões Diárias.xlsx/{sheet}",
        )
    members = {
        dataset: {r["source_member"] for r in curated_rows(lake, dataset)}
        for dataset in datasets_in(lake)
    }
    assert members == {
        "pacote_dessem__carga_dessem": {"Carga DESSEM.csv"},
        "pacote_dessem__vazoes_diarias": {
            "dados/Vazões Diárias.xlsx/Sudeste",
            "dados/Vazões Diárias.xlsx/Sul",
        },
    }
    assert len(catalog_rows(lake)) == 2


def test_pdf_is_kept_raw_with_one_catalog_row(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    report = make_pdf(files / "IPDO.pdf")
    pub = publish(sim, report, file_name="IPDO-01-03-2024.pdf", nome="IPDO")

    downloaded, parsed, landed = run_pipeline(conf_for(pub), "run-pdf", settings)

    assert (lake / downloaded["raw_path"]).read_bytes() == report.read_bytes()
    assert parsed["tables"] == []
    assert landed["changed"] is False
    assert landed["datasets"] == []
    assert landed["rows"] == 0
    assert datasets_in(lake) == []
    assert datasets_in(lake, "history") == []
    [entry] = catalog_rows(lake)
    assert entry["rows"] == 0
    assert entry["dataset"] == "ipdo"
    assert entry["source_file"] == "IPDO-01-03-2024.pdf"
    assert entry["curated_path"] is None
    assert entry["changed"] is False
    staging = lake / "_staging"
    assert not staging.exists() or list(staging.iterdir()) == []


# --- a file that cannot be parsed -----------------------------------------------------------


def _truncated_xlsx(files: Path) -> bytes:
    make_xlsx(files / "good.xlsx")
    data = (files / "good.xlsx").read_bytes()
    return data[: len(data) // 2]


def _zip_posing_as_xlsx(files: Path) -> bytes:
    path = make_zip(
        files / "fake.xlsx",
        {"[Content_Types].xml": b"\x00garbage", "xl/workbook.xml": b"\xff\xfe not xml at all"},
    )
    return path.read_bytes()


@pytest.mark.parametrize(
    ("make_bad", "message"),
    [(_truncated_xlsx, "damaged"), (_zip_posing_as_xlsx, "could not be opened")],
    ids=["truncated-zip", "garbage-workbook"],
)
def test_parse_failure_leaves_curated_and_catalog_untouched(
    sim: SimulatorServer,
    settings: Settings,
    lake: Path,
    files: Path,
    make_bad: Any,
    message: str,
) -> None:
    make_csv(files / "carga.csv")
    run_pipeline(conf_for(publish(sim, files / "carga.csv", file_name="carga.csv")), "ok", settings)
    before = {zone: listing(lake / zone, mtime=True) for zone in ("curated", "catalog", "history")}
    assert before["curated"] and before["catalog"]

    pub = publish(sim, make_bad(files), file_name="Vazoes.xlsx", nome="Carga DESSEM")
    downloaded = download_step(conf_for(pub), settings)
    with pytest.raises(ReaderError, match=message) as info:
        parse_step(downloaded, "bad-run", settings)

    text = str(info.value)
    assert '"Vazoes.xlsx"' in text  # names the file, in words
    assert "Traceback" not in text
    assert len(text) < 500
    assert {zone: listing(lake / zone, mtime=True) for zone in before} == before
    assert not (lake / "_staging" / "bad-run").exists()


# --- the copy the forwarder rescued --------------------------------------------------------


def test_rescued_copy_is_used_without_contacting_the_simulator(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    expected = make_csv(files / "carga.csv")
    pub = publish(sim, files / "carga.csv", file_name="carga.csv")
    conf = conf_for(pub)
    rescued = download_step(conf, settings)  # what the forwarder did before the token expired
    count = sim.request_count(pub)

    conf = {**conf, "raw_path": rescued["raw_path"], "token_exp": int(time.time()) - 60}
    downloaded = download_step(conf, settings)

    assert sim.request_count(pub) == count
    assert downloaded["raw_path"] == rescued["raw_path"]
    assert downloaded["sha256"] == rescued["sha256"]
    assert downloaded["file_name"] == "carga.csv"
    assert downloaded["size"] == len(pub.content)
    # ...and it lands like a fresh download.
    parsed = parse_step(downloaded, "rescued", settings)
    landed = land_step(parsed, downloaded, conf, "rescued", settings)
    assert landed["changed"] is True
    assert_table_equals(lake, "carga_dessem", expected)


def test_missing_rescued_copy_falls_back_to_the_download(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    make_csv(files / "carga.csv")
    pub = publish(sim, files / "carga.csv", file_name="carga.csv")
    conf = {**conf_for(pub), "raw_path": "raw/carga_dessem/2024/03/deadbeef/carga.csv"}

    downloaded = download_step(conf, settings)

    assert sim.request_count(pub) == 1
    assert downloaded["sha256"] == hashlib.sha256(pub.content).hexdigest()
    assert (lake / downloaded["raw_path"]).read_bytes() == pub.content


def test_rescued_copy_must_stay_inside_the_raw_zone(
    sim: SimulatorServer, settings: Settings, lake: Path, tmp_path: Path, files: Path
) -> None:
    make_csv(files / "carga.csv")
    pub = publish(sim, files / "carga.csv", file_name="carga.csv")
    outside = tmp_path / "not-in-the-lake.csv"
    outside.write_text("segredo;valor\r\na;1\r\n", encoding="latin-1")
    lake.mkdir(parents=True, exist_ok=True)
    conf = {**conf_for(pub), "raw_path": "../not-in-the-lake.csv"}

    try:
        downloaded = download_step(conf, settings)
    except (ValueError, RuntimeError):
        return  # refusing the conf is fine
    resolved = (lake / downloaded["raw_path"]).resolve()
    assert resolved.is_relative_to((lake / "raw").resolve())


def test_rerun_of_an_old_run_reads_the_recorded_raw_file_after_the_token_died(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    make_csv(files / "carga.csv", rows=24)
    publication = publish(sim, files / "carga.csv", file_name="carga.csv")
    conf = conf_for(publication)
    first, _, _ = run_pipeline(conf, "run-1", settings)
    requests_before = sim.request_count(publication)
    # The token is dead now: a cleared task re-runs with the same conf, and must not download.
    conf = {**conf, "token_exp": 1}
    again, _, landed = run_pipeline(conf, "run-1", settings)
    assert again["raw_path"] == first["raw_path"]
    assert sim.request_count(publication) == requests_before
    assert landed["datasets"][0]["outcome"] == "unchanged"


def test_concurrent_landings_on_one_partition_are_serialised(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    import threading

    make_csv(files / "a" / "carga.csv", rows=10)
    make_csv(files / "b" / "carga.csv", rows=12)
    confs = [
        conf_for(publish(sim, files / name / "carga.csv", file_name="carga.csv"))
        for name in ("a", "b")
    ]
    errors: list[BaseException] = []

    def run(conf: dict[str, Any], run_id: str) -> None:
        try:
            run_pipeline(conf, run_id, settings)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c, f"run-{i}")) for i, c in enumerate(confs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    entries = catalog_rows(lake)
    assert sorted(e["outcome"] for e in entries) in (["new", "new"], ["new", "older"])
    history = history_dir(lake, "carga_dessem")
    assert len(list(history.iterdir())) == 2


# --- the DAGs' one task: ingest_step (issue #17) ---------------------------------------------


def test_ingest_step_runs_the_three_steps_and_times_each(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    make_csv(files / "carga.csv", rows=24)
    result = ingest_step(
        conf_for(publish(sim, files / "carga.csv", file_name="c.csv")), "r1", settings
    )
    assert set(result) == {"download", "land", "steps"}
    assert list(result["steps"]) == ["download", "parse", "land"]
    assert all(seconds >= 0 for seconds in result["steps"].values())
    assert result["land"]["datasets"][0]["outcome"] == "new"
    assert result["download"]["raw_path"].startswith("raw/")
    assert not (lake / "_staging" / "r1").exists()


def test_ingest_step_names_the_failed_step_and_says_whether_to_retry(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path
) -> None:
    pub = publish(sim, _truncated_xlsx(files), file_name="Vazoes.xlsx")
    with pytest.raises(StepFailed) as info:
        ingest_step(conf_for(pub), "bad", settings)
    assert info.value.step == "parse" and info.value.retryable is False
    assert str(info.value).startswith("parse failed: ")
    assert isinstance(info.value.cause, ReaderError)

    gone = publish(sim, b"a;b\n1;2\n", file_name="gone.csv")
    sim.set_fault(gone, "404")
    with pytest.raises(StepFailed) as info:
        ingest_step(conf_for(gone), "missing", settings)
    assert info.value.step == "download"
    assert str(info.value).startswith("download failed: ")


def test_a_retried_ingest_does_not_download_again(
    sim: SimulatorServer, settings: Settings, lake: Path, files: Path, monkeypatch
) -> None:
    """The land step fails once (a storage hiccup): the retry reuses raw/, no second GET."""
    from sintegre.ingest import pipeline

    make_csv(files / "carga.csv", rows=24)
    publication = publish(sim, files / "carga.csv", file_name="carga.csv")
    conf = conf_for(publication)
    real_land = pipeline.land_step
    calls = {"n": 0}

    def flaky_land(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk hiccup")
        return real_land(*args, **kwargs)

    monkeypatch.setattr(pipeline, "land_step", flaky_land)
    with pytest.raises(StepFailed) as info:
        ingest_step(conf, "run-1", settings)
    assert info.value.step == "land" and info.value.retryable is True
    requests_before = sim.request_count(publication)
    result = ingest_step(conf, "run-1", settings)
    assert sim.request_count(publication) == requests_before
    assert result["land"]["datasets"][0]["outcome"] == "new"
