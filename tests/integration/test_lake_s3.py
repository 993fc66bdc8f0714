"""The lake on object storage: the real pipeline against an S3 endpoint (moto in server mode).

moto runs as its own process (``python -m moto.server``), the way MinIO or S3 would: the
pipeline reaches it over HTTP through ``pyarrow.fs.S3FileSystem``. Files come from the real
HTTPS simulator; the lake is read back with pyarrow (an S3 filesystem built here, independent
of the project's) and with DuckDB through ``sintegre.lake.views``. Landings are serialised by a
PostgreSQL advisory lock when the server at 127.0.0.1:5432 answers, else with
``SINTEGRE_LAKE_LOCK=none``.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from sintegre.core.settings import PROJECT_ROOT, Settings, load_settings
from sintegre.ingest.manual import ingest_file
from sintegre.ingest.pipeline import download_step, fetch_into_raw, land_step, parse_step
from sintegre.ingest.reprocess import plan, reprocess_item
from sintegre.intake.notification import normalize
from sintegre.lake import layout as lake_layout
from sintegre.lake import locks as lake_locks
from sintegre.lake.landing import CRASH_ENV, land
from sintegre.lake.layout import StagedTable
from sintegre.lake.locks import LakeLockError
from sintegre.lake.storage import open_store
from sintegre.lake.views import connect
from sintegre_dev.fixtures import make_csv
from sintegre_dev.simulator import Publication, SimulatorServer, build_notification

MACRO = "Programação da Operação"
MACRO_SLUG = "programacao_da_operacao"
DAY = date(2024, 3, 1)
PARTITION = f"macroprocesso={MACRO_SLUG}/periodicidade={DAY}"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
REGION = "us-east-1"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
INCLUDE = PROJECT_ROOT / "include"

_NBF_BASE = int(time.time()) - 600
_nbf_counter = iter(range(10_000))


def _pg_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except Exception:
        return False


PG = _pg_reachable()


# --- the S3 endpoint ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server in its own process, on a free loopback port."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def bucket(endpoint: str) -> str:
    """A fresh bucket per test (the lake never creates buckets itself)."""
    name = f"lake-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def keys(endpoint: str, bucket: str, prefix: str = "lake/") -> list[str]:
    """Every object key under ``prefix``, as S3 itself lists them (boto3, not the project).

    Empty ``folder/`` marker objects (pyarrow leaves one when it deletes a folder's last
    file, as the S3 console does) are not files and are left out; they must be empty.
    """
    paginator = s3_client(endpoint).get_paginator("list_objects_v2")
    found = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/"):
                assert item["Size"] == 0, item["Key"]
                continue
            found.append(item["Key"])
    return sorted(found)


def arrow_s3(endpoint: str) -> pafs.S3FileSystem:
    """An S3 filesystem built here, the way an analyst would: not the project's helper."""
    return pafs.S3FileSystem(
        endpoint_override=endpoint.removeprefix("http://"),
        scheme="http",
        region=REGION,
        access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def s3_env(endpoint: str, bucket: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "LAKE_URI": f"s3://{bucket}/lake",
        "SINTEGRE_STATE_DIR": str(tmp_path / "state"),
        "SINTEGRE_S3_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        **CREDENTIALS,
        # Landings are serialised by PostgreSQL where it runs; else the scheduler's word.
        **({"SINTEGRE_INBOX_URL": PG_URL} if PG else {"SINTEGRE_LAKE_LOCK": "none"}),
        **extra,
    }


# --- the HTTPS simulator -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorServer]:
    with SimulatorServer(cert_dir=tmp_path_factory.mktemp("sim-certs")) as server:
        yield server


@pytest.fixture
def settings(
    sim: SimulatorServer, endpoint: str, bucket: str, tmp_path: Path, monkeypatch
) -> Settings:
    # Work from an empty folder: a bug that took s3://... for a local path would create an
    # "s3:" folder here, which the tests look for.
    monkeypatch.chdir(tmp_path)
    return load_settings(
        s3_env(
            endpoint,
            bucket,
            tmp_path,
            REQUESTS_CA_BUNDLE=str(sim.ca_path),
            SINTEGRE_ALLOWED_DOWNLOAD_HOSTS="localhost",
            SINTEGRE_DOWNLOAD_RETRIES="2",
        )
    )


def publish(sim: SimulatorServer, content: Path, *, file_name: str) -> Publication:
    nbf = _NBF_BASE + next(_nbf_counter)  # a later publication is a newer delivery
    return sim.publish(content, file_name=file_name, product_id=230, nome="Carga DESSEM", nbf=nbf)


def conf_for(pub: Publication) -> dict[str, Any]:
    """The conf the receiver derives from the notification SINtegre would send."""
    payload = build_notification(
        pub,
        processo="Previsão de Carga para o DESSEM",
        macro_processo=MACRO,
        data_produto=DAY.strftime("%d/%m/%Y"),
        periodicidade=datetime(DAY.year, DAY.month, DAY.day),
        periodicidade_final=datetime(DAY.year, DAY.month, DAY.day, 23, 59, 59),
    )
    return normalize(json.dumps(payload).encode(), allowed_hosts=("localhost",)).to_conf()


def run_pipeline(
    conf: dict[str, Any], run_id: str, settings: Settings
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    downloaded = download_step(conf, settings)
    parsed = parse_step(downloaded, run_id, settings)
    landed = land_step(parsed, downloaded, conf, run_id, settings)
    return downloaded, parsed, landed


def outcomes(landed: dict[str, Any]) -> list[tuple[str, int, str, bool]]:
    """``(dataset, rows, outcome, changed)`` per landed dataset."""
    return [(d["dataset"], d["rows"], d["outcome"], d["changed"]) for d in landed["datasets"]]


def assert_nothing_local(tmp_path: Path) -> None:
    assert not (tmp_path / "s3:").exists()
    assert not list(tmp_path.glob("s3*"))


# --- the pipeline on S3 ----------------------------------------------------------------------


def test_a_csv_lands_on_s3_and_reads_back_with_pyarrow_and_duckdb(
    sim: SimulatorServer,
    settings: Settings,
    endpoint: str,
    bucket: str,
    tmp_path: Path,
) -> None:
    source = tmp_path / "files" / "Carga_DESSEM_01-03-2024.csv"
    make_csv(source, rows=24)
    pub = publish(sim, source, file_name="Carga_DESSEM_01-03-2024.csv")
    conf = conf_for(pub)
    sha = hashlib.sha256(pub.content).hexdigest()

    downloaded = download_step(conf, settings)
    parsed = parse_step(downloaded, "run-1", settings)
    # Staged in the bucket: with CeleryExecutor the land task may run on another worker.
    [table] = parsed["tables"]
    assert table["path"] == f"s3://{bucket}/lake/_staging/run-1/000.parquet"
    assert "lake/_staging/run-1/000.parquet" in keys(endpoint, bucket)
    landed = land_step(parsed, downloaded, conf, "run-1", settings)

    raw_key = f"lake/raw/carga_dessem/2024/03/{sha}/Carga_DESSEM_01-03-2024.csv"
    marker = f"lake/raw/_deliveries/{conf['notification_id']}.json"
    assert downloaded["raw_path"] == raw_key.removeprefix("lake/")
    assert outcomes(landed) == [("carga_dessem", 24, "new", True)]
    listed = keys(endpoint, bucket)
    catalog = [k for k in listed if k.startswith("lake/catalog/")]
    # The catalog Delta table: its first commit and one data file in the (macro, month) partition.
    assert [k for k in catalog if "/_delta_log/" in k] == [
        "lake/catalog/delta/_delta_log/00000000000000000000.json"
    ]
    [data_file] = [k for k in catalog if "/_delta_log/" not in k]
    month = str(DAY)[:7]
    assert data_file.startswith(
        f"lake/catalog/delta/macroprocesso={MACRO_SLUG}/periodo_mes={month}/"
    )
    assert landed["catalog_version"] == 0
    assert sorted(set(listed) - set(catalog)) == sorted(
        [
            raw_key,
            marker,
            f"lake/history/carga_dessem/{PARTITION}/{sha}.parquet",
            f"lake/curated/carga_dessem/{PARTITION}/data.parquet",
        ]
    )  # no _staging/, no _locks/, no temporary objects
    client = s3_client(endpoint)
    assert client.get_object(Bucket=bucket, Key=raw_key)["Body"].read() == pub.content
    assert json.loads(client.get_object(Bucket=bucket, Key=marker)["Body"].read())["sha256"] == sha

    # pyarrow: the curated zone as a hive-partitioned dataset, straight from the bucket.
    partitioning = pads.partitioning(
        pa.schema([("macroprocesso", pa.string()), ("periodicidade", pa.date32())]),
        flavor="hive",
    )
    dataset = pads.dataset(
        f"{bucket}/lake/curated/carga_dessem",
        filesystem=arrow_s3(endpoint),
        format="parquet",
        partitioning=partitioning,
    )
    arrow = dataset.to_table()
    assert arrow.num_rows == 24
    assert set(arrow.column("periodicidade").to_pylist()) == {DAY}
    assert set(arrow.column("macroprocesso").to_pylist()) == {MACRO_SLUG}
    assert set(arrow.column("src_sha256").to_pylist()) == {sha}
    assert set(arrow.column("dag_run_id").to_pylist()) == {"run-1"}
    assert set(arrow.column("src_file").to_pylist()) == {"Carga_DESSEM_01-03-2024.csv"}

    # DuckDB through the project's views (its S3 reads go through the registered fsspec).
    with connect(settings.lake_uri, settings=settings) as con:
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
    assert_nothing_local(tmp_path)


def test_the_same_file_again_is_unchanged_and_lands_nothing_twice(
    sim: SimulatorServer, settings: Settings, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "carga.csv"
    make_csv(source, rows=24)
    run_pipeline(conf_for(publish(sim, source, file_name="carga.csv")), "run-1", settings)
    client = s3_client(endpoint)
    curated = f"lake/curated/carga_dessem/{PARTITION}/data.parquet"
    before = client.head_object(Bucket=bucket, Key=curated)
    data_before = [k for k in keys(endpoint, bucket) if not k.startswith("lake/catalog/")]

    # SINtegre resends the product: same bytes, fresh token, new run.
    _, _, landed = run_pipeline(
        conf_for(publish(sim, source, file_name="carga.csv")), "run-2", settings
    )

    assert landed["unchanged"] is True
    assert outcomes(landed) == [("carga_dessem", 24, "unchanged", False)]
    after = client.head_object(Bucket=bucket, Key=curated)
    assert (after["ETag"], after["LastModified"]) == (before["ETag"], before["LastModified"])
    listed = keys(endpoint, bucket)
    # One more delivery marker and one more catalog commit (its JSON and data file); nothing else.
    new = sorted(set(listed) - set(data_before))
    assert len([k for k in new if k.startswith("lake/catalog/delta/_delta_log/")]) == 2
    assert len([k for k in new if k.startswith("lake/catalog/")]) == 4
    assert len([k for k in new if k.startswith("lake/raw/_deliveries/")]) == 1
    assert len(new) == 5
    with connect(settings.lake_uri, settings=settings) as con:
        assert con.execute("SELECT count(*) FROM carga_dessem").fetchone() == (24,)
        assert con.execute("SELECT count(*) FROM carga_dessem_history").fetchone() == (24,)
        assert con.execute(
            "SELECT dag_run_id, outcome FROM catalog ORDER BY ingested_at"
        ).fetchall() == [("run-1", "new"), ("run-2", "unchanged")]
    assert_nothing_local(tmp_path)


def test_an_older_delivery_landed_late_goes_to_history_only(
    sim: SimulatorServer, settings: Settings, endpoint: str, bucket: str, tmp_path: Path
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
    history = [k for k in keys(endpoint, bucket) if k.startswith("lake/history/")]
    assert history == sorted(
        f"lake/history/carga_dessem/{PARTITION}/{sha}.parquet" for sha in (old_sha, new_sha)
    )
    store = open_store(settings.lake_uri, settings)
    curated = f"curated/carga_dessem/{PARTITION}/data.parquet"
    assert lake_layout.current_sha(curated, store) == new_sha
    with connect(settings.lake_uri, settings=settings) as con:
        assert con.execute("SELECT DISTINCT src_sha256 FROM carga_dessem").fetchall() == [
            (new_sha,)
        ]
        assert con.execute("SELECT count(*) FROM carga_dessem").fetchone() == (16,)
        assert con.execute("SELECT count(*) FROM carga_dessem_history").fetchone() == (40,)


def test_the_forwarders_rescued_copy_is_in_the_bucket_and_used(
    sim: SimulatorServer, settings: Settings, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    make_csv(tmp_path / "carga.csv", rows=24)
    pub = publish(sim, tmp_path / "carga.csv", file_name="carga.csv")
    conf = conf_for(pub)
    # What the forwarder's rescue does before the token dies (cli.forwarder.build_forwarder).
    rescued = fetch_into_raw(conf, settings, retries=1)
    assert f"lake/{rescued['raw_path']}" in keys(endpoint, bucket)
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
    assert_nothing_local(tmp_path)


def test_manual_ingest_and_reprocess_work_on_s3(
    settings: Settings, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "Carga_DESSEM.csv"
    make_csv(source, rows=8)
    day = date(2025, 4, 28)
    result = ingest_file(
        source,
        nome="Carga DESSEM",
        macro_processo=MACRO,
        periodicidade=day,
        settings=settings,
    )
    assert [d["outcome"] for d in result["landed"]["datasets"]] == ["new"]
    assert f"lake/{result['download']['raw_path']}" in keys(endpoint, bucket)

    [item] = plan(settings.lake_uri, "carga_dessem", day, day, settings=settings)
    assert item["raw_path"] == result["download"]["raw_path"]
    reprocessed = reprocess_item(item, "reprocess__s3", settings)

    assert [d["outcome"] for d in reprocessed["datasets"]] == ["reprocessed"]
    assert not [k for k in keys(endpoint, bucket) if "/_staging/" in k]
    with connect(settings.lake_uri, settings=settings) as con:
        assert con.execute("SELECT DISTINCT dag_run_id FROM carga_dessem").fetchall() == [
            ("reprocess__s3",)
        ]
    assert_nothing_local(tmp_path)


# --- locking -----------------------------------------------------------------------------------


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
    env = s3_env(endpoint, bucket, tmp_path)
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

WRITER = """
import json, sys
from sintegre.lake.layout import StagedTable
from sintegre.lake.landing import land
spec = json.loads(open(sys.argv[1]).read())
land([StagedTable(**t) for t in spec["tables"]], spec["conf"], spec["download"],
     lake_root=spec["lake"], run_id=spec["run_id"])
"""


@pytest.mark.parametrize("crash_at", ["mid_file", "after_history", "after_catalog"])
def test_a_crashed_s3_landing_leaves_no_partial_object_and_the_retry_completes(
    endpoint: str, bucket: str, tmp_path: Path, crash_at: str
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
        "lake": f"s3://{bucket}/lake",
        "run_id": "r1",
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV and not k.startswith("AWS_")}
    # TMPDIR: where a writer killed mid-upload leaves its local temporary file.
    env.update(s3_env(endpoint, bucket, tmp_path), PYTHONPATH=str(INCLUDE), TMPDIR=str(tmp_path))

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
    listed = keys(endpoint, bucket)
    history = f"lake/history/carga/{PARTITION}/{'cd' * 32}.parquet"
    curated = f"lake/curated/carga/{PARTITION}/data.parquet"
    if crash_at == "mid_file":
        assert listed == []  # the upload never started: nothing half-written in the bucket
    elif crash_at == "after_history":
        assert listed == [history]  # whole, but not committed: no catalog
    else:
        assert history in listed and curated not in listed
        assert len([k for k in listed if k.startswith("lake/catalog/delta/_delta_log/")]) == 1
    fs = arrow_s3(endpoint)
    for key in [k for k in listed if k.endswith(".parquet")]:
        pq.read_table(f"{bucket}/{key}", filesystem=fs)  # every object is a whole file

    assert write(None) == 0
    listed = keys(endpoint, bucket)
    assert history in listed and curated in listed
    assert pq.read_table(f"{bucket}/{curated}", filesystem=fs).column("mw").to_pylist() == [
        1.0,
        2.0,
        3.0,
    ]
    assert_nothing_local(tmp_path)


# --- the catalog Delta table on S3 -----------------------------------------------------------


def _s3_appender(env: dict[str, str], worker: int, count: int) -> None:
    """Append ``count`` one-row commits to the catalog table, with no lock of any kind."""
    from sintegre.lake import delta_catalog as delta

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


def test_concurrent_catalog_commits_on_s3_need_no_lock_and_maintenance_runs(
    endpoint: str, bucket: str, tmp_path: Path
) -> None:
    """Two processes commit to the S3 catalog table at once: conditional writes give every
    commit its own version (no DynamoDB, no lock); then the maintenance task compacts it."""
    import multiprocessing

    from sintegre.lake import delta_catalog as delta
    from sintegre.lake.maintenance import maintain_catalog

    env = s3_env(endpoint, bucket, tmp_path)
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_s3_appender, args=(env, w, 6)) for w in range(2)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(180)
    assert [proc.exitcode for proc in workers] == [0, 0]
    settings = load_settings(env)
    store = open_store(settings.lake_uri, settings)
    assert delta.open_table(store).version() == 11
    rows = delta.dataset(store).to_table().column("ingestion_id").to_pylist()
    assert sorted(rows) == sorted(f"w{w}-{i}" for w in range(2) for i in range(6))

    report = maintain_catalog(store)
    assert (report["files_removed"], report["files_added"]) == (12, 1)
    assert delta.open_table(store).get_add_actions().num_rows == 1
    with connect(settings.lake_uri, settings=settings) as con:
        assert con.execute("SELECT count(*) FROM catalog").fetchone() == (12,)


def test_an_s3_lake_with_old_catalog_files_is_migrated_and_verified(
    endpoint: str, bucket: str, tmp_path: Path
) -> None:
    from sintegre.lake.layout import CATALOG_SCHEMA
    from sintegre.lake.migrate import migrate

    env = s3_env(endpoint, bucket, tmp_path)
    settings = load_settings(env)
    fs = arrow_s3(endpoint)
    old = []
    for i, day in enumerate(["2024-03-01", "2024-03-01", "2024-04-02"]):
        row = {
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
            f"{bucket}/lake/catalog/ingestions/macroprocesso={MACRO_SLUG}/periodicidade={day}/"
            f"2024030{i}T000000000000-{i:012x}.parquet"
        )
        pq.write_table(pa.Table.from_pylist([row], schema=CATALOG_SCHEMA), key, filesystem=fs)
        old.append(key.removeprefix(f"{bucket}/"))

    report = migrate(settings.lake_uri, settings=settings)

    assert (report.files, report.rows, report.appended, report.partitions) == (3, 3, 3, 2)
    listed = keys(endpoint, bucket)
    assert not [k for k in listed if k.startswith("lake/catalog/ingestions/")]
    assert sorted(k for k in listed if k.startswith("lake/catalog/_migrated/")) == sorted(
        k.replace("catalog/ingestions/", "catalog/_migrated/ingestions/") for k in old
    )
    with connect(settings.lake_uri, settings=settings) as con:
        assert con.execute(
            "SELECT ingestion_id, CAST(periodicidade AS VARCHAR), is_current FROM catalog "
            "ORDER BY ingestion_id"
        ).fetchall() == [
            ("old0", "2024-03-01", False),
            ("old1", "2024-03-01", True),
            ("old2", "2024-04-02", True),
        ]
