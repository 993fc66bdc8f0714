"""The three steps of an ingestion (download → parse → land), as plain functions.

Each step takes and returns small dicts of paths and facts (XCom-sized), never data frames.
The ingestion DAGs run the three in ONE task (:func:`ingest_step`): a task start costs seconds
on a small Airflow, more than the steps themselves for most of ONS's files. Each step logs its
start and duration, a failure names its step (``download failed: …``), and a retry skips the
download (the file recorded for the delivery is reused from ``raw/``, content-addressed).

The lake is a local folder or an S3 prefix (``LAKE_URI``, ``sintegre.lake.storage``). On S3 every
step's output lives in the bucket (the raw file, the delivery marker, the staged tables under
``_staging/<run>/``), because with Airflow's CeleryExecutor the download, parse and land tasks
of one run may each run on a different worker. A worker only keeps files in its temporary
folder for the time of one step.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa

from sintegre.catalog.products import Product, load_catalog
from sintegre.core.redact import REDACTED
from sintegre.core.runconf import RunConf, RunConfError
from sintegre.core.settings import Settings, load_settings
from sintegre.ingest.download import DownloadError, download_to_raw, sanitize_file_name
from sintegre.lake import landing as lake
from sintegre.lake import layout as lake_layout
from sintegre.lake.locks import LakeLockError, LakeLockTimeout
from sintegre.lake.storage import LakeStore, LakeStoreError, open_store
from sintegre.readers import ReaderError, read_product_file
from sintegre.readers.annotate import annotate
from sintegre.readers.errors import LayoutMismatch
from sintegre.readers.model import ParsedTable, staged_writer

log = logging.getLogger(__name__)

REQUIRED_CONF_KEYS = (
    "notification_id",
    "nome",
    "macroProcesso",
    "url",
    "dataset",
    "macroprocesso_slug",
    "periodicidade_date",
    "periodicidade_final_date",
)


class ConfError(ValueError):
    """The run's conf is not a notification the receiver produced."""


def check_conf(conf: dict[str, Any]) -> RunConf:
    """Validate a conf against the run-conf contract, naming every missing or bad key.

    Returns:
        The typed conf.
    """
    missing = [key for key in REQUIRED_CONF_KEYS if not conf.get(key)]
    if missing:
        raise ConfError(f"the run conf lacks {', '.join(missing)}; trigger it through the receiver")
    try:
        return RunConf.from_conf(conf)
    except RunConfError as exc:
        raise ConfError(str(exc)) from None


def lake_store(settings: Settings) -> LakeStore:
    """The lake of these settings (local folder or S3 prefix)."""
    return open_store(settings.lake_uri, settings)


def staging_prefix(run_id: str) -> str:
    """The key prefix of a run's staged tables: ``_staging/<run id, made a safe name>``."""
    return LakeStore.join("_staging", sanitize_file_name(run_id, fallback="run"))


def _with_download_url(run: RunConf, settings: Settings) -> dict[str, Any]:
    """The conf with its real download URL: the forwarder sends Airflow a redacted one.

    The token is a bearer credential for a day; Airflow stores every conf and shows it in its
    UI, so only the inbox keeps it, and the download reads it back from there.
    """
    conf = run.to_conf()
    if REDACTED not in (run.url or ""):
        return conf
    from sintegre.intake.inbox import Inbox  # SQLAlchemy: only when the URL was redacted

    inbox = Inbox(settings.inbox_url, synchronous=settings.inbox_synchronous)
    try:
        row = inbox.get(run.notification_id)
    finally:
        inbox.dispose()
    if row is None:
        raise ConfError(
            f"notification {run.notification_id} is not in the inbox "
            f"({settings.inbox_url.split('://')[0]}): its download URL cannot be read"
        )
    return {**conf, "url": json.loads(row["conf"])["url"]}


def _verified_rescued_copy(store: LakeStore, raw_path: str | None) -> dict[str, Any] | None:
    """The rescued copy, if it is inside ``raw/`` and its bytes match its content address."""
    if not raw_path:
        return None
    try:
        key = LakeStore.join(raw_path)
    except LakeStoreError:
        key = ""
    inside = key.startswith("raw/") and key.count("/") >= 2
    if inside and store.is_local:
        # A symlink inside raw/ must not lead out of it either.
        raw_root = store.local_path("raw").resolve()
        inside = raw_root in store.local_path(key).resolve().parents
    if not inside or not store.exists(key):
        log.warning("ignoring raw_path outside the raw zone or missing; downloading instead")
        return None
    digest = hashlib.sha256()
    with store.open_input_stream(key) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != PurePosixPath(key).parent.name:
        log.warning("the rescued copy does not match its sha256; downloading instead")
        return None
    return {
        "raw_path": key,
        "sha256": digest.hexdigest(),
        "file_name": PurePosixPath(key).name,
        "size": store.size(key),
        "content_type": None,
    }


def fetch_into_raw(
    conf: dict[str, Any], settings: Settings, *, retries: int | None = None
) -> dict[str, Any]:
    """Download the notification's file into the lake's raw zone (local disk or S3).

    On S3 the file is downloaded into a temporary local folder (hashed on the way, so its
    content address is known) and then uploaded to its ``raw/`` key in one PUT: a key that
    exists always holds the whole file.

    Args:
        conf: The run conf, with the real (unredacted) download URL.
        settings: Lake, allowed hosts, TLS and timeouts.
        retries: Download retries; ``SINTEGRE_DOWNLOAD_RETRIES`` when omitted.

    Returns:
        The download dict (``raw_path`` relative to the lake root, ``sha256``...).

    Raises:
        DownloadError: When the file cannot be fetched (the message names the cause).
    """
    store = lake_store(settings)
    options: dict[str, Any] = {
        "allowed_hosts": settings.allowed_download_hosts,
        "verify": settings.tls_verify,
        "timeout": settings.download_timeout_seconds,
        "deadline_seconds": settings.download_deadline_seconds,
        "retries": settings.download_retries if retries is None else retries,
    }
    if store.is_local:
        return download_to_raw(conf, lake_root=store.local_path(), **options).to_dict()
    with tempfile.TemporaryDirectory(prefix="sintegre-download-") as work:
        result = download_to_raw(conf, lake_root=Path(work), **options)
        if not store.exists(result.raw_path):  # content-addressed: same key, same bytes
            store.put_file(Path(work) / result.raw_path, result.raw_path)
    return result.to_dict()


def download_step(conf: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """Fetch the product into the raw zone, or reuse the copy the forwarder rescued.

    Raises:
        DownloadError: When the file cannot be fetched (the message names the cause).
    """
    settings = settings or load_settings()
    run = check_conf(conf)  # the typed contract: read as attributes from here on
    store = lake_store(settings)
    rescued = _verified_rescued_copy(store, run.raw_path)
    if rescued is not None:
        log.info("using the copy saved before the token expired: %s", rescued["raw_path"])
        return rescued
    recorded = _recorded_delivery(store, run.notification_id)
    if recorded is not None:
        # A re-run (cleared task, replay) reads the file recorded for this delivery: no
        # download, so it works after the token expired.
        log.info("using the file already downloaded for this delivery: %s", recorded["raw_path"])
        return recorded
    result = fetch_into_raw(_with_download_url(run, settings), settings)
    _record_delivery(store, run.notification_id, result)
    return result


def _delivery_marker(notification_id: str) -> str:
    return LakeStore.join("raw", "_deliveries", f"{sanitize_file_name(notification_id)}.json")


def _record_delivery(store: LakeStore, notification_id: str, result: dict[str, Any]) -> None:
    data = json.dumps(result, ensure_ascii=False).encode()
    store.write_bytes_atomic(_delivery_marker(notification_id), data)


def _recorded_delivery(store: LakeStore, notification_id: str) -> dict[str, Any] | None:
    marker = _delivery_marker(notification_id)
    if not store.exists(marker):
        return None
    recorded = json.loads(store.read_bytes(marker))
    return _verified_rescued_copy(store, recorded.get("raw_path"))


def _dataset_of(product: Product | None, parsed: ParsedTable) -> str | None:
    """The lake dataset of a parsed table: the catalog's choice for a catalogued table."""
    if product is None:
        return None  # generic product: <conf dataset>[__<name>]
    if parsed.catalogued:
        return product.dataset_of(product.table_named(parsed.name))
    return f"{product.dataset}__{parsed.name}" if parsed.name else product.dataset


def _annotated(product: Product | None, parsed: ParsedTable) -> pa.Table:
    """Units and descriptions in the column metadata, the product's name in the file's."""
    if product is None:
        return parsed.table
    spec = product.table_named(parsed.name) if parsed.catalogued else None
    return annotate(
        parsed.table,
        spec,
        product_id=product.id,
        product_name=product.name,
        dataset=_dataset_of(product, parsed) or product.dataset,
        evidence=product.evidence if spec is not None else "",
    )


def parse_step(
    downloaded: dict[str, Any],
    run_id: str,
    settings: Settings | None = None,
    *,
    product_id: int | None = None,
) -> dict[str, Any]:
    """Read the raw file into typed tables and stage them as Parquet for the land step.

    ``product_id`` is the catalog entry of the DAG (None for the generic DAG): its table specs
    decide which members are read how, which are kept raw and the tables' stable names.

    The staged tables go to ``_staging/<run>/`` in the lake (in the bucket on S3, so the land
    task may run on another worker); each table's ``path`` is a local path or an ``s3://`` URI.

    Raises:
        ReaderError: When the file cannot be read (the message names the file and member).
    """
    settings = settings or load_settings()
    store = lake_store(settings)
    started = time.perf_counter()
    prefix = staging_prefix(run_id)
    staged = []
    # On S3 the raw file is fetched into a temporary local copy for the readers.
    product = load_catalog().by_id(product_id) if product_id is not None else None
    specs = product.tables if product is not None else ()
    with (
        store.local_copy(downloaded["raw_path"]) as raw_file,
        tempfile.TemporaryDirectory(prefix="sintegre-parse-") as work_dir,
    ):
        # Big text files are streamed to Parquet in work_dir (bounded memory).
        try:
            tables = read_product_file(
                raw_file, downloaded["file_name"], tables=specs, work_dir=Path(work_dir)
            )
        except LayoutMismatch as mismatch:
            raise mismatch.located(product=product_id) from None
        store.delete_prefix(prefix)  # a retried parse starts clean
        try:
            for index, parsed in enumerate(tables):
                key = LakeStore.join(prefix, f"{index:03d}.parquet")
                with store.atomic_path(key) as tmp:
                    if parsed.path is not None:
                        shutil.copyfile(parsed.path, tmp)
                    else:
                        table = _annotated(product, parsed)
                        with staged_writer(tmp, table.schema) as writer:
                            writer.write_table(table)
                if parsed.drift:
                    log.warning(
                        "schema drift in %s table %r: missing %s, unexpected %s",
                        downloaded["file_name"],
                        parsed.name,
                        parsed.drift["missing"],
                        parsed.drift["unexpected"],
                    )
                if parsed.implausible:
                    log.warning(
                        "implausible values in %s table %r (kept, flagged): %s",
                        downloaded["file_name"],
                        parsed.name,
                        parsed.implausible,
                    )
                staged.append(
                    {
                        "name": parsed.name,
                        "dataset": _dataset_of(product, parsed),
                        "implausible": parsed.implausible,
                        "path": store.uri_for(key),
                        "source_member": parsed.source_member,
                        "original_columns": list(parsed.original_columns),
                        "rows": parsed.num_rows,
                        "drift": parsed.drift,
                    }
                )
        except BaseException:
            store.delete_prefix(prefix)  # nothing half-staged for land to pick up
            raise
    log.info(
        "parsed %s: %d table(s), %d row(s) in %.2fs",
        downloaded["file_name"],
        len(staged),
        sum(t["rows"] for t in staged),
        time.perf_counter() - started,
    )
    return {"tables": staged}


def land_step(
    parsed: dict[str, Any],
    downloaded: dict[str, Any],
    conf: dict[str, Any],
    run_id: str,
    settings: Settings | None = None,
    *,
    force: bool = False,
) -> dict[str, Any]:
    """Land the staged tables in ``curated/`` and ``history/``, append the catalog, clean up.

    ``force`` re-lands a sha256 already landed (reprocessing after a parser fix).
    """
    settings = settings or load_settings()
    store = lake_store(settings)
    staged = [lake_layout.StagedTable(**table) for table in parsed["tables"]]
    result = lake.land(
        staged, conf, downloaded, lake_root=store, run_id=run_id, force=force, settings=settings
    )
    # Only after success: a failed land is retried on its own and needs the staged tables.
    store.delete_prefix(staging_prefix(run_id))
    log.info(
        "landed %d dataset(s), %d row(s); changed=%s",
        len(result["datasets"]),
        result["rows"],
        result["changed"],
    )
    return result


class StepFailed(RuntimeError):
    """A step of :func:`ingest_step` failed; the message names the step and the cause.

    Attributes:
        step: ``download``, ``parse`` or ``land``.
        retryable: Whether running the task again may succeed (a network hiccup, a held
            partition lock), as opposed to bytes that will fail the same way.
        cause: The original exception (a ``LayoutMismatch`` carries ``details``).
    """

    def __init__(self, step: str, cause: BaseException, *, retryable: bool) -> None:
        super().__init__(f"{step} failed: {cause}")
        self.step = step
        self.cause = cause
        self.retryable = retryable


def ingest_step(
    conf: dict[str, Any],
    run_id: str,
    settings: Settings | None = None,
    *,
    product_id: int | None = None,
) -> dict[str, Any]:
    """Download, parse and land one delivery: what the ingestion DAGs' single task runs.

    Returns:
        ``{"download": …, "land": …, "steps": {step: seconds}}``: the download dict (where
        the raw file is) and the land result (datasets, outcomes, drift), XCom-sized.

    Raises:
        ConfError: The conf does not fit the run-conf contract (not retryable).
        StepFailed: A step failed; ``step``, ``retryable`` and ``cause`` say which and why.
    """
    settings = settings or load_settings()
    steps: dict[str, float] = {}

    def timed(step: str, number: int, call: Any) -> Any:
        log.info("step %d/3 %s: started", number, step)
        started = time.perf_counter()
        result = call()
        steps[step] = round(time.perf_counter() - started, 3)
        log.info("step %d/3 %s: done in %.2fs", number, step, steps[step])
        return result

    check_conf(conf)
    try:
        downloaded = timed("download", 1, lambda: download_step(conf, settings))
    except DownloadError as exc:
        # An expired or refused token will not come back by retrying; a network error may.
        raise StepFailed("download", exc, retryable=exc.retryable) from exc
    except Exception as exc:  # object storage or disk: may pass on the retry
        raise StepFailed("download", exc, retryable=True) from exc
    try:
        parsed = timed(
            "parse", 2, lambda: parse_step(downloaded, run_id, settings, product_id=product_id)
        )
    except (LakeStoreError, OSError) as exc:  # reading raw/ or writing _staging/: may pass
        raise StepFailed("parse", exc, retryable=True) from exc
    except Exception as exc:  # LayoutMismatch, ReaderError…: the same bytes fail the same way
        raise StepFailed("parse", exc, retryable=False) from exc
    try:
        landed = timed("land", 3, lambda: land_step(parsed, downloaded, conf, run_id, settings))
    except LakeLockError as exc:
        # A partition held too long may be free on the retry; a lake that cannot be locked
        # at all (settings) will not be.
        raise StepFailed("land", exc, retryable=isinstance(exc, LakeLockTimeout)) from exc
    except Exception as exc:  # object storage or disk hiccup: the retry reuses raw/
        raise StepFailed("land", exc, retryable=True) from exc
    return {"download": downloaded, "land": landed, "steps": steps}


__all__ = [
    "ConfError",
    "DownloadError",
    "LayoutMismatch",
    "ReaderError",
    "StepFailed",
    "check_conf",
    "download_step",
    "fetch_into_raw",
    "ingest_step",
    "lake_store",
    "land_step",
    "parse_step",
    "staging_prefix",
]
