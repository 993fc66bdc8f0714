"""The webhook receiver: authenticate, validate, store durably, answer fast.

Nothing slow happens in a request (no download, no Airflow call): the forwarder does that
from the inbox, so SINtegre's "Enviar Tudo" burst is answered at disk speed.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import logging
from typing import Any

from flask import Flask, Response, abort, jsonify, request
from werkzeug.exceptions import HTTPException

from sintegre.inbox import Inbox, InboxRefused, InboxUnavailable, public_view
from sintegre.notification import NotificationError, normalize
from sintegre.receiver.integrations import Integration, load_integrations
from sintegre.redact import install_redaction
from sintegre.settings import Settings, load_settings

log = logging.getLogger("sintegre.receiver")


def _error(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


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
    integrations = integrations or load_integrations(settings)
    install_redaction()

    app = Flask(__name__)
    # Werkzeug answers 413 before reading more than this; real notifications are < 2 KB.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["sintegre"] = {
        "settings": settings,
        "inbox": inbox,
        "integrations": integrations,
    }

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        if status == 413:
            return _error(413, f"body larger than {settings.max_body_bytes} bytes")
        return _error(status, exc.description or exc.name)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        if inbox.healthy():
            return jsonify({"status": "ok"}), 200
        return jsonify({"status": "inbox unavailable"}), 503

    @app.route("/sintegre/<integration>", methods=["GET", "HEAD"])
    def probe(integration: str) -> tuple[Response, int]:
        # SINtegre probes the webhook URL with GET when an integration is saved.
        if integration not in integrations:
            return _error(404, f"unknown integration {integration!r}")
        return jsonify({"status": "ok", "integration": integration}), 200

    @app.post("/sintegre/<integration>")
    def receive(integration: str) -> tuple[Response, int]:
        config = integrations.get(integration)
        if config is None:
            return _error(404, f"unknown integration {integration!r}")
        if not config.authenticate(request.headers.get("Authorization")):
            log.warning("refused a notification for %s: bad or missing credentials", integration)
            response, status = _error(401, "authentication required")
            if config.auth == "basic":
                response.headers["WWW-Authenticate"] = f'Basic realm="{config.realm}"'
            return response, status
        body = request.get_data(cache=False)
        try:
            notification = normalize(body, allowed_hosts=settings.allowed_download_hosts)
        except NotificationError as exc:
            log.warning("refused a notification for %s: %s", integration, exc)
            extra = {"field": exc.field} if exc.field else {}
            return _error(exc.status, str(exc), **extra)
        expected = config.expects(notification.product_id, notification.nome)
        if not expected:
            notification = dataclasses.replace(
                notification, flags=(*notification.flags, "unexpected_product")
            )
        try:
            stored = inbox.store(
                notification,
                integration=integration,
                body=body,
                dag_id=settings.dag_id,
                expected=expected,
            )
        except InboxRefused as exc:
            log.warning("refused notification %s at storage: %s", notification.id, exc)
            return _error(422, "a field holds a value the inbox cannot store")
        except InboxUnavailable as exc:
            log.error("could not store notification %s: %s", notification.id, exc)
            return _error(503, "the inbox cannot store right now; send again later")
        log.info(
            "notification %s (%s, %s, %s) for %s: %s",
            stored.id,
            notification.nome,
            notification.data_produto,
            notification.periodicidade.isoformat(),
            integration,
            stored.status,
        )
        return jsonify(
            {
                "id": stored.id,
                "status": stored.status,
                "dag_id": settings.dag_id,
                "dag_run_id": notification.dag_run_id(),
                "flags": list(notification.flags),
            }
        ), 200

    def require_admin() -> None:
        if not settings.admin_password:
            abort(403, "the inspection API is disabled: set SINTEGRE_ADMIN_PASSWORD")
        scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        ok = scheme.lower() == "basic" and hmac.compare_digest(
            user.encode(), settings.admin_user.encode()
        ) & hmac.compare_digest(password.encode(), settings.admin_password.encode())
        if not ok:
            response = jsonify({"error": "admin credentials required"})
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Basic realm="SINtegre receiver admin"'
            abort(response)

    @app.get("/api/notifications")
    def list_notifications() -> Response:
        require_admin()
        limit = min(max(request.args.get("limit", 100, type=int), 1), 1000)
        rows = inbox.list(limit=limit, status=request.args.get("status") or None)
        return jsonify(
            {"notifications": [public_view(r, airflow_url=settings.airflow_url) for r in rows]}
        )

    @app.get("/api/notifications/<notification_id>")
    def get_notification(notification_id: str) -> tuple[Response, int]:
        require_admin()
        row = inbox.get(notification_id)
        if row is None:
            return _error(404, f"no notification {notification_id!r}")
        return jsonify(public_view(row, airflow_url=settings.airflow_url)), 200

    return app
