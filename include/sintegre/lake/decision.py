"""The version decision: is a delivery's table new, unchanged, older or a revert?

Content decides: a sha256 already landed for a dataset and partition rewrites nothing
(``unchanged``); a new sha256 becomes current only when its delivery (the token's ``nbf``) is
newer than the current one's; an older delivery re-run late goes to ``history/`` only.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sintegre.lake import delta_catalog as catalog_delta
from sintegre.lake.layout import current_file_version
from sintegre.lake.storage import LakeStore

if TYPE_CHECKING:
    from deltalake import DeltaTable

#: Catalog outcomes that put a version in history (candidates for "current").
#: ``reverted``: content seen before (its history file exists) that a newer delivery sends
#: again: the catalog row points at the existing version, which becomes current again.
VERSION_OUTCOMES = ("new", "older", "reprocessed", "reverted")
#: Outcomes that make a new current version (the land task announces them as Asset events).
CHANGING_OUTCOMES = ("new", "reprocessed", "reverted")


#: Columns the version decision reads from the catalog.
DECISION_COLUMNS = [
    "ingestion_id",
    "dataset",
    "sha256",
    "version",
    "outcome",
    "delivered_at",
    "ingested_at",
]


def partition_versions(
    store: LakeStore,
    macro: str,
    period: str,
    datasets: list[str] | None = None,
    *,
    loaded: DeltaTable | None = None,
) -> list[dict[str, Any]]:
    """Every committed version in one partition (of ``datasets``, or all), from the catalog.

    Only the (macroprocesso, month) partition of the Delta table is read, filtered to this
    ``periodicidade``: the cost is bounded by one month's deliveries, not by the lake's age.
    ``loaded``: the catalog table, when the caller has it loaded (else the log's tail is read).
    """
    rows = catalog_delta.partition_rows(
        store, macro, period, DECISION_COLUMNS, datasets, loaded=loaded
    )
    if rows is None:
        # No catalog table yet: a new lake, or one whose old catalog files need migrating.
        catalog_delta.check_not_legacy(store)
        return []
    return [r for r in rows if r["outcome"] in VERSION_OUTCOMES]


def current_version(versions: list[dict[str, Any]], dataset: str) -> dict[str, Any] | None:
    """The current version of a dataset partition: the newest delivery (then the latest landing)."""
    mine = [v for v in versions if v["dataset"] == dataset]
    # On a full tie (same delivery, same landing instant) the greatest ingestion_id wins,
    # the same rule as the views' (row order is not kept by a table format).
    return (
        max(mine, key=lambda v: (v["delivered_at"], v["ingested_at"], v["ingestion_id"] or ""))
        if mine
        else None
    )


def decide(
    versions: list[dict[str, Any]],
    dataset: str,
    sha: str,
    delivered: datetime,
    store: LakeStore,
    curated: str,
) -> str:
    """``unchanged`` (already landed), ``new`` (becomes current), ``older`` (history only) or
    ``reverted`` (content seen before, sent again by the newest delivery: current again)."""
    current = current_version(versions, dataset)
    if any(v["dataset"] == dataset and v["sha256"] == sha for v in versions):
        if current is not None and current["sha256"] != sha and delivered > current["delivered_at"]:
            # A, then B, then A again: the newest delivery's content is current, whatever was
            # seen before. Its history file is already there; it is not rewritten.
            return "reverted"
        # Committed but the writer died before curated/: this retry finishes the job (and
        # announces it, which the dead run could not).
        if (
            current is not None  # a repair
            and current["sha256"] == sha
            and current_file_version(curated, store) != current["version"]
        ):
            return "new"
        return "unchanged"
    if current is not None and current["delivered_at"] > delivered:
        return "older"
    return "new"
