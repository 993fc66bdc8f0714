"""The catalog Delta table (``catalog/delta``): one commit per landing, a partition-pruned
decision, concurrent writers, fork safety and the maintenance task, on a real local lake."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from test_lakeviews import INCLUDE, MACRO_SLUG, NBF, make_conf, make_download, sha, stage

from helpers.lake import catalog_rows
from sintegre.lake import decision as lake_decision
from sintegre.lake import delta_catalog as catalog_delta
from sintegre.lake.landing import land
from sintegre.lake.maintenance import maintain_catalog
from sintegre.lake.storage import open_store
from sintegre.lake.views import connect

T0 = datetime(2025, 4, 29, 12, 0, tzinfo=UTC)


def _land(lake: Path, staging: Path, label: str, day: str, minutes: int, nbf: int = NBF) -> dict:
    return land(
        [stage(staging, "", {"mw": [float(minutes)], "tag": [label]})],
        make_conf(
            notification_id=f"n-{label}-{minutes}",
            token_nbf=nbf,
            periodicidade_date=day,
            periodicidade_final_date=day,
        ),
        make_download(f"{label}-{day}"),
        lake_root=lake,
        run_id=f"r{minutes}",
        now=T0 + timedelta(minutes=minutes),
    )


def test_each_landing_is_one_delta_commit_partitioned_by_macroprocesso_and_month(
    tmp_path: Path,
) -> None:
    lake, staging = tmp_path / "lake", tmp_path / "staging"
    days = ["2025-04-29", "2025-04-30", "2025-05-01"]
    versions = [_land(lake, staging, "v", day, i)["catalog_version"] for i, day in enumerate(days)]
    assert versions == [0, 1, 2]
    table = catalog_delta.open_table(open_store(lake))
    assert table.version() == 2
    assert table.metadata().partition_columns == ["macroprocesso", "periodo_mes"]
    assert table.metadata().configuration["delta.checkpointInterval"] == "2"
    assert (
        table.metadata().configuration["delta.dataSkippingStatsColumns"] == "periodicidade,dataset"
    )
    assert [h["operation"] for h in table.history()] == ["WRITE"] * 3
    months = sorted({p["periodo_mes"] for p in table.partitions()})
    assert months == ["2025-04", "2025-05"]
    rows = catalog_rows(lake)
    assert [(r["macroprocesso"], r["periodicidade"].isoformat()) for r in rows] == [
        (MACRO_SLUG, day) for day in days
    ]
    # The views read the same table (the version at connect time).
    with connect(lake) as con:
        assert con.execute("SELECT count(*) FROM catalog WHERE is_current").fetchone() == (3,)


def test_the_decision_reads_only_its_partition(tmp_path: Path) -> None:
    """Many deliveries elsewhere in the lake do not reach the decision's read."""
    lake, staging = tmp_path / "lake", tmp_path / "staging"
    store = open_store(lake)
    # 60 landings over two months and another macroprocesso, in bulk (the shape of a big lake).
    bulk = []
    for i in range(60):
        day = f"2025-03-{1 + i % 28:02d}" if i % 2 else f"2025-05-{1 + i % 28:02d}"
        bulk.append(
            {
                "ingestion_id": f"bulk{i:04d}",
                "dataset": "carga",
                "sha256": sha(f"bulk{i}"),
                "version": sha(f"bulk{i}"),
                "outcome": "new",
                "delivered_at": T0,
                "ingested_at": T0,
                "macroprocesso": MACRO_SLUG if i % 3 else "outro",
                "periodicidade": datetime.fromisoformat(day).date(),
                "periodo_mes": day[:7],
            }
        )
    catalog_delta.append(store, pa.Table.from_pylist(bulk, schema=catalog_delta.delta_schema()))
    _land(lake, staging, "a", "2025-04-29", 1)
    _land(lake, staging, "b", "2025-04-29", 2, NBF + 60)
    _land(lake, staging, "c", "2025-04-28", 3)

    read: list[dict[str, Any]] = []
    real_dataset = catalog_delta._dataset_of_entries

    def recording(store: Any, entries: list[dict[str, Any]]) -> Any:
        read.extend(entries)
        return real_dataset(store, entries)

    catalog_delta._dataset_of_entries = recording  # type: ignore[assignment]
    try:
        seen = lake_decision.partition_versions(store, MACRO_SLUG, "2025-04-29")
    finally:
        catalog_delta._dataset_of_entries = real_dataset  # type: ignore[assignment]
    assert sorted(v["sha256"] for v in seen) == sorted([sha("a-2025-04-29"), sha("b-2025-04-29")])
    # Only files of the (macroprocesso, month) partition are read: the 3 landings' files of
    # periodo_mes=2025-04 under macroprocesso=<slug>, not the 60 elsewhere.
    assert len(read) == 3
    assert {tuple(e["partition"].values()) for e in read} == {(MACRO_SLUG, "2025-04")}
    # And it decides as before: a late older delivery goes to history only.
    late = _land(lake, staging, "old", "2025-04-29", 4, NBF - 60)
    assert late["datasets"][0]["outcome"] == "older"


def test_a_landing_loads_the_catalog_log_once_for_its_commit_and_decides_from_its_tail(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """On S3 a delta-rs log load is ~13 requests: a landing makes one, for its commit, in the
    background, while its decision reads the log's tail (``delta_log``, 4 requests); only a
    table the tail reader leaves to delta-rs (no checkpoint yet) is loaded for the decision
    too."""
    from sintegre.lake import delta_log

    lake, staging = tmp_path / "lake", tmp_path / "staging"
    loads: list[int | None] = []
    tails: list[bool] = []
    real_open, real_tail = catalog_delta.open_table, delta_log.partition_files

    def counting_open(store: Any, version: int | None = None) -> Any:
        loads.append(version)
        return real_open(store, version)

    def counting_tail(*args: Any) -> Any:
        found = real_tail(*args)
        tails.append(found is not None)
        return found

    monkeypatch.setattr(catalog_delta, "open_table", counting_open)
    monkeypatch.setattr(delta_log, "partition_files", counting_tail)
    _land(lake, staging, "a", "2025-04-29", 1)  # creates the table: nothing to load
    second = _land(lake, staging, "c", "2025-04-30", 2)
    # Version 1 has no checkpoint yet: the tail reader declines, delta-rs loads it for the
    # decision, and again for the commit.
    assert second["catalog_version"] == 1 and tails[-1] is False
    _land(lake, staging, "d", "2025-05-01", 3)  # version 2: the first checkpoint
    loads.clear()
    tails.clear()
    result = _land(lake, staging, "b", "2025-04-29", 4, NBF + 60)
    assert result["datasets"][0]["outcome"] == "new"
    assert result["catalog_version"] == 3
    assert tails == [True] and loads == [None]
    # An unchanged delivery decides the same way and commits its row on the one load.
    loads.clear()
    tails.clear()
    again = _land(lake, staging, "b", "2025-04-29", 5, NBF + 60)
    assert again["unchanged"] and again["catalog_version"] == 4
    assert tails == [True] and loads == [None]


def test_a_commit_on_the_decisions_table_keeps_what_others_committed_meanwhile(
    tmp_path: Path,
) -> None:
    """Landings of other partitions and a compaction commit between a landing's load and its
    commit: Delta reconciles them (blind appends), every row stays, versions follow on."""
    lake, staging = tmp_path / "lake", tmp_path / "staging"
    store = open_store(lake)
    for minutes in range(3):
        _land(lake, staging, f"s{minutes}", f"2025-04-2{minutes}", minutes)
    loaded = catalog_delta.load_for_landing(store)
    assert loaded is not None and loaded.version() == 2
    _land(lake, staging, "other", "2025-05-02", 10)  # another partition: version 3
    maintain_catalog(store)  # compaction: version 4
    rows = [
        {
            "ingestion_id": "late",
            "dataset": "carga",
            "sha256": sha("late"),
            "version": sha("late"),
            "outcome": "new",
            "delivered_at": T0,
            "ingested_at": T0,
        }
    ]
    version = catalog_delta.append(
        store, catalog_delta.to_arrow(rows, MACRO_SLUG, "2025-04-29"), loaded=loaded
    )
    fresh = catalog_delta.open_table(store)
    assert version == fresh.version() >= 5
    ids = sorted(r["ingestion_id"] for r in catalog_rows(lake))
    assert len(ids) == 5 and "late" in ids


def _append_many(lake: str, worker: int, count: int) -> None:
    store = open_store(lake)
    for i in range(count):
        row = {
            "ingestion_id": f"w{worker}-{i}",
            "dataset": f"d{worker}",
            "outcome": "new",
            "macroprocesso": MACRO_SLUG,
            "periodicidade": datetime(2025, 4, 29).date(),
            "periodo_mes": "2025-04",
            "ingested_at": T0,
            "delivered_at": T0,
        }
        catalog_delta.append(
            store, pa.Table.from_pylist([row], schema=catalog_delta.delta_schema())
        )


def test_concurrent_appends_from_processes_all_commit_once(tmp_path: Path) -> None:
    """Three processes append at once, the table created by whichever is first: every row once,
    one version per commit (delta-rs retries a commit whose version number was taken)."""
    lake = str(tmp_path / "lake")
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_many, args=(lake, w, 8)) for w in range(3)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(120)
    assert [proc.exitcode for proc in workers] == [0, 0, 0]
    rows = catalog_rows(lake)
    assert sorted(r["ingestion_id"] for r in rows) == sorted(
        f"w{w}-{i}" for w in range(3) for i in range(8)
    )
    assert catalog_delta.open_table(open_store(lake)).version() == 23


FORK_CHILD = """
import json, os, sys
from datetime import UTC, datetime
from pathlib import Path
sys.path[:0] = [sys.argv[2]]
from test_lakeviews import make_conf, make_download, stage, NBF
from sintegre.lake.landing import land
lake, staging = Path(sys.argv[1]) / "lake", Path(sys.argv[1]) / "staging"
def one(label, nbf):
    conf = make_conf(notification_id=label, token_nbf=nbf)
    staged = [stage(staging, "", {"mw": [1.0]})]
    return land(staged, conf, make_download(label), lake_root=lake, run_id=label)
one("parent", NBF)  # the parent uses delta-rs, then forks (as Airflow and Celery do)
pid = os.fork()
if pid == 0:
    try:
        result = one("child", NBF + 60)
        from sintegre.lake.views import connect
        with connect(lake) as con:
            seen = con.execute("SELECT count(*) FROM catalog").fetchone()[0]
        ok = result["datasets"][0]["outcome"] == "new" and seen == 2
        os._exit(0 if ok else 3)
    except BaseException as exc:
        print("child failed:", repr(exc), file=sys.stderr, flush=True)
        os._exit(4)
_, status = os.waitpid(pid, 0)
print(json.dumps({"child": os.waitstatus_to_exitcode(status)}))
one("parent-after", NBF + 120)
"""


def test_a_process_that_forks_after_a_landing_can_land_in_the_child(tmp_path: Path) -> None:
    """delta-rs panics in a child forked after its first use, whatever handle the child opens:
    the catalog functions notice the fork and run in a spawned helper (landing and views)."""
    tests = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(INCLUDE), str(tests.parent)])}
    done = subprocess.run(
        [sys.executable, "-c", FORK_CHILD, str(tmp_path), str(tests)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"child": 0}, done.stderr[-2000:]
    rows = catalog_rows(tmp_path / "lake")
    assert [r["notification_id"] for r in rows] == ["parent", "child", "parent-after"]


def test_maintenance_compacts_checkpoints_and_only_vacuums_when_allowed(tmp_path: Path) -> None:
    lake, staging = tmp_path / "lake", tmp_path / "staging"
    store = open_store(lake)
    assert maintain_catalog(store) == {"version": -1}
    for i in range(12):
        _land(lake, staging, f"v{i}", "2025-04-29", i, NBF + i)
    with connect(lake) as con:
        before = con.execute("SELECT * FROM catalog ORDER BY ingestion_id").fetchall()
        current_before = con.execute("SELECT * FROM carga ORDER BY mw").fetchall()
    data_files = lambda: sorted(  # noqa: E731
        p for p in (lake / "catalog" / "delta").rglob("*.parquet") if "_delta_log" not in str(p)
    )
    assert len(data_files()) == 12

    report = maintain_catalog(store, log_retention_days=30)

    assert report["files_removed"] == 12 and report["files_added"] == 1
    assert report["vacuumed"] == 0
    table = catalog_delta.open_table(store)
    assert table.metadata().configuration["delta.logRetentionDuration"] == "interval 720 hours"
    assert (
        table.metadata().configuration["delta.deletedFileRetentionDuration"] == "interval 1 hours"
    )
    assert table.get_add_actions().num_rows == 1  # one file per (macroprocesso, month)
    assert len(data_files()) == 13  # the replaced files stay (no vacuum setting)
    checkpoints = list((lake / "catalog" / "delta" / "_delta_log").glob("*.checkpoint.parquet"))
    assert any(p.name.startswith(f"{report['version']:020d}") for p in checkpoints)
    # Older versions still readable; the views answer the same.
    assert catalog_delta.open_table(store, version=3).get_add_actions().num_rows == 4
    with connect(lake) as con:
        assert con.execute("SELECT * FROM catalog ORDER BY ingestion_id").fetchall() == before
        assert con.execute("SELECT * FROM carga ORDER BY mw").fetchall() == current_before
    # A landing after maintenance decides from the compacted table.
    again = _land(lake, staging, "v3", "2025-04-29", 40, NBF + 3)
    assert again["datasets"][0]["outcome"] == "unchanged"

    # With the setting, files no version newer than the retention references are deleted.
    time.sleep(0.01)
    vacuumed = maintain_catalog(store, vacuum_retention_hours=0)
    # Compacted again (the first compaction's file + the last landing's) and then vacuumed:
    # the 12 replaced first, the 2 replaced now; one file is left, all rows readable.
    assert (vacuumed["files_removed"], vacuumed["vacuumed"]) == (2, 14)
    assert len(data_files()) == 1
    with connect(lake) as con:
        assert len(con.execute("SELECT * FROM catalog").fetchall()) == len(before) + 1


def test_s3_storage_options_come_from_the_settings() -> None:
    from sintegre.core.settings import load_settings

    settings = load_settings(
        {
            "SINTEGRE_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
        }
    )
    options: dict[str, Any] = catalog_delta.storage_options(settings)
    assert options == {
        "conditional_put": "etag",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
    }
    store = open_store("s3://bucket/lake", settings)
    assert store.delta_storage_options == options
    assert catalog_delta.table_uri(store) == "s3://bucket/lake/catalog/delta"
    https = catalog_delta.storage_options(
        load_settings({"SINTEGRE_S3_ENDPOINT_URL": "minio.example:9000", "AWS_REGION": "sa"})
    )
    assert "AWS_ALLOW_HTTP" not in https and https["AWS_REGION"] == "sa"


def test_the_views_snapshot_skips_files_by_their_statistics_and_loses_no_row(
    tmp_path: Path,
) -> None:
    """``catalog_delta.dataset`` gives each file its partition values and its date / dataset
    ranges as guarantees: a filter skips files without opening them, and every filter returns
    exactly the rows a full scan filtered afterwards returns (a wrong guarantee drops rows)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as pads

    lake = tmp_path / "lake"
    store = open_store(lake)
    days = ["2025-03-30", "2025-03-31", "2025-04-01", "2025-04-29", "2025-04-30", "2025-05-01"]
    rows = []
    for index, day in enumerate(days):
        for table in ("a", "b"):
            rows.append(
                {
                    **{name: None for name in catalog_delta.delta_schema().names},
                    "ingestion_id": f"i{index}{table}",
                    "dataset": f"ds_{table}",
                    "outcome": "new",
                    "macroprocesso": "operacao" if index % 2 else "hidrologia",
                    "periodicidade": datetime.fromisoformat(day).date(),
                    "periodo_mes": day[:7],
                    "delivered_at": T0,
                    "ingested_at": T0 + timedelta(minutes=index),
                }
            )
        # One commit per day: one small file per landing, as between two maintenances.
        catalog_delta.append(store, pa.Table.from_pylist(rows[-2:], catalog_delta.delta_schema()))
    snapshot = catalog_delta.dataset(store)
    assert snapshot is not None
    whole = snapshot.to_table()
    assert whole.num_rows == len(rows)

    day = pc.field("periodicidade")
    filters = [
        day >= pa.scalar(datetime(2025, 4, 30).date()),
        day == pa.scalar(datetime(2025, 3, 31).date()),
        (pc.field("dataset") == "ds_b") & (day < pa.scalar(datetime(2025, 4, 1).date())),
        pc.field("macroprocesso") == "operacao",
        pc.field("ingested_at") > pa.scalar(T0 + timedelta(minutes=2), pa.timestamp("us", "UTC")),
    ]
    for condition in filters:
        expected = whole.filter(condition).sort_by("ingestion_id")
        assert snapshot.to_table(filter=condition).sort_by("ingestion_id") == expected
    # The skipping is real: a one-day filter keeps only that day's file.
    one_day = list(snapshot.get_fragments(filter=filters[1]))
    assert len(one_day) == 1 < len(list(snapshot.get_fragments()))
    assert isinstance(snapshot, pads.FileSystemDataset)

    # After maintenance (one file per partition) the answers are the same.
    maintain_catalog(store)
    compacted = catalog_delta.dataset(store)
    assert compacted is not None
    for condition in filters:
        expected = whole.filter(condition).sort_by("ingestion_id")
        assert compacted.to_table(filter=condition).sort_by("ingestion_id") == expected


def test_expired_tombstones_leave_the_checkpoint_and_the_files_stay(tmp_path: Path) -> None:
    """Replaced files are remembered in the log for ``tombstone_retention_hours`` only: past
    it, the next checkpoint no longer carries them (every log load reads it), while the files
    themselves stay on disk (no vacuum setting) and every row stays readable."""
    lake, staging = tmp_path / "lake", tmp_path / "staging"
    store = open_store(lake)
    for i in range(6):
        _land(lake, staging, f"t{i}", "2025-04-29", i, NBF + i)
    kept = maintain_catalog(store)  # default retention: the 6 replaced files are remembered
    assert kept["files_removed"] == 6
    checkpoint = lake / "catalog" / "delta" / "_delta_log" / "_last_checkpoint"
    assert json.loads(checkpoint.read_text())["size"] >= 6 + 1
    rows = len(catalog_rows(lake))
    for i in range(6, 9):
        _land(lake, staging, f"t{i}", "2025-04-29", i, NBF + i)
    time.sleep(1.2)
    maintain_catalog(store, tombstone_retention_hours=1 / 3600)  # one second
    summary = json.loads(checkpoint.read_text())
    assert summary["numOfAddFiles"] == 1
    import pyarrow.parquet as pq

    log_dir = lake / "catalog" / "delta" / "_delta_log"
    actions = pq.read_table(log_dir / f"{summary['version']:020d}.checkpoint.parquet")
    removed = [r for r in actions.column("remove").to_pylist() if r is not None]
    # The first compaction's 6 "removed" entries expired; only this one's 4 (the compacted
    # file and the 3 new landings', replaced a moment ago) are still remembered.
    assert len(removed) == 4
    data_files = [
        p for p in (lake / "catalog" / "delta").rglob("*.parquet") if "_delta_log" not in str(p)
    ]
    assert len(data_files) == 6 + 1 + 3 + 1  # nothing deleted
    assert len(catalog_rows(lake)) == rows + 3


def test_maintenance_gives_an_older_table_todays_properties(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Tables made before the properties changed (a checkpoint every 10 commits, statistics
    of every column) get today's at the next maintenance, and keep every row."""
    lake, staging = tmp_path / "lake", tmp_path / "staging"
    store = open_store(lake)
    monkeypatch.setattr(catalog_delta, "TABLE_CONFIGURATION", {"delta.checkpointInterval": "10"})
    for i in range(3):
        _land(lake, staging, f"o{i}", "2025-04-29", i, NBF + i)
    assert catalog_delta.open_table(store).metadata().configuration == {
        "delta.checkpointInterval": "10"
    }
    monkeypatch.undo()
    maintain_catalog(store)
    configuration = catalog_delta.open_table(store).metadata().configuration
    assert configuration["delta.checkpointInterval"] == "2"
    assert configuration["delta.dataSkippingStatsColumns"] == "periodicidade,dataset"
    assert configuration["delta.deletedFileRetentionDuration"] == "interval 1 hours"
    assert configuration["delta.logRetentionDuration"] == "interval 168 hours"
    before = catalog_delta.open_table(store).version()
    _land(lake, staging, "o3", "2025-04-29", 3, NBF + 3)
    _land(lake, staging, "o4", "2025-04-29", 4, NBF + 4)
    # One of the next two landings wrote a checkpoint itself (every 2 versions now).
    log_dir = lake / "catalog" / "delta" / "_delta_log"
    newest = json.loads((log_dir / "_last_checkpoint").read_text())["version"]
    assert newest in (before + 1, before + 2)
    assert len(catalog_rows(lake)) == 5


def _file_columns(lake: Path) -> list[list[str]]:
    import pyarrow.parquet as pq

    files = sorted((lake / "catalog" / "delta").rglob("*.parquet"))
    return [pq.read_schema(f).names for f in files if "_delta_log" not in f.parts]


def test_a_catalog_file_ends_with_the_columns_the_views_read(tmp_path: Path) -> None:
    """The view's columns are the last of every file, landing's or compaction's, so one
    read of a file's tail serves its footer and them; the views' columns keep their order."""
    lake, staging = tmp_path / "lake", tmp_path / "staging"
    for i, day in enumerate(["2025-04-29", "2025-04-30"]):
        _land(lake, staging, f"t{i}", day, i, NBF + i)
    store = open_store(lake)
    maintain_catalog(store)
    _land(lake, staging, "t2", "2025-04-30", 2, NBF + 2)
    trailing = list(catalog_delta.TRAILING_COLUMNS)
    columns = _file_columns(lake)
    assert len(columns) >= 2
    for names in columns:
        assert names[-len(trailing) :] == trailing
    assert catalog_delta.in_table_order(catalog_delta.open_table(store))
    with connect(lake) as con:
        names = [row[0] for row in con.execute("DESCRIBE catalog").fetchall()]
    from sintegre.lake.layout import CATALOG_SCHEMA

    assert names == [*CATALOG_SCHEMA.names, "macroprocesso", "periodicidade", "is_current"]


def test_a_table_in_the_old_column_order_keeps_it_and_reads_the_same(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """A table made before the order changed keeps its own (delta-rs writes the table's
    order), is read whole, and answers exactly what a table in today's order answers."""
    old_lake, new_lake = tmp_path / "old", tmp_path / "new"
    staging = tmp_path / "staging"
    from sintegre.lake.layout import CATALOG_SCHEMA

    old_order = pa.schema(
        [
            *CATALOG_SCHEMA,
            pa.field("macroprocesso", pa.string()),
            pa.field("periodicidade", pa.date32()),
            pa.field("periodo_mes", pa.string()),
        ]
    )
    with monkeypatch.context() as patch:
        patch.setattr(catalog_delta, "delta_schema", lambda: old_order)
        _land(old_lake, staging, "a", "2025-04-29", 0)
    for lake in (old_lake, new_lake):
        if lake is new_lake:
            _land(lake, staging, "a", "2025-04-29", 0)
        _land(lake, staging, "b", "2025-04-29", 1, NBF + 1)
        _land(lake, staging, "c", "2025-05-02", 2, NBF + 2)
    old_store = open_store(old_lake)
    assert not catalog_delta.in_table_order(catalog_delta.open_table(old_store))
    assert all(names[0] == "ingestion_id" for names in _file_columns(old_lake))
    maintain_catalog(old_store)
    assert all(names[0] == "ingestion_id" for names in _file_columns(old_lake))
    query = (
        "SELECT dataset, periodicidade, outcome, is_current, rows FROM catalog "
        "ORDER BY delivered_at, ingestion_id"
    )
    answers = []
    for lake in (old_lake, new_lake):
        with connect(lake) as con:
            answers.append(con.execute(query).fetchall())
    assert answers[0] == answers[1] and len(answers[0]) == 3
