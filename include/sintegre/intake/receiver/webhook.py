"""SINtegre's webhook: ``POST /sintegre/<integration>`` (and the ``GET`` probe).

Authenticate (per integration), validate and normalise, route by the catalog, store in the
inbox, answer. Nothing slow happens here (no download, no Airflow call): the forwarder does that
from the inbox, so SINtegre's "Enviar Tudo" burst is answered at disk speed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from sintegre.core.logs import info_json
from sintegre.core.redact import redact
from sintegre.core.settings import Settings
from sintegre.intake.inbox import Inbox, InboxRefused, InboxUnavailable, StoreResult
from sintegre.intake.notification import Notification, NotificationError, normalize
from sintegre.intake.receiver.integrations import Integration
from sintegre.intake.receiver.refusals import PendingRefusal
from sintegre.intake.receiver.state import error, state
from sintegre.intake.routing import route

__all__ = [
    "STORE_OUTCOME",
    "Prepared",
    "answer",
    "blueprint",
    "log_accepted",
    "prepare",
    "refuse",
    "store",
]

log = logging.getLogger("sintegre.intake.receiver")
blueprint = Blueprint("webhook", __name__)
#: WSGI environ key: the outcome of a store the fast path already tried (a ``StoreResult`` or
#: the exception it raised), for ``_accept`` to answer instead of storing again.
STORE_OUTCOME = "sintegre.fast_path.store_outcome"


def refuse(
    integration: str,
    status: int,
    reason: str,
    message: str,
    *,
    keep_body: bool = True,
    **extra: Any,
) -> tuple[Response, int]:
    """Answer a 4xx and keep a redacted trace of it for the status page and metrics."""
    excerpt = None
    if keep_body:
        body = request.get_data(cache=True)[:1000]
        excerpt = redact(body.decode("utf-8", "replace"))
    # Buffered: a flood of 401s must not take the inbox's write lock from valid stores.
    state().refusals.add(
        PendingRefusal(
            integration=integration,
            status=status,
            reason=reason,
            message=message,
            excerpt=excerpt,
            received_at=time.time(),
        )
    )
    g.log_fields = {"refused": reason}
    return error(status, message, **extra)


@blueprint.route("/sintegre/<integration>", methods=["GET", "HEAD"])
def probe(integration: str) -> tuple[Response, int]:
    """SINtegre probes the webhook URL with GET when an integration is saved."""
    if integration not in state().integrations:
        return error(404, f"unknown integration {integration!r}")
    return jsonify({"status": "ok", "integration": integration}), 200


@blueprint.post("/sintegre/<integration>")
def receive(integration: str) -> tuple[Response, int]:
    """Store one notification; never a 5xx for bad input, never a 500 at all."""
    try:
        return _accept(integration)
    except HTTPException:
        raise  # 413 and friends: answered by the error handler as they are
    except Exception:
        # A bug or a fault nobody foresaw: never a 500 that SINtegre reads as final. 503
        # asks it to send again; the failure is counted and logged (redacted) for us.
        log.exception("unexpected error while receiving a notification for %s", integration)
        with contextlib.suppress(Exception):
            state().inbox.count_event("internal_error")
        return error(503, "the notification could not be handled right now; send again")


def _accept(integration: str) -> tuple[Response, int]:
    shared = state()
    settings, inbox = shared.settings, shared.inbox
    config = shared.integrations.get(integration)
    if config is None:
        return refuse(
            integration,
            404,
            "unknown_integration",
            f"unknown integration {integration!r}",
            keep_body=False,
        )
    if not config.authenticate(request.headers.get("Authorization")):
        log.warning("refused a notification for %s: bad or missing credentials", integration)
        response, status = refuse(
            integration, 401, "unauthorized", "authentication required", keep_body=False
        )
        if config.auth == "basic":
            response.headers["WWW-Authenticate"] = f'Basic realm="{config.realm}"'
        return response, status
    body = request.get_data(cache=True)
    try:
        prepared = prepare(body, config, settings)
    except NotificationError as exc:
        log.warning("refused a notification for %s: %s", integration, exc)
        extra: dict[str, Any] = {"field": exc.field} if exc.field else {}
        reason = f"invalid_{exc.field}" if exc.field else "unreadable_body"
        return refuse(integration, exc.status, reason, str(exc), **extra)
    notification = prepared.notification
    # The fast path (fast_path.py) hands over a request whose store it already tried: its
    # outcome is answered here, the notification is never stored (nor counted) twice.
    outcome = request.environ.pop(STORE_OUTCOME, None)
    try:
        if isinstance(outcome, BaseException):
            raise outcome
        stored = (
            outcome
            if isinstance(outcome, StoreResult)
            else store(inbox, integration, body, prepared)
        )
    except InboxRefused as exc:
        log.warning("refused notification %s at storage: %s", notification.id, exc)
        return refuse(
            integration, 422, "unstorable", "a field holds a value the inbox cannot store"
        )
    except InboxUnavailable as exc:
        log.error("could not store notification %s: %s", notification.id, exc)
        return error(503, "the inbox cannot store right now; send again later")
    # The one log line of an accepted notification (it carries the request's fields too, so
    # the after-request hook does not write a second one on the hot path).
    g.log_fields = log_accepted(
        stored,
        prepared,
        integration,
        path=request.path,
        remote=request.remote_addr,
        started=g.get("started", 0),
    )
    g.request_logged = True
    return jsonify(answer(stored, prepared)), 200


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A valid notification, routed, ready to store (what both accept paths derive).

    Attributes:
        notification: Normalised, with its lake dataset and flags set.
        dag_id: The DAG the forwarder will trigger.
        expected: Whether the integration lists the product (no list: always).
    """

    notification: Notification
    dag_id: str
    expected: bool


def prepare(body: bytes, config: Integration, settings: Settings) -> Prepared:
    """Validate, normalise and route a body for ``config`` (shared with the fast path).

    Raises:
        NotificationError: The body is not a notification we accept (the 4xx to answer).
    """
    notification = normalize(body, allowed_hosts=settings.allowed_download_hosts)
    routed = route(notification, settings.dag_id)
    notification = routed.notification
    expected = config.expects(notification.product_id, notification.nome)
    if not expected:
        notification = notification.with_changes(flags=(*notification.flags, "unexpected_product"))
    return Prepared(notification, routed.dag_id, expected)


def store(inbox: Inbox, integration: str, body: bytes, prepared: Prepared) -> StoreResult:
    """Store durably: returns only after the commit (raises ``InboxRefused``/``Unavailable``)."""
    return inbox.store(
        prepared.notification,
        integration=integration,
        body=body,
        dag_id=prepared.dag_id,
        expected=prepared.expected,
    )


def log_accepted(
    stored: StoreResult,
    prepared: Prepared,
    integration: str,
    *,
    path: str,
    remote: str | None,
    started: float,
) -> dict[str, Any]:
    """Write the one log line of an accepted notification (it carries the request's fields).

    Returns:
        The notification's own log fields (the Flask path keeps them in ``g.log_fields``).
    """
    notification = prepared.notification
    fields = {
        "notification_id": stored.id,
        "dag_run_id": notification.dag_run_id(),
        "integration": integration,
        "outcome": stored.status,
    }
    info_json(
        log,
        f"notification {stored.id} ({notification.nome}, {notification.data_produto}, "
        f"{notification.periodicidade.isoformat()}) for {integration}: {stored.status}",
        {
            "event": "notification",
            "method": "POST",
            "path": path,
            "status": 200,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "remote": remote,
            **fields,
        },
    )
    return fields


def answer(stored: StoreResult, prepared: Prepared) -> dict[str, Any]:
    """The 200 answer's JSON object."""
    notification = prepared.notification
    return {
        "id": stored.id,
        "status": stored.status,
        "dag_id": prepared.dag_id,
        "dag_run_id": notification.dag_run_id(),
        "flags": list(notification.flags),
    }
