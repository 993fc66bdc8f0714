"""Re-parse raw files already in the lake, after a parser fix.

:func:`plan` reads the catalog to list the raw files landed for one product over a range of
periods; :func:`reprocess_item` parses one of them again and lands it. Items are small dicts
(XCom-sized) so the ``sintegre_reprocess`` DAG can map one task over them.

The raw file is not downloaded again (the token is long gone): it is read from ``raw/`` and its
sha256 checked against the catalog. The landing keeps the original delivery instant (as
``token_nbf``), so a reprocessed old version does not overtake a newer one.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sintegre.catalog.products import load_catalog
from sintegre.core.runconf import RunConf
from sintegre.core.settings import Settings, load_settings
from sintegre.ingest.pipeline import land_step, parse_step, staging_prefix
from sintegre.lake import decision as lake_decision
from sintegre.lake import delta_catalog as catalog_delta
from sintegre.lake.storage import LakeStore, LakeStoreError, open_store

log = logging.getLogger(__name__)

REPROCESS_FLAG = "reprocess"
#: Landings that recorded a version (or a raw-only report): their delivery is the one to keep.
_RECORDED_OUTCOMES = frozenset((*lake_decision.VERSION_OUTCOMES, "raw_only"))
DATASET_PATTERN = re.compile(r"^[a-z0-9_]+$")
_CHUNK_BYTES = 1 << 20


class ReprocessError(ValueError):
    """An item cannot be reprocessed (its raw file is gone or no longer matches)."""


def _catalog_rows(store: LakeStore, start: date, end: date) -> list[dict[str, Any]]:
    """The catalog table's rows whose ``periodicidade`` is in ``[start, end]``.

    The range is pruned on the table's ``periodo_mes`` partitions (and row-group statistics)
    before any row is read.
    """
    import pyarrow.dataset as pads

    table = catalog_delta.dataset(store)
    if table is None:
        return []
    months = [start.isoformat()[:7], end.isoformat()[:7]]
    where = (
        (pads.field("periodo_mes") >= months[0])
        & (pads.field("periodo_mes") <= months[1])
        & (pads.field("periodicidade") >= start)
        & (pads.field("periodicidade") <= end)
    )
    return table.to_table(filter=where).to_pylist()


def _product_datasets(name: str) -> tuple[str, frozenset[str]]:
    """The product dataset a name stands for, and every lake dataset of that product.

    ``name`` may be the product's dataset (``precipitacao_por_satelite``) or one of its tables'
    datasets (``psat``): either way the whole product is reprocessed, since one raw file feeds
    all of its tables. Uncatalogued names stand for themselves.
    """
    for product in load_catalog().products:
        tables = {product.dataset_of(t) for t in product.tables if not t.raw}
        if name == product.dataset or name in tables:
            return product.dataset, frozenset({product.dataset, *tables})
    return name, frozenset({name})


def _belongs_to(dataset: str | None, prefix: str, names: frozenset[str]) -> bool:
    return dataset in names or (dataset or "").startswith(f"{prefix}__")


def plan(
    lake_root: Path | str | LakeStore,
    dataset_prefix: str,
    start: date,
    end: date,
    *,
    settings: Settings | None = None,
) -> list[dict[str, Any]]:
    """List the raw files landed for one product whose period starts in ``[start, end]``.

    Args:
        lake_root: The lake: a local path, a ``LAKE_URI`` (``s3://...``) or a store.
        dataset_prefix: The product's dataset, or one of its tables' datasets (``psat``):
            every dataset of the product is included (the catalog's table datasets and the
            ``<product>__<name>`` of uncatalogued members).
        start: First period date (inclusive).
        end: Last period date (inclusive).
        settings: S3 endpoint and credentials of an ``s3://`` lake; from the environment when
            omitted.

    Returns:
        One item per distinct raw file and partition, oldest delivery first. Each holds the
        raw file (``raw_path``, ``sha256``, ``source_file``), the partition
        (``macroprocesso_slug``, ``periodicidade``) and the conf fields the catalog keeps, from
        the file's first landing there that recorded a version (``new``, ``older``...). A raw
        file whose landings were all ``unchanged`` (known bytes under another name) is left
        out: the file that first brought those bytes is the one reprocessed.

    Raises:
        ValueError: A dataset that is not a slug, or ``end`` before ``start``.
    """
    if not DATASET_PATTERN.match(dataset_prefix):
        raise ValueError(f"dataset must match {DATASET_PATTERN.pattern}: {dataset_prefix!r}")
    if end < start:
        raise ValueError(f"end ({end}) is before start ({start})")
    dataset_prefix, names = _product_datasets(dataset_prefix)
    first_landing: dict[tuple[str, str, str], dict[str, Any]] = {}
    datasets: dict[tuple[str, str, str], set[str]] = {}
    store = open_store(lake_root, settings)
    for row in _catalog_rows(store, start, end):
        if not row.get("raw_path") or not _belongs_to(row.get("dataset"), dataset_prefix, names):
            continue
        macro, period = row["macroprocesso"], row["periodicidade"].isoformat()
        key = (row["raw_path"], macro, period)
        datasets.setdefault(key, set()).add(row["dataset"])
        if row.get("outcome") not in _RECORDED_OUTCOMES:
            continue
        known = first_landing.get(key)
        if known is None or row["ingested_at"] < known["ingested_at"]:
            first_landing[key] = row
    skipped = set(datasets) - set(first_landing)
    if skipped:
        # Only "unchanged" landings: the same bytes came in under another name, and that
        # file's item carries the delivery that made them a version. Replaying this one with
        # its later delivery instant could make an old version current again.
        log.info("skipping %d raw file(s) that only re-delivered known bytes", len(skipped))
    # Landing oldest first replays history in the order it happened.
    ordered = sorted(
        first_landing.items(),
        key=lambda entry: (entry[1]["delivered_at"], entry[1]["ingested_at"], entry[0]),
    )
    return [
        _item(row, dataset_prefix, macro, period, sorted(datasets[(raw, macro, period)]))
        for (raw, macro, period), row in ordered
    ]


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _item(
    row: dict[str, Any], prefix: str, macro: str, period: str, datasets: list[str]
) -> dict[str, Any]:
    """A JSON-serialisable item (XCom): dates and instants as ISO strings."""
    final = row.get("periodicidade_final")
    return {
        "dataset": prefix,
        "datasets": datasets,
        "raw_path": row["raw_path"],
        "sha256": row["sha256"],
        "source_file": row["source_file"],
        "product": row.get("product"),
        "product_id": row.get("product_id"),
        "processo": row.get("processo"),
        "macroprocesso_slug": macro,
        "macroprocesso_label": row.get("macroprocesso_label"),
        "data_produto": row.get("data_produto"),
        "granularity": row.get("granularity"),
        "periodicidade": period,
        "periodicidade_final": final.isoformat() if final else period,
        "notification_id": row.get("notification_id"),
        "delivered_at": _iso(row["delivered_at"]),
        "ingested_at": _iso(row["ingested_at"]),
    }


def conf_from_item(item: dict[str, Any]) -> dict[str, Any]:
    """The run conf for a planned item, shaped like ``Notification.to_conf()``."""
    delivered = datetime.fromisoformat(item["delivered_at"])
    fields = {
        "notification_id": item["notification_id"],
        "nome": item["product"],
        "processo": item.get("processo"),
        "dataProduto": item.get("data_produto"),
        "macroProcesso": item["macroprocesso_label"],
        "periodicidade": f"{item['periodicidade']}T00:00:00",
        "periodicidadeFinal": f"{item['periodicidade_final']}T23:59:59",
        "url": None,
        "product_id": item.get("product_id"),
        "dataset": item["dataset"],
        "macroprocesso_slug": item["macroprocesso_slug"],
        "periodicidade_date": item["periodicidade"],
        "periodicidade_final_date": item["periodicidade_final"],
        "granularity": item.get("granularity") or "other",
        # The original delivery instant: land orders versions by it, so replaying an old file
        # cannot make it current over a newer delivery. nbf drops the microseconds of a manual
        # ingest; harmless, as the new row then sorts at or before the original row of the same
        # sha256, which stays in the catalog and keeps its place.
        "token_nbf": int(delivered.timestamp()),
        "token_exp": None,
        "token_url_claim": None,
        "token_is_file": None,
        "flags": [REPROCESS_FLAG],
        "reprocess_of": item["notification_id"],
    }
    return RunConf(**fields).to_conf()  # the one contract every conf goes through


def verified_download(lake_root: Path | str | LakeStore, item: dict[str, Any]) -> dict[str, Any]:
    """The download dict for an item's raw file, after checking it is the file catalogued.

    Raises:
        ReprocessError: The path leaves the raw zone, the file is gone, or its bytes changed.
    """
    store = open_store(lake_root)
    try:
        key = LakeStore.join(item["raw_path"])
    except LakeStoreError:
        key = ""
    inside = key.startswith("raw/")
    if inside and store.is_local:
        # A symlink inside raw/ must not lead out of it either.
        inside = store.local_path("raw").resolve() in store.local_path(key).resolve().parents
    if not inside:
        raise ReprocessError(f"{item['raw_path']} is not inside the raw zone")
    if not store.exists(key):
        raise ReprocessError(f"the raw file {item['raw_path']} is missing; it cannot be re-parsed")
    digest = hashlib.sha256()
    with store.open_input_stream(key) as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    if digest.hexdigest() != item["sha256"]:
        raise ReprocessError(
            f"the raw file {item['raw_path']} no longer matches its catalogued sha256"
        )
    return {
        "raw_path": key,
        "sha256": item["sha256"],
        "file_name": PurePosixPath(key).name,
        "size": store.size(key),
        "content_type": None,
    }


def reprocess_item(
    item: dict[str, Any],
    run_id: str,
    settings: Settings | None = None,
    *,
    force: bool = True,
) -> dict[str, Any]:
    """Parse one planned raw file again and land it with its original delivery instant.

    Args:
        item: One element of :func:`plan`.
        run_id: The run's id (lineage ``dag_run_id`` and the staging folder).
        settings: Where the lake is; read from the environment when omitted.
        force: Land even though this sha256 already landed, so a fixed parser's output
            replaces the old one (outcome ``reprocessed``).

    Returns:
        What land returned, plus ``raw_path``, ``periodicidade`` and ``forced``.

    Raises:
        ReprocessError: The raw file is missing or no longer matches the catalog.
        ReaderError: The (fixed) parser still cannot read the file.
    """
    settings = settings or load_settings()
    store = open_store(settings.lake_uri, settings)
    download = verified_download(store, item)
    conf = conf_from_item(item)
    # Through the catalog exactly like a webhook delivery: the product's own table specs,
    # layouts and dataset names (the generic readers would land it under other names).
    product = load_catalog().lookup(item.get("product_id"), item.get("product") or "")
    parsed = parse_step(
        download, run_id, settings, product_id=product.id if product is not None else None
    )
    forced = force
    try:
        result = land_step(parsed, download, conf, run_id, settings, force=forced)
    finally:
        # Parse and land run in one task here: nothing staged outlives it.
        store.delete_prefix(staging_prefix(run_id))
    log.info(
        "reprocessed %s (%s): %s",
        item["raw_path"],
        item["periodicidade"],
        ", ".join(f"{d['dataset']}={d['outcome']}" for d in result["datasets"]) or "raw only",
    )
    return {
        **result,
        "raw_path": item["raw_path"],
        "periodicidade": item["periodicidade"],
        "forced": forced,
    }


__all__ = [
    "ReprocessError",
    "conf_from_item",
    "plan",
    "reprocess_item",
    "verified_download",
]
