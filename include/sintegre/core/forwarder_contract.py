"""What the ingestion task tells the forwarder through XCom (names shared by both sides)."""

from __future__ import annotations

__all__ = ["INGEST_TASK_ID", "MISMATCH_XCOM_KEY"]

#: The ingestion DAGs' one task (download → parse → land). Its return value is
#: ``{"download": {...raw_path, sha256...}, "land": {...datasets, unchanged...}, "steps": {...}}``.
INGEST_TASK_ID = "ingest"
#: The task pushes ``LayoutMismatch.details`` under this key before it fails.
MISMATCH_XCOM_KEY = "layout_mismatch"
