"""Collect every log file a stack wrote."""

from __future__ import annotations

from pathlib import Path


def collect_logs(*roots: Path) -> dict[str, str]:
    """Path → text of every file under ``roots`` (logs are small in tests)."""
    found: dict[str, str] = {}
    for root in roots:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_file():
                found[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    return found
