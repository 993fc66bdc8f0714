"""Waiting for notifications to finish, as the receiver's ``/api/notifications/<id>`` shows them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

FINAL_STATUSES = frozenset({"succeeded", "unchanged", "failed", "expired"})
"""The statuses a delivered notification ends in (nothing moves it on afterwards)."""


def wait_final(
    fetch: Callable[[str], dict[str, Any]],
    ids: Sequence[str],
    *,
    timeout: float,
    interval: float = 1.0,
    context: Callable[[], object] | None = None,
) -> list[dict[str, Any]]:
    """Poll until every notification is in one of :data:`FINAL_STATUSES`.

    A notification already final is not fetched again.

    Args:
        fetch: The receiver's view of one notification, by id (a dict with ``status``).
        ids: The notifications to wait for.
        timeout: Seconds before giving up.
        interval: Seconds between rounds.
        context: Called on timeout; what it returns joins the error (logs, say).

    Returns:
        The final views, in the order of ``ids``.

    Raises:
        AssertionError: Some notification is not final after ``timeout`` seconds; the
            message lists them with their status.
    """
    deadline = time.monotonic() + timeout
    views: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        for notification_id in ids:
            if views.get(notification_id, {}).get("status") not in FINAL_STATUSES:
                views[notification_id] = fetch(notification_id)
        if all(view["status"] in FINAL_STATUSES for view in views.values()):
            return [views[i] for i in ids]
        time.sleep(interval)
    stuck = {i: v["status"] for i, v in views.items() if v["status"] not in FINAL_STATUSES}
    message = f"not finished after {timeout:.0f}s: {stuck}"
    if context is None:
        raise AssertionError(message)
    raise AssertionError(message, context())
