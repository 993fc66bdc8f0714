"""What the DAG tasks tell the forwarder through XCom (names shared by both sides)."""

from __future__ import annotations

__all__ = ["MISMATCH_XCOM_KEY", "PARSE_TASK_ID"]

#: The parse task pushes ``LayoutMismatch.details`` under this key before it fails.
MISMATCH_XCOM_KEY = "layout_mismatch"
PARSE_TASK_ID = "parse"
