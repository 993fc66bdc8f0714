"""The operators' API: inspect notifications, replay them (HTTP Basic, CSRF-safe POSTs)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from sintegre.intake.inbox import public_view
from sintegre.intake.receiver.auth import admin_required
from sintegre.intake.receiver.state import error, state

__all__ = ["REPLAYABLE", "blueprint"]

log = logging.getLogger("sintegre.intake.receiver")
blueprint = Blueprint("admin", __name__, url_prefix="/api")

#: What "replay the failed ones" covers (a layout mismatch is replayed after a parser fix).
REPLAYABLE = {"failed": ("failed", "layout_mismatch", "expired"), "pending": ("received",)}


@blueprint.get("/notifications")
@admin_required
def list_notifications() -> Response:
    """Newest first; ``?status=`` and ``?limit=`` (1..1000)."""
    shared = state()
    limit = min(max(request.args.get("limit", 100, type=int), 1), 1000)
    rows = shared.inbox.list(limit=limit, status=request.args.get("status") or None)
    airflow = shared.settings.airflow_url
    return jsonify({"notifications": [public_view(r, airflow_url=airflow) for r in rows]})


@blueprint.get("/notifications/<notification_id>")
@admin_required
def get_notification(notification_id: str) -> tuple[Response, int]:
    """One notification: never its URL, token or body."""
    shared = state()
    row = shared.inbox.get(notification_id)
    if row is None:
        return error(404, f"no notification {notification_id!r}")
    return jsonify(public_view(row, airflow_url=shared.settings.airflow_url)), 200


@blueprint.post("/notifications/<notification_id>/replay")
@admin_required
def replay_one(notification_id: str) -> tuple[Response, int]:
    """SINtegre's "Reenviar": a finished notification gets a new run."""
    shared = state()
    try:
        shared.inbox.replay(notification_id)
    except KeyError:
        return error(404, f"no notification {notification_id!r}")
    except ValueError as exc:
        return error(409, str(exc))
    row = shared.inbox.get(notification_id)
    if row is None:  # deleted between the replay and this read
        return error(404, f"no notification {notification_id!r}")
    log.info(
        "replay of %s requested",
        notification_id,
        extra={
            "event": "replay",
            "notification_id": notification_id,
            "dag_run_id": row["dag_run_id"],
        },
    )
    return jsonify(public_view(row, airflow_url=shared.settings.airflow_url)), 200


@blueprint.post("/replay")
@admin_required
def replay_many() -> tuple[Response, int]:
    """Replay every failed (``?status=failed``, default) or pending notification."""
    statuses = REPLAYABLE.get(request.args.get("status", "failed"))
    if statuses is None:
        return error(400, "status must be 'failed' or 'pending'")
    inbox = state().inbox
    replayed = []
    for notification_id in inbox.ids_in(statuses):
        try:
            inbox.replay(notification_id)
            replayed.append(notification_id)
        except (KeyError, ValueError):
            continue
    return jsonify({"replayed": replayed}), 200
