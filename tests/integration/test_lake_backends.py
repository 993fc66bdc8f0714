"""The lake's promises on both backends: a local folder and an S3 bucket (moto in server mode).

Every test here takes the ``lake`` fixture (``tests/integration/conftest.py``) and runs twice,
``[local]`` and ``[s3]``: landing outcomes (new, unchanged, older), the forwarder's rescued
copy, manual ingestion and reprocessing, the DuckDB views, crash consistency, concurrent
catalog commits and the old-catalog migration. Files come from the real HTTPS simulator;
the lake is read back around the project (``os``/boto3 listings, pyarrow with a filesystem
built in :mod:`helpers.lake`) and through ``sintegre.lake.views``.

S3-only behaviour (object keys and ETags, the PostgreSQL partition lock) stays in
``test_lake_s3.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from helpers.lake import Lake, partition
from helpers.pipeline import DAY, MACRO, MACRO_SLUG, conf_for, outcomes, publish, run_pipeline
from sintegre.core.settings import PROJECT_ROOT, Settings, load_settings
from sintegre.ingest.manual import ProductLabels, ingest_file
from sintegre.ingest.pipeline import download_step, fetch_into_raw, land_step, parse_step
from sintegre.ingest.reprocess import plan, reprocess_item
from sintegre.lake import layout as lake_layout
from sintegre.lake.landing import CRASH_ENV
from sintegre.lake.views import connect
from sintegre_dev.fixtures import make_csv
from sintegre_dev.simulator import SimulatorServer

INCLUDE = PROJECT_ROOT / "include"
CURATED = f"{partition('carga_dessem')}/data.parquet"


@pytest.fixture
def settings(lake: Lake, sim: SimulatorServer) -> Settings:
    """The lake's settings, able to download from the simulator."""
    return lake.settings_with(
        REQUESTS_CA_BUNDLE=str(sim.ca_path),
        SINTEGRE_ALLOWED_DOWNLOAD_HOSTS="localhost",
        SINTEGRE_DOWNLOAD_RETRIES="2",
    )


# --- landing outcomes ----------------------------------------------------------------------------


def test_a_csv_lands_and_reads_back_with_pyarrow_and_duckdb(
    sim: SimulatorServer, settings: Settings, lake: Lake, tmp_path: Path
) -> None:
    source = tmp_path / "files" / "Carga_DESSEM_01-03-2024.csv"
    make_csv(source, rows=24)
    pub = publish(sim, source, file_name="Carga_DESSEM_01-03-2024.csv")
    conf = conf_for(pub)
    sha = hashlib.sha256(pub.content).hexdigest()

    downloaded = download_step(conf, settings)
    parsed = parse_step(downloaded, "run-1", settings)
    # Staged in the lake: with CeleryExecutor the land task may run on another worker.
    [table] = parsed["tables"]
    assert table["path"].endswith("/_staging/run-1/000.parquet")
    assert "_staging/run-1/000.parquet" in lake.files()
    landed = land_step(parsed, downloaded, conf, "run-1", settings)

    raw = f"raw/carga_dessem/2024/03/{sha}/Carga_DESSEM_01-03-2024.csv"
    marker = f"raw/_deliveries/{conf['notification_id']}.json"
    assert downloaded["raw_path"] == raw
    assert outcomes(landed) == [("carga_dessem", 24, "new", True)]
    listed = lake.files()
    # A local lake's partition lock is a lock file that stays; on S3 PostgreSQL holds it.
    locks = [k for k in listed if k.startswith("_locks/")]
    assert locks == ([] if lake.kind == "s3" else [f"_locks/{MACRO_SLUG}__{DAY}.lock"])
    listed = [k for k in listed if k not in locks]
    catalog = [k for k in listed if k.startswith("catalog/")]
    # The catalog Delta table: its first commit and one data file in the (macro, month) partition.
    assert [k for k in catalog if "/_delta_log/" in k] == [
        "catalog/delta/_delta_log/00000000000000000000.json"
    ]
    [data_file] = [k for k in catalog if "/_delta_log/" not in k]
    assert data_file.startswith(f"catalog/delta/macroprocesso={MACRO_SLUG}/periodo_mes=2024-03/")
    assert landed["catalog_version"] == 0
    assert sorted(set(listed) - set(catalog)) == sorted(
        [raw, marker, f"{partition('carga_dessem', zone='history')}/{sha}.parquet", CURATED]
    )  # no _staging/, no temporary files
    assert lake.read_bytes(raw) == pub.content
    assert json.loads(lake.read_bytes(marker))["sha256"] == sha

    # pyarrow: the curated zone as a hive-partitioned dataset, read around the project.
    path, fs = lake.arrow("curated/carga_dessem")
    partitioning = pads.partitioning(
        pa.schema([("macroprocesso", pa.string()), ("periodicidade", pa.date32())]),
        flavor="hive",
    )
    arrow = pads.dataset(path, filesystem=fs, format="parquet", partitioning=partitioning)
    arrow = arrow.to_table()
    assert arrow.num_rows == 24
    assert set(arrow.column("periodicidade").to_pylist()) == {DAY}
    assert set(arrow.column("macroprocesso").to_pylist()) == {MACRO_SLUG}
    assert set(arrow.column("src_sha256").to_pylist()) == {sha}
    assert set(arrow.column("dag_run_id").to_pylist()) == {"run-1"}
    assert set(arrow.column("src_file").to_pylist()) == {"Carga_DESSEM_01-03-2024.csv"}

    # DuckDB through the project's views.
    with connect(lake.uri, settings=settings) as con:
        assert con.execute("SELECT count(*) FROM carga_dessem").fetchone() == (24,)
        assert con.execute(
            "SELECT DISTINCT src_sha256, periodicidade, macroprocesso FROM carga_dessem"
        ).fetchall() == [(sha, DAY, MACRO_SLUG)]
        assert con.execute("SELECT outcome, is_current, rows FROM catalog").fetchall() == [
            ("new", True, 24)
        ]
        assert con.execute("SELECT name, current_rows, versions FROM datasets").fetchall() == [
            ("carga_dessem", 24, 1)
        ]
    lake.assert_nothing_local()


def test_the_same_file_again_is_unchanged_and_lands_nothing_twice(
    sim: SimulatorServer, settings: Settings, lake: Lake, tmp_path: Path
) -> None:
    source = tmp_path / "carga.csv"
    make_csv(source, rows=24)
    run_pipeline(conf_for(publish(sim, source, file_name="carga.csv")), "run-1", settings)
    before = lake.fingerprint(CURATED)
    data_before = [k for k in lake.files() if not k.startswith("catalog/")]

    # SINtegre resends the product: same bytes, fresh token, new run.
    _, _, landed = run_pipeline(
        conf_for(publish(sim, source, file_name="carga.csv")), "run-2", settings
    )

    assert landed["unchanged"] is True
    assert outcomes(landed) == [("carga_dessem", 24, "unchanged", False)]
    assert lake.fingerprint(CURATED) == before
    # One more delivery marker and one more catalog commit (its JSON and data file, and the
    # checkpoint the table writes every 2 commits); nothing else.
    new = sorted(set(lake.files()) - set(data_before))
    log = [k.rsplit("/", 1)[-1] for k in new if k.startswith("catalog/delta/_delta_log/")]
    assert log == [
        "00000000000000000000.json",
        "00000000000000000001.checkpoint.parquet",
        "00000000000000000001.json",
        "_last_checkpoint",
    ]
    assert len([k for k in new if k.startswith("catalog/")]) == 6
    assert len([k for k in new if k.startswith("raw/_deliveries/")]) == 1
    assert len(new) == 7
    with connect(lake.uri, settings=settings) as con:
        assert con.execute("SELECT count(*) FROM carga_dessem").fetchone() == (24,)
        assert con.execute("SELECT count(*) FROM carga_dessem_history").fetchone() == (24,)
        assert con.execute(
            "SELECT dag_run_id, outcome FROM catalog ORDER BY ingested_at"
        ).fetchall() == [("run-1", "new"), ("run-2", "unchanged")]
    lake.assert_nothing_local()


def test_an_older_delivery_landed_late_goes_to_history_only(
    sim: SimulatorServer, settings: Settings, lake: Lake, tmp_path: Path
) -> None:
    make_csv(tmp_path / "old" / "carga.csv", rows=24)
    make_csv(tmp_path / "new" / "carga.csv", rows=16)
    older = publish(sim, tmp_path / "old" / "carga.csv", file_name="carga.csv")
    newer = publish(sim, tmp_path / "new" / "carga.csv", file_name="carga.csv")

    run_pipeline(conf_for(newer), "run-new", settings)
    _, _, landed = run_pipeline(conf_for(older), "run-old", settings)

    assert outcomes(landed) == [("carga_dessem", 24, "older", False)]
    old_sha = hashlib.sha256(older.content).hexdigest()
    new_sha = hashlib.sha256(newer.content).hexdigest()
    history = partition("carga_dessem", zone="history")
    assert lake.files("history/") == sorted(
        f"{history}/{sha}.parquet" for sha in (old_sha, new_sha)
    )
    assert lake_layout.current_sha(CURATED, lake.store) == new_sha
    with connect(lake.uri, settings=settings) as con:
        assert con.execute("SELECT DISTINCT src_sha256 FROM carga_dessem").fetchall() == [
            (new_sha,)
        ]
        assert con.execute("SELECT count(*) FROM carga_dessem").fetchone() == (16,)
        assert con.execute("SELECT count(*) FROM carga_dessem_history").fetchone() == (40,)


def test_the_forwarders_rescued_copy_is_in_the_lake_and_used(
    sim: SimulatorServer, settings: Settings, lake: Lake, tmp_path: Path
) -> None:
    make_csv(tmp_path / "carga.csv", rows=24)
    pub = publish(sim, tmp_path / "carga.csv", file_name="carga.csv")
    conf = conf_for(pub)
    # What the forwarder's rescue does before the token dies (cli.forwarder.build_forwarder).
    rescued = fetch_into_raw(conf, settings, retries=1)
    assert rescued["raw_path"] in lake.files()
    count = sim.request_count(pub)

    dead = {**conf, "raw_path": rescued["raw_path"], "token_exp": int(time.time()) - 60}
    downloaded = download_step(dead, settings)

    assert sim.request_count(pub) == count
    assert downloaded["raw_path"] == rescued["raw_path"]
    assert downloaded["size"] == len(pub.content)
    parsed = parse_step(downloaded, "rescued", settings)
    assert land_step(parsed, downloaded, dead, "rescued", settings)["changed"] is True
    # A raw_path that leaves the raw zone is ignored: the file is downloaded instead.
    again = download_step({**conf, "raw_path": "../../etc/passwd"}, settings)
    assert again["raw_path"] == rescued["raw_path"]
    lake.assert_nothing_local()


def test_manual_ingest_and_reprocess(lake: Lake, tmp_path: Path) -> None:
    source = tmp_path / "Carga_DESSEM.csv"
    make_csv(source, rows=8)
    day = date(2025, 4, 28)
    labels = ProductLabels(nome="Carga DESSEM", macro_processo=MACRO, periodicidade=day)
    result = ingest_file(source, labels, settings=lake.settings)
    assert [d["outcome"] for d in result["landed"]["datasets"]] == ["new"]
    assert result["download"]["raw_path"] in lake.files()

    [item] = plan(lake.uri, "carga_dessem", day, day, settings=lake.settings)
    assert item["raw_path"] == result["download"]["raw_path"]
    reprocessed = reprocess_item(item, "reprocess__both", lake.settings)

    assert [d["outcome"] for d in reprocessed["datasets"]] == ["reprocessed"]
    assert not [k for k in lake.files() if k.startswith("_staging/")]
    with connect(lake.uri, settings=lake.settings) as con:
        assert con.execute("SELECT DISTINCT dag_run_id FROM carga_dessem").fetchall() == [
            ("reprocess__both",)
        ]
    lake.assert_nothing_local()


# --- crashes -------------------------------------------------------------------------------------

WRITER = """
import json, sys
from sintegre.lake.layout import StagedTable
from sintegre.lake.landing import land
spec = json.loads(open(sys.argv[1]).read())
land([StagedTable(**t) for t in spec["tables"]], spec["conf"], spec["download"],
     lake_root=spec["lake"], run_id=spec["run_id"])
"""


def _is_temporary(key: str) -> bool:
    """A writer's temporary file: ``.name.<random>.tmp``, never ``*.parquet`` (local disk)."""
    name = key.rsplit("/", 1)[-1]
    return name.startswith(".") and name.endswith(".tmp")


def _bookkeeping(key: str) -> bool:
    """A temporary file or a local partition's lock file: not data, not catalog."""
    return _is_temporary(key) or key.startswith("_locks/")


@pytest.mark.parametrize("crash_at", ["mid_file", "after_history", "after_catalog"])
def test_a_crashed_landing_leaves_no_partial_file_and_the_retry_completes(
    lake: Lake, tmp_path: Path, crash_at: str
) -> None:
    staged = tmp_path / "t.parquet"
    pq.write_table(pa.table({"mw": [1.0, 2.0, 3.0]}), staged)
    spec = {
        "tables": [
            {
                "name": "",
                "path": str(staged),
                "source_member": "",
                "original_columns": ["mw"],
                "rows": 3,
            }
        ],
        "conf": {
            "notification_id": "n1",
            "nome": "Carga",
            "dataset": "carga",
            "macroprocesso_slug": MACRO_SLUG,
            "periodicidade_date": str(DAY),
            "periodicidade_final_date": str(DAY),
            "token_nbf": 1_700_000_000,
        },
        "download": {"raw_path": "raw/x", "sha256": "cd" * 32, "file_name": "x.csv"},
        "lake": lake.uri,
        "run_id": "r1",
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV and not k.startswith("AWS_")}
    # TMPDIR: where a writer killed mid-upload to S3 leaves its local temporary file.
    env.update(lake.env, PYTHONPATH=str(INCLUDE), TMPDIR=str(tmp_path))

    def write(crash: str | None) -> int:
        run_env = {**env, CRASH_ENV: crash} if crash else env
        return subprocess.run(
            [sys.executable, "-c", WRITER, str(spec_file)],
            env=run_env,
            cwd=tmp_path,
            capture_output=True,
            timeout=120,
            check=False,
        ).returncode

    assert write(crash_at) == 70
    listed = [k for k in lake.files() if not _bookkeeping(k)]
    history = f"{partition('carga', zone='history')}/{'cd' * 32}.parquet"
    curated = f"{partition('carga')}/data.parquet"
    if crash_at == "mid_file":
        assert listed == []  # nothing half-written under a real name
        if lake.kind == "local":  # the writer really died inside a write: its temp file is left
            assert [k for k in lake.files() if _is_temporary(k)]
    elif crash_at == "after_history":
        assert listed == [history]  # whole, but not committed: no catalog
    else:
        assert history in listed and curated not in listed
        assert len([k for k in listed if k.startswith("catalog/delta/_delta_log/")]) == 1
    for key in [k for k in listed if k.endswith(".parquet")]:
        lake.read_table(key)  # every file is a whole file

    assert write(None) == 0
    listed = lake.files()
    assert history in listed and curated in listed
    assert lake.read_table(curated).column("mw").to_pylist() == [1.0, 2.0, 3.0]
    lake.assert_nothing_local()


# --- the catalog Delta table ---------------------------------------------------------------------


def _appender(env: dict[str, str], worker: int, count: int) -> None:
    """Append ``count`` one-row commits to the catalog table, with no lock of any kind."""
    from sintegre.lake import delta_catalog as delta
    from sintegre.lake.storage import open_store

    settings = load_settings(env)
    store = open_store(settings.lake_uri, settings)
    for i in range(count):
        row = {
            "ingestion_id": f"w{worker}-{i}",
            "dataset": "carga",
            "outcome": "new",
            "macroprocesso": MACRO_SLUG,
            "periodicidade": date(2024, 3, 1),
            "periodo_mes": "2024-03",
            "ingested_at": datetime(2024, 3, 1, tzinfo=UTC),
            "delivered_at": datetime(2024, 3, 1, tzinfo=UTC),
        }
        delta.append(store, pa.Table.from_pylist([row], schema=delta.delta_schema()))


def test_concurrent_catalog_commits_need_no_lock_and_maintenance_runs(lake: Lake) -> None:
    """Two processes commit to the catalog table at once: every commit gets its own version
    (conditional writes on S3, no DynamoDB, no lock); then the maintenance task compacts it."""
    import multiprocessing

    from sintegre.lake import delta_catalog as delta
    from sintegre.lake.maintenance import maintain_catalog

    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_appender, args=(lake.env, w, 6)) for w in range(2)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(180)
    assert [proc.exitcode for proc in workers] == [0, 0]
    store = lake.store
    assert delta.open_table(store).version() == 11
    rows = delta.dataset(store).to_table().column("ingestion_id").to_pylist()
    assert sorted(rows) == sorted(f"w{w}-{i}" for w in range(2) for i in range(6))

    report = maintain_catalog(store)
    assert (report["files_removed"], report["files_added"]) == (12, 1)
    assert delta.open_table(store).get_add_actions().num_rows == 1
    with connect(lake.uri, settings=lake.settings) as con:
        assert con.execute("SELECT count(*) FROM catalog").fetchone() == (12,)


def test_a_lake_with_old_catalog_files_is_migrated_and_verified(lake: Lake) -> None:
    from sintegre.lake.layout import CATALOG_SCHEMA
    from sintegre.lake.migrate import migrate

    old = []
    for i, day in enumerate(["2024-03-01", "2024-03-01", "2024-04-02"]):
        row: dict[str, Any] = {
            "ingestion_id": f"old{i}",
            "dataset": "carga",
            "sha256": f"{i:064x}",
            "version": f"{i:064x}",
            "outcome": "new",
            "rows": 3,
            "delivered_at": datetime(2024, 3, 1, i, tzinfo=UTC),
            "ingested_at": datetime(2024, 3, 1, i, tzinfo=UTC),
        }
        key = (
            f"catalog/ingestions/macroprocesso={MACRO_SLUG}/periodicidade={day}/"
            f"2024030{i}T000000000000-{i:012x}.parquet"
        )
        lake.write_table(key, pa.Table.from_pylist([row], schema=CATALOG_SCHEMA))
        old.append(key)

    report = migrate(lake.uri, settings=lake.settings)

    assert (report.files, report.rows, report.appended, report.partitions) == (3, 3, 3, 2)
    assert lake.files("catalog/ingestions/") == []
    assert lake.files("catalog/_migrated/") == sorted(
        k.replace("catalog/ingestions/", "catalog/_migrated/ingestions/") for k in old
    )
    with connect(lake.uri, settings=lake.settings) as con:
        assert con.execute(
            "SELECT ingestion_id, CAST(periodicidade AS VARCHAR), is_current FROM catalog "
            "ORDER BY ingestion_id"
        ).fetchall() == [
            ("old0", "2024-03-01", False),
            ("old1", "2024-03-01", True),
            ("old2", "2024-04-02", True),
        ]
