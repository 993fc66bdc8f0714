"""The lake on object storage, what only S3 has: PostgreSQL partition locks (moto in server mode).

moto runs as its own process (``python -m moto.server``, the ``s3_endpoint`` fixture of
``tests/integration/conftest.py``), the way MinIO or S3 would. What a lake does on either
backend (landing outcomes, views, crashes, the catalog table, migration) is tested on both in
``test_lake_backends.py``; here: S3 landings refuse to run without a lock unless told, and the
PostgreSQL advisory lock (at 127.0.0.1:5432, skipped when it does not answer) serialises them.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers.lake import keys, new_bucket, s3_env
from helpers.pipeline import DAY, MACRO_SLUG, conf_for, publish, run_pipeline
from helpers.postgres import pg_reachable
from sintegre.core.settings import Settings, load_settings
from sintegre.ingest.pipeline import download_step, land_step, parse_step
from sintegre.lake import locks as lake_locks
from sintegre.lake.landing import land
from sintegre.lake.layout import StagedTable
from sintegre.lake.locks import LakeLockError
from sintegre.lake.storage import open_store
from sintegre.lake.views import connect
from sintegre_dev.fixtures import make_csv
from sintegre_dev.simulator import SimulatorServer

PG = pg_reachable()


@pytest.fixture
def endpoint(s3_endpoint: str) -> str:
    """moto's S3 server (one for the session)."""
    return s3_endpoint


@pytest.fixture
def bucket(endpoint: str) -> str:
    """A fresh bucket per test (the lake never creates buckets itself)."""
    return new_bucket(endpoint)


@pytest.fixture
def settings(
    sim: SimulatorServer, endpoint: str, bucket: str, tmp_path: Path, monkeypatch
) -> Settings:
    # Work from an empty folder: a bug that took s3://... for a local path would create an
    # "s3:" folder here.
    monkeypatch.chdir(tmp_path)
    return load_settings(
        s3_env(
            endpoint,
            bucket,
            tmp_path,
            pg=PG,
            REQUESTS_CA_BUNDLE=str(sim.ca_path),
            SINTEGRE_ALLOWED_DOWNLOAD_HOSTS="localhost",
            SINTEGRE_DOWNLOAD_RETRIES="2",
        )
    )


def test_s3_without_postgres_refuses_to_land_unless_told(
    endpoint: str, bucket: str, tmp_path: Path
) -> None:
    staged = tmp_path / "t.parquet"
    pq.write_table(pa.table({"mw": [1.0]}), staged)
    table = StagedTable(
        name="", path=str(staged), source_member="", original_columns=["mw"], rows=1
    )
    conf = {
        "notification_id": "n1",
        "nome": "Carga",
        "dataset": "carga",
        "macroprocesso_slug": MACRO_SLUG,
        "periodicidade_date": str(DAY),
        "periodicidade_final_date": str(DAY),
        "token_nbf": 1_700_000_000,
    }
    download = {"raw_path": "raw/x", "sha256": "ab" * 32, "file_name": "x.csv"}
    env = s3_env(endpoint, bucket, tmp_path, pg=PG)
    env.pop("SINTEGRE_INBOX_URL", None)
    env.pop("SINTEGRE_LAKE_LOCK", None)
    sqlite_only = load_settings(env)

    with pytest.raises(LakeLockError, match="SINTEGRE_LAKE_LOCK=none"):
        land(
            [table],
            conf,
            download,
            lake_root=sqlite_only.lake_uri,
            run_id="r",
            settings=sqlite_only,
        )
    assert keys(endpoint, bucket) == []

    told = load_settings({**env, "SINTEGRE_LAKE_LOCK": "none"})
    result = land([table], conf, download, lake_root=told.lake_uri, run_id="r", settings=told)
    assert result["datasets"][0]["outcome"] == "new"


@pytest.mark.postgres
@pytest.mark.skipif(not PG, reason="PostgreSQL at 127.0.0.1:5432 is not reachable")
def test_a_landing_waits_for_the_partitions_advisory_lock(
    sim: SimulatorServer, settings: Settings, tmp_path: Path
) -> None:
    make_csv(tmp_path / "carga.csv", rows=24)
    conf = conf_for(publish(sim, tmp_path / "carga.csv", file_name="carga.csv"))
    downloaded = download_step(conf, settings)
    parsed = parse_step(downloaded, "run-locked", settings)
    store = open_store(settings.lake_uri, settings)
    results: list[dict[str, Any]] = []

    with lake_locks.partition_lock(store, MACRO_SLUG, str(DAY), settings):
        worker = threading.Thread(
            target=lambda: results.append(
                land_step(parsed, downloaded, conf, "run-locked", settings)
            )
        )
        worker.start()
        worker.join(timeout=2.0)
        # Another holder (here: this test) keeps the landing waiting, catalog untouched.
        assert worker.is_alive()
        assert store.list("catalog", ".parquet") == []
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert [d["outcome"] for d in results[0]["datasets"]] == ["new"]


@pytest.mark.drill(
    "#14.10 the PostgreSQL partition lock held too long: the landing fails with a message "
    "(was: pg_advisory_lock waits for ever)"
)
@pytest.mark.postgres
@pytest.mark.skipif(not PG, reason="PostgreSQL at 127.0.0.1:5432 is not reachable")
def test_a_lock_held_too_long_fails_the_landing_with_a_message(
    settings: Settings, tmp_path: Path
) -> None:
    """pg_advisory_lock waited for ever; now a stuck holder fails the landing, which retries."""

    impatient = settings.model_copy(update={"lake_lock_wait_seconds": 0.5})
    store = open_store(impatient.lake_uri, impatient)
    with lake_locks.partition_lock(store, MACRO_SLUG, str(DAY), impatient):
        started = time.monotonic()
        with (
            pytest.raises(lake_locks.LakeLockTimeout, match=r"held partition .* more than 0.5 s"),
            lake_locks.partition_lock(store, MACRO_SLUG, str(DAY), impatient),
        ):
            pass
        assert time.monotonic() - started < 10


@pytest.mark.postgres
@pytest.mark.skipif(not PG, reason="PostgreSQL at 127.0.0.1:5432 is not reachable")
def test_concurrent_landings_on_one_s3_partition_are_serialised(
    sim: SimulatorServer, settings: Settings, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    make_csv(tmp_path / "a" / "carga.csv", rows=10)
    make_csv(tmp_path / "b" / "carga.csv", rows=12)
    confs = [
        conf_for(publish(sim, tmp_path / name / "carga.csv", file_name="carga.csv"))
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
    with connect(settings.lake_uri, settings=settings) as con:
        outcomes = sorted(row[0] for row in con.execute("SELECT outcome FROM catalog").fetchall())
        assert outcomes in (["new", "new"], ["new", "older"])
        # The newer delivery (b) is current whichever landed first.
        assert con.execute("SELECT count(*) FROM carga_dessem").fetchone() == (12,)
    assert len([k for k in keys(endpoint, bucket) if k.startswith("lake/history/")]) == 2


# --- crashes on S3 -----------------------------------------------------------------------------


# --- the catalog Delta table on S3 -----------------------------------------------------------


def test_duckdb_globs_on_s3_are_one_listing_and_curated_sizes_are_never_remembered(
    settings: Settings,
) -> None:
    """The fsspec filesystem DuckDB reads S3 through: a glob finds what fsspec's own walk
    finds, history/ sizes come from the listing, a curated/ file replaced under its name is
    read whole (its size is asked again), and ``same_listings`` is only a bracket."""
    from fsspec.implementations.arrow import ArrowFSWrapper

    store = open_store(settings.lake_uri, settings)
    history = "history/ds/macroprocesso=m/periodicidade=2025-04-29"
    for name, size in (("v1", 1), ("v2", 3)):
        store.write_bytes_atomic(f"{history}/{name}.parquet", b"x" * size)
    store.write_bytes_atomic(
        "curated/ds/macroprocesso=m/periodicidade=2025-04-29/data.parquet", b"ab"
    )
    filesystem = store.fsspec()
    plain = ArrowFSWrapper(store.filesystem)
    root = store.path_for_pyarrow("")
    for pattern in (f"{root}/history/**/*.parquet", f"{root}/**/*.parquet", f"{root}/cur*/*/*"):
        assert filesystem.glob(pattern) == plain.glob(pattern)
    assert filesystem.glob(f"{root}/nothing/**/*.parquet") == []

    v2 = f"{root}/{history}/v2.parquet"
    assert filesystem.info(v2)["size"] == 3
    curated = f"{root}/curated/ds/macroprocesso=m/periodicidade=2025-04-29/data.parquet"
    assert filesystem.info(curated)["size"] == 2
    store.write_bytes_atomic(
        "curated/ds/macroprocesso=m/periodicidade=2025-04-29/data.parquet", b"abcd"
    )
    assert filesystem.info(curated)["size"] == 4
    with filesystem.open(curated, "rb") as handle:
        assert handle.read() == b"abcd"

    with filesystem.same_listings():
        before = filesystem.glob(f"{root}/history/**/*.parquet")
        store.write_bytes_atomic(f"{history}/v3.parquet", b"y")
        assert filesystem.glob(f"{root}/history/**/*.parquet") == before  # one listing
    assert len(filesystem.glob(f"{root}/history/**/*.parquet")) == 3  # fresh afterwards


#: A request line of moto's server log (colour codes before the method, when it adds them).
_MOTO_REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)*([A-Z]+) (\S+) HTTP')


def _moto_requests(s3_log: Path, since: int) -> list[tuple[str, str]]:
    """(method, target with its query) of every request moto logged since byte ``since``."""
    with s3_log.open("rb") as log:
        log.seek(since)
        lines = log.read().decode(errors="replace").splitlines()
    return [(m[1], m[2]) for m in map(_MOTO_REQUEST.search, lines) if m]


def _count_opens(store: Any, filesystem: Any) -> list[str]:
    """The paths ``filesystem`` (the store's fsspec wrapper) opens from now on, in order."""
    opened: list[str] = []
    real_open = store.filesystem.open_input_file

    class Counting:
        def __getattr__(self, name: str) -> object:
            return getattr(store.filesystem, name)

        def open_input_file(self, path: str) -> object:
            opened.append(path)
            return real_open(path)

    filesystem.fs = Counting()
    return opened


def test_a_listed_history_file_opens_on_its_first_read(settings: Settings) -> None:
    """DuckDB opens a file at every bind of a view over it: a listed history/ file's handle
    knows its size without a request and asks S3 only when read; an unlisted file (and a
    curated/ one) opens as usual."""
    store = open_store(settings.lake_uri, settings)
    history = "history/ds/macroprocesso=m/periodicidade=2025-04-29"
    store.write_bytes_atomic(f"{history}/v1.parquet", b"0123456789")
    filesystem = store.fsspec()
    root = store.path_for_pyarrow("")
    opened = _count_opens(store, filesystem)
    [path] = filesystem.glob(f"{root}/history/**/*.parquet")
    handle = filesystem.open(path, "rb")
    assert handle.size == 10 and not handle.closed and opened == []
    handle.seek(4)
    assert handle.read(3) == b"456" and opened == [path]
    handle.close()
    assert handle.closed
    with filesystem.open(path, "rb") as again:  # closed unread: never opened
        pass
    assert again.closed and opened == [path]
    with pytest.raises(ValueError, match="closed"):
        again.read()
    # Written after the listing: not known, opened (and sized) by S3 as usual.
    store.write_bytes_atomic(f"{history}/v2.parquet", b"abc")
    with filesystem.open(f"{root}/{history}/v2.parquet", "rb") as late:
        assert late.read() == b"abc"
    assert opened[-1].endswith("v2.parquet")


def test_catalog_files_on_s3_are_read_in_one_request_each(settings: Settings, s3_log: Path) -> None:
    """``catalog`` opens every catalog file: each is one whole-object GET (no HEAD, no footer
    read first: the size comes from the Delta log), counted in moto's own request log; the
    rows are the table's, and the decision reads its partition's file the same way."""
    from datetime import UTC, date, datetime

    from sintegre.lake import decision as lake_decision
    from sintegre.lake import delta_catalog
    from sintegre.lake.whole_reads import _WholeReads

    store = open_store(settings.lake_uri, settings)
    days = ("2025-03-02", "2025-04-29", "2025-04-30")
    for day in days:
        rows = [
            {
                "ingestion_id": f"i-{day}",
                "dataset": "carga",
                "sha256": "ab" * 32,
                "version": "ab" * 32,
                "outcome": "new",
                "delivered_at": datetime(2025, 4, 1, tzinfo=UTC),
                "ingested_at": datetime(2025, 4, 1, tzinfo=UTC),
            }
        ]
        delta_catalog.append(store, delta_catalog.to_arrow(rows, "m", day))
    table_path = f"/{store.path_for_pyarrow(delta_catalog.TABLE_KEY)}/"

    def data_requests(since: int) -> list[tuple[str, str]]:
        """(method, path) of every request for a catalog data file since byte ``since``."""
        return [
            (method, target.split("?")[0])
            for method, target in _moto_requests(s3_log, since)
            if target.startswith(table_path) and "_delta_log" not in target
        ]

    start = s3_log.stat().st_size
    snapshot = delta_catalog.dataset(store)
    assert snapshot is not None
    table = snapshot.to_table(columns=["ingestion_id", "periodicidade"])
    assert sorted(table.column("periodicidade").to_pylist()) == [
        date.fromisoformat(d) for d in days
    ]
    reads = data_requests(start)
    assert len(reads) == 3 and {method for method, _ in reads} == {"GET"}
    assert len({path for _, path in reads}) == 3

    start = s3_log.stat().st_size
    versions = lake_decision.partition_versions(store, "m", "2025-04-29")
    assert [v["ingestion_id"] for v in versions] == ["i-2025-04-29"]
    # The month's two files: one skipped by its statistics (2025-04-30), one read in one GET.
    assert [method for method, _ in data_requests(start)] == ["GET"]

    # A file whose bytes differ from the size the log records is an error, never rows.
    [fragment] = [f for f in snapshot.get_fragments() if "2025-03" in f.path]
    handler = _WholeReads(fragment.filesystem, {fragment.path: 1})
    with pytest.raises(OSError, match="the catalog table's log says 1"):
        handler.open_input_file(fragment.path)


def test_the_decision_reads_the_catalog_log_tail_in_four_requests(
    settings: Settings, s3_log: Path
) -> None:
    """A decision without a loaded table reads the log's tail itself
    (``sintegre.lake.delta_log``): ``_last_checkpoint``, then the checkpoint whole and the
    next two commits at once, never a HEAD or a listing, where delta-rs's load took 13
    requests; then the partition's file in one GET. The same rows as delta-rs's snapshot,
    with a commit after the last checkpoint and without one."""
    from datetime import UTC, datetime

    from sintegre.lake import decision as lake_decision
    from sintegre.lake import delta_catalog

    store = open_store(settings.lake_uri, settings)
    table_path = f"/{store.path_for_pyarrow(delta_catalog.TABLE_KEY)}"

    def requests_since(since: int) -> list[tuple[str, str]]:
        found = []
        for method, target in _moto_requests(s3_log, since):
            if target.startswith(table_path) or "list-type" in target:
                path = target.split("?")[0].removeprefix(table_path + "/")
                found.append((method, path.split("/")[-1] if "_delta_log" in path else "data"))
        return found

    for n in range(5):
        day = "2025-04-29" if n % 2 else "2025-04-30"
        row = {
            "ingestion_id": f"i-{n}",
            "dataset": "carga",
            "sha256": f"{n:064x}",
            "version": f"{n:064x}",
            "outcome": "new",
            "delivered_at": datetime(2025, 4, 1, n, tzinfo=UTC),
            "ingested_at": datetime(2025, 4, 1, n, tzinfo=UTC),
        }
        delta_catalog.append(store, delta_catalog.to_arrow([row], "m", day))
        if n < 3:
            continue
        # Versions 3 (checkpointed: no commit after it) and 4 (one commit after it, found
        # in the same round as the missing 5: no third round).
        loaded = delta_catalog.open_table(store)
        expected = lake_decision.partition_versions(store, "m", "2025-04-29", loaded=loaded)
        start = s3_log.stat().st_size
        versions = lake_decision.partition_versions(store, "m", "2025-04-29")
        assert versions == expected and {v["ingestion_id"] for v in versions} == {"i-1", "i-3"}
        made = requests_since(start)
        assert {method for method, _ in made} == {"GET"}, made
        names = [name for _, name in made]
        checkpoint = f"{3:020d}.checkpoint.parquet"
        assert sorted(names[:4]) == sorted(
            ["_last_checkpoint", checkpoint, f"{4:020d}.json", f"{5:020d}.json"]
        ), made
        assert names[0] == "_last_checkpoint"
        # Then the month's files that hold 2025-04-29 (their statistics skip the others),
        # one GET each.
        assert names[4:] == ["data", "data"], made


def _append_two_months(store: Any, extra: Any) -> None:
    """Two months of 3,000 catalog rows each (one commit a month), ``extra(n)`` merged in."""
    from datetime import UTC, datetime

    from sintegre.lake import delta_catalog

    for day in ("2025-03-02", "2025-04-29"):
        rows = [
            {
                "ingestion_id": f"i-{day}-{n}",
                "dataset": "carga",
                "sha256": f"{n:064x}",
                "version": f"{n:064x}",
                "outcome": "new",
                "delivered_at": datetime(2025, 4, 1, tzinfo=UTC),
                "ingested_at": datetime(2025, 4, 1, tzinfo=UTC),
                **extra(n),
            }
            for n in range(3000)
        ]
        delta_catalog.append(store, delta_catalog.to_arrow(rows, "m", day))


def test_large_catalog_files_are_read_tail_first_in_one_request(
    settings: Settings, s3_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view reads the trailing columns of each file: a file above the whole-read size is
    read by one ranged GET of its tail (footer and those columns); a tail too short for a
    column falls back to more ranged reads and the same rows, never wrong ones."""
    import re

    from sintegre.lake import delta_catalog

    store = open_store(settings.lake_uri, settings)
    _append_two_months(store, lambda n: {"history_path": f"history/carga/{n:064x}.parquet"})
    table_path = f"/{store.path_for_pyarrow(delta_catalog.TABLE_KEY)}/"
    request = re.compile(r'"(?:\x1b\[[0-9;]*m)*([A-Z]+) (\S+) HTTP')

    def data_requests(since: int) -> list[str]:
        with s3_log.open("rb") as log:
            log.seek(since)
            lines = log.read().decode(errors="replace").splitlines()
        return [
            match[1]
            for match in map(request.search, lines)
            if match and match[2].startswith(table_path) and "_delta_log" not in match[2]
        ]

    columns = ["ingestion_id", "dataset", "periodicidade", "outcome", "delivered_at"]
    whole = delta_catalog.dataset(store)
    assert whole is not None
    expected = whole.to_table(columns=[*columns, "sha256"]).sort_by("ingestion_id")
    # Every file is "large" here (~110 KB; its trailing columns ~27 KB): each tail is the
    # default extra (pyarrow's 64 KB footer read and more), shorter than the file.
    monkeypatch.setattr(delta_catalog, "TAIL_FIRST_MIN_BYTES", 0)
    monkeypatch.setattr(delta_catalog, "TAIL_SHARE", 1000)
    sizes = [entry["size"] for entry in delta_catalog._file_entries(store, None)[0]]
    assert all(size > delta_catalog.TAIL_EXTRA for size in sizes)
    start = s3_log.stat().st_size
    snapshot = delta_catalog.dataset(store)
    assert snapshot is not None
    got = snapshot.to_table(columns=columns).sort_by("ingestion_id")
    assert got == expected.select(columns) and got.num_rows == 6000
    assert data_requests(start) == ["GET", "GET"]
    # sha256 sits before the trailing columns: outside the tail, read by ranges, same rows.
    start = s3_log.stat().st_size
    got = snapshot.to_table(columns=[*columns, "sha256"]).sort_by("ingestion_id")
    assert got == expected
    assert len(data_requests(start)) > 2


def test_a_count_of_the_catalog_reads_each_file_once(
    settings: Settings, s3_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SELECT count(*) FROM catalog`` needs no column, and DuckDB then scans the first one
    of the registered snapshot: ``views`` puts ``dataset`` (in the tail) first, so a large
    file costs its one tail GET, not a second one for ``notification_id`` at its head."""
    import re

    from sintegre.lake import delta_catalog
    from sintegre.lake import views as lakeviews

    store = open_store(settings.lake_uri, settings)
    _append_two_months(store, lambda n: {"notification_id": f"{n:024x}"})
    monkeypatch.setattr(delta_catalog, "TAIL_FIRST_MIN_BYTES", 0)
    monkeypatch.setattr(delta_catalog, "TAIL_SHARE", 1000)
    table_path = f"/{store.path_for_pyarrow(delta_catalog.TABLE_KEY)}/"
    request = re.compile(r'"(?:\x1b\[[0-9;]*m)*([A-Z]+) (\S+) HTTP')
    con = lakeviews.connect(store, only=[])
    try:
        start = s3_log.stat().st_size
        assert con.execute("SELECT count(*) FROM catalog").fetchone() == (6000,)
        with s3_log.open("rb") as log:
            log.seek(start)
            lines = log.read().decode(errors="replace").splitlines()
        reads = [
            match[1]
            for match in map(request.search, lines)
            if match and match[2].startswith(table_path) and "_delta_log" not in match[2]
        ]
        assert reads == ["GET", "GET"]
        # The view still shows its columns in their order, with the right values.
        first = con.execute("SELECT * FROM catalog ORDER BY ingestion_id LIMIT 1")
        names = [column[0] for column in first.description]
        assert names[: len(lakeviews.CATALOG_SCHEMA.names)] == lakeviews.CATALOG_SCHEMA.names
        row = dict(zip(names, first.fetchone(), strict=True))
        assert row["notification_id"] == f"{0:024x}" and row["dataset"] == "carga"
    finally:
        con.close()


def test_while_views_are_bound_a_history_footer_is_read_once(settings: Settings) -> None:
    """DuckDB reads a history file's footer at each bind of a view over it: within
    ``same_listings`` its last bytes are read once (one open) and serve the later opens;
    a read before them opens the file; afterwards nothing is kept."""
    from sintegre.lake import fsspec_listing

    store = open_store(settings.lake_uri, settings)
    history = "history/ds/macroprocesso=m/periodicidade=2025-04-29"
    content = bytes(range(256)) * 400  # 100 KB: longer than the kept footer bytes
    store.write_bytes_atomic(f"{history}/v1.parquet", content)
    filesystem = store.fsspec()
    root = store.path_for_pyarrow("")
    opened = _count_opens(store, filesystem)
    size = len(content)
    with filesystem.same_listings():
        [path] = filesystem.glob(f"{root}/history/**/*.parquet")
        for _ in range(3):  # three binds, each reading the length, then the footer
            with filesystem.open(path, "rb") as handle:
                handle.seek(size - 8)
                assert handle.read(8) == content[-8:]
                handle.seek(-1000, 2)
                assert handle.read() == content[-1000:]
        assert opened == [path]
        with filesystem.open(path, "rb") as handle:  # a read that starts before the tail
            start = size - fsspec_listing.FOOTER_BYTES - 10
            handle.seek(start)
            assert handle.read(20) == content[start : start + 20]
            buffer = bytearray(5)
            assert (
                handle.readinto(buffer) == 5 and bytes(buffer) == content[start + 20 : start + 25]
            )
            assert handle.tell() == start + 25
        assert len(opened) == 2
    with filesystem.open(path, "rb") as handle:  # outside the bracket: read as ever
        handle.seek(size - 8)
        assert handle.read(8) == content[-8:]
    assert len(opened) == 3
