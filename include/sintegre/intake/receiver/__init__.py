"""The webhook receiver: authenticate, validate, store durably, answer fast.

``create_app`` only wires: the shared state (settings, inbox, integrations, the refusal
buffer), per-request logging, the error handler, and the blueprints:

- :mod:`~sintegre.intake.receiver.webhook`: ``/sintegre/<integration>`` (SINtegre's POST, its GET
probe);
- :mod:`~sintegre.intake.receiver.probes`: ``/healthz``, ``/readyz``, ``/metrics``;
- :mod:`~sintegre.intake.receiver.admin`: the operators' API under ``/api`` (``@admin_required``);
- :mod:`~sintegre.intake.receiver.pages`: the status page and dataset pointers.

In front of Flask, :mod:`~sintegre.intake.receiver.fast_path` answers the successful POSTs
(the hot path) with the webhook's own functions, and hands everything else to Flask.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.sansio.response import Response as BaseResponse

from sintegre.core.redact import install_redaction
from sintegre.core.settings import Settings, load_settings
from sintegre.intake.inbox import Inbox
from sintegre.intake.receiver import admin, pages, probes, webhook
from sintegre.intake.receiver.fast_path import FastAccept
from sintegre.intake.receiver.integrations import Integration, load_integrations
from sintegre.intake.receiver.refusals import RefusalBuffer
from sintegre.intake.receiver.state import ReceiverState, error

__all__ = ["create_app"]

log = logging.getLogger("sintegre.intake.receiver")
#: Probes are polled every few seconds: their requests are not logged.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def create_app(
    settings: Settings | None = None,
    *,
    inbox: Inbox | None = None,
    integrations: dict[str, Integration] | None = None,
) -> Flask:
    """Build the receiver application (Flask app factory).

    Args:
        settings: The configuration; read from the environment when omitted.
        inbox: The inbox to store into; opened from ``settings.inbox_url`` when omitted.
        integrations: Name → integration; from the environment when omitted.

    Returns:
        The Flask app, with ``app.extensions["sintegre"]`` holding settings and inbox.
    """
    settings = settings or load_settings()
    inbox = inbox or Inbox(
        settings.inbox_url,
        synchronous=settings.inbox_synchronous,
        busy_timeout_ms=settings.inbox_busy_timeout_ms,
    )
    install_redaction()
    shared = ReceiverState(
        settings=settings,
        inbox=inbox,
        integrations=integrations or load_integrations(settings),
        refusals=RefusalBuffer(inbox),
    )

    app = Flask(__name__)
    # Werkzeug answers 413 before reading more than this; real notifications are < 2 KB.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["sintegre"] = shared.as_extension()
    app.before_request(_start_timer)
    app.after_request(_log_request)
    app.register_error_handler(HTTPException, _http_error)
    for module in (webhook, probes, admin, pages):
        app.register_blueprint(module.blueprint)
    # Accepted notifications skip Flask's request machinery (a third of their CPU); every
    # other request, refusals and errors included, still reaches Flask (see fast_path).
    app.wsgi_app = FastAccept(app, app.wsgi_app)  # type: ignore[method-assign]
    return app


def _start_timer() -> None:
    g.started = time.perf_counter()
    g.log_fields = {}


def _log_request(response: Response) -> Response:
    # One JSON line per request, with the ids an operator greps for (never the body).
    if request.path not in _QUIET_PATHS and not g.get("request_logged"):
        log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "event": "request",
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.get("started", 0)) * 1000, 2),
                "remote": request.remote_addr,
                **g.get("log_fields", {}),
            },
        )
    return response


def _http_error(exc: HTTPException) -> tuple[Response, int] | BaseResponse:
    status = exc.code or 500
    if exc.response is not None:  # abort(response): already the answer (the admin's 401)
        return exc.response
    if status == 413:
        from flask import current_app

        limit = current_app.extensions["sintegre"]["settings"].max_body_bytes
        integration = (request.view_args or {}).get("integration", "-")
        message = f"body larger than {limit} bytes"
        if request.method == "POST" and request.path.startswith("/sintegre/"):
            return webhook.refuse(str(integration), 413, "too_large", message, keep_body=False)
        return error(413, message)
    return error(status, exc.description or exc.name)
