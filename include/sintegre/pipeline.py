"""The three steps of an ingestion, as plain functions the DAG tasks call.

Each step takes and returns small dicts of paths and facts (XCom-sized), never data frames.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from sintegre import lake
from sintegre.download import DownloadError, download_to_raw, sanitize_file_name
from sintegre.inbox import Inbox
from sintegre.readers import ReaderError, read_product_file
from sintegre.redact import REDACTED
from sintegre.settings import Settings, load_settings

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


def check_conf(conf: dict[str, Any]) -> None:
    """Refuse a conf that lacks what the steps need, naming the missing keys."""
    missing = [key for key in REQUIRED_CONF_KEYS if not conf.get(key)]
    if missing:
        raise ConfError(f"the run conf lacks {', '.join(missing)}; trigger it through the receiver")


def _staging_dir(settings: Settings, run_id: str) -> Path:
    safe = sanitize_file_name(run_id, fallback="run")
    return Path(settings.lake_uri) / "_staging" / safe


def _with_download_url(conf: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The conf with its real download URL: the forwarder sends Airflow a redacted one.

    The token is a bearer credential for a day; Airflow stores every conf and shows it in its
    UI, so only the inbox keeps it, and the download reads it back from there.
    """
    if REDACTED not in conf["url"]:
        return conf
    inbox = Inbox(settings.inbox_url, synchronous=settings.inbox_synchronous)
    try:
        row = inbox.get(conf["notification_id"])
    finally:
        inbox.dispose()
    if row is None:
        raise ConfError(
            f"notification {conf['notification_id']} is not in the inbox "
            f"({settings.inbox_url.split('://')[0]}): its download URL cannot be read"
        )
    return {**conf, "url": json.loads(row["conf"])["url"]}


def _verified_rescued_copy(lake_root: Path, raw_path: str | None) -> dict[str, Any] | None:
    """The rescued copy, if it is inside ``raw/`` and its bytes match its content address."""
    if not raw_path:
        return None
    raw_root = (lake_root / "raw").resolve()
    path = (lake_root / raw_path).resolve()
    if raw_root not in path.parents or not path.is_file():
        log.warning("ignoring raw_path outside the raw zone or missing; downloading instead")
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != path.parent.name:
        log.warning("the rescued copy does not match its sha256; downloading instead")
        return None
    return {
        "raw_path": str(path.relative_to(lake_root.resolve())),
        "sha256": digest.hexdigest(),
        "file_name": path.name,
        "size": path.stat().st_size,
        "content_type": None,
    }


def download_step(conf: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """Fetch the product into the raw zone, or reuse the copy the forwarder rescued.

    Raises:
        DownloadError: When the file cannot be fetched (the message names the cause).
    """
    settings = settings or load_settings()
    check_conf(conf)
    lake_root = Path(settings.lake_uri)
    rescued = _verified_rescued_copy(lake_root, conf.get("raw_path"))
    if rescued is not None:
        log.info("using the copy saved before the token expired: %s", rescued["raw_path"])
        return rescued
    recorded = _recorded_delivery(lake_root, conf["notification_id"])
    if recorded is not None:
        # A re-run (cleared task, replay) reads the file recorded for this delivery: no
        # download, so it works after the token expired.
        log.info("using the file already downloaded for this delivery: %s", recorded["raw_path"])
        return recorded
    result = download_to_raw(
        _with_download_url(conf, settings),
        lake_root=lake_root,
        allowed_hosts=settings.allowed_download_hosts,
        verify=settings.tls_verify,
        timeout=settings.download_timeout_seconds,
        retries=settings.download_retries,
    )
    _record_delivery(lake_root, conf["notification_id"], result.to_dict())
    return result.to_dict()


def _delivery_marker(lake_root: Path, notification_id: str) -> Path:
    return lake_root / "raw" / "_deliveries" / f"{sanitize_file_name(notification_id)}.json"


def _record_delivery(lake_root: Path, notification_id: str, result: dict[str, Any]) -> None:
    marker = _delivery_marker(lake_root, notification_id)
    marker.parent.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False))
    os.replace(tmp, marker)


def _recorded_delivery(lake_root: Path, notification_id: str) -> dict[str, Any] | None:
    marker = _delivery_marker(lake_root, notification_id)
    if not marker.is_file():
        return None
    recorded = json.loads(marker.read_text())
    return _verified_rescued_copy(lake_root, recorded.get("raw_path"))


def parse_step(
    downloaded: dict[str, Any], run_id: str, settings: Settings | None = None
) -> dict[str, Any]:
    """Read the raw file into typed tables and stage them as Parquet for the land step.

    Raises:
        ReaderError: When the file cannot be read (the message names the file and member).
    """
    settings = settings or load_settings()
    lake_root = Path(settings.lake_uri)
    started = time.perf_counter()
    tables = read_product_file(lake_root / downloaded["raw_path"], downloaded["file_name"])
    staging = _staging_dir(settings, run_id)
    shutil.rmtree(staging, ignore_errors=True)  # a retried parse starts clean
    staging.mkdir(parents=True, exist_ok=True)
    staged = []
    for index, parsed in enumerate(tables):
        path = staging / f"{index:03d}.parquet"
        pq.write_table(parsed.table, path)
        staged.append(
            {
                "name": parsed.name,
                "path": str(path),
                "source_member": parsed.source_member,
                "original_columns": list(parsed.original_columns),
                "rows": parsed.table.num_rows,
            }
        )
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
) -> dict[str, Any]:
    """Land the staged tables in ``curated/`` and ``history/``, append the catalog, clean up."""
    settings = settings or load_settings()
    staged = [lake.StagedTable(**table) for table in parsed["tables"]]
    result = lake.land(staged, conf, downloaded, lake_root=Path(settings.lake_uri), run_id=run_id)
    shutil.rmtree(_staging_dir(settings, run_id), ignore_errors=True)
    log.info(
        "landed %d dataset(s), %d row(s); changed=%s",
        len(result["datasets"]),
        result["rows"],
        result["changed"],
    )
    return result


__all__ = [
    "ConfError",
    "DownloadError",
    "ReaderError",
    "check_conf",
    "download_step",
    "land_step",
    "parse_step",
]
