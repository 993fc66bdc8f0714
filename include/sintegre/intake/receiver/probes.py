"""Probes for orchestrators and Prometheus: liveness, readiness, metrics (no auth)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from sintegre.intake.receiver.metrics import CONTENT_TYPE_LATEST, render_metrics
from sintegre.intake.receiver.state import airflow_reachable, state

__all__ = ["blueprint"]

blueprint = Blueprint("probes", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness: the process answers. Readiness (can it store?) is /readyz."""
    return jsonify({"status": "ok"}), 200


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready = able to store. Airflow's absence is reported, never a reason to be unready: the
    inbox exists precisely to hold notifications while Airflow is away."""
    shared = state()
    writable = shared.inbox.writable()
    body = {
        "status": "ready" if writable else "inbox unavailable",
        "inbox_writable": writable,
        "airflow_reachable": airflow_reachable(shared.settings),
        "backlog": shared.inbox.count("received") if writable else None,
    }
    return jsonify(body), 200 if writable else 503


@blueprint.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition, computed from the inbox (right across workers)."""
    shared = state()
    shared.refusals.flush()
    return Response(render_metrics(shared.inbox), content_type=CONTENT_TYPE_LATEST)
