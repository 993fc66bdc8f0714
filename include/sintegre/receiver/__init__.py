"""The webhook receiver: authenticate, validate, store durably, answer fast.

Nothing slow happens in a request (no download, no Airflow call): the forwarder does that
from the inbox, so SINtegre's "Enviar Tudo" burst is answered at disk speed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hmac
import logging
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask, Response, abort, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from sintegre.inbox import Inbox, InboxRefused, InboxUnavailable, public_view
from sintegre.notification import BRASILIA, NotificationError, normalize
from sintegre.receiver.integrations import Integration, load_integrations
from sintegre.receiver.metrics import render_metrics
from sintegre.receiver.refusals import PendingRefusal, RefusalBuffer
from sintegre.redact import install_redaction, redact
from sintegre.routing import route
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
    refusal_log = RefusalBuffer(inbox)
    app.extensions["sintegre"] = {
        "settings": settings,
        "inbox": inbox,
        "integrations": integrations,
        "refusals": refusal_log,
    }

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
        refusal_log.add(
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
        return _error(status, message, **extra)

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()
        g.log_fields = {}

    @app.after_request
    def log_request(response: Response) -> Response:
        # One JSON line per request, with the ids an operator greps for (never the body).
        if request.path not in {"/healthz", "/readyz", "/metrics"}:
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

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        if status == 413:
            integration = (request.view_args or {}).get("integration", "-")
            message = f"body larger than {settings.max_body_bytes} bytes"
            if request.method == "POST" and request.path.startswith("/sintegre/"):
                return refuse(str(integration), 413, "too_large", message, keep_body=False)
            return _error(413, message)
        return _error(status, exc.description or exc.name)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        # Liveness: the process answers. Readiness (can it store?) is /readyz.
        return jsonify({"status": "ok"}), 200

    def airflow_reachable() -> bool:
        try:
            return requests.get(f"{settings.airflow_url}/api/v2/monitor/health", timeout=1).ok
        except requests.RequestException:
            return False

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        # Ready = able to store. Airflow's absence is reported, never a reason to be unready:
        # the inbox exists precisely to hold notifications while Airflow is away.
        writable = inbox.writable()
        body = {
            "status": "ready" if writable else "inbox unavailable",
            "inbox_writable": writable,
            "airflow_reachable": airflow_reachable(),
            "backlog": inbox.count("received") if writable else None,
        }
        return jsonify(body), 200 if writable else 503

    @app.get("/metrics")
    def metrics() -> Response:
        refusal_log.flush()
        return Response(render_metrics(inbox), mimetype="text/plain; version=0.0.4")

    @app.route("/sintegre/<integration>", methods=["GET", "HEAD"])
    def probe(integration: str) -> tuple[Response, int]:
        # SINtegre probes the webhook URL with GET when an integration is saved.
        if integration not in integrations:
            return _error(404, f"unknown integration {integration!r}")
        return jsonify({"status": "ok", "integration": integration}), 200

    @app.post("/sintegre/<integration>")
    def receive(integration: str) -> tuple[Response, int]:
        try:
            return accept(integration)
        except HTTPException:
            raise  # 413 and friends: answered by the error handler as they are
        except Exception:
            # A bug or a fault nobody foresaw: never a 500 that SINtegre reads as final. 503
            # asks it to send again; the failure is counted and logged (redacted) for us.
            log.exception("unexpected error while receiving a notification for %s", integration)
            with contextlib.suppress(Exception):
                inbox.count_event("internal_error")
            return _error(503, "the notification could not be handled right now; send again")

    def accept(integration: str) -> tuple[Response, int]:
        config = integrations.get(integration)
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
            notification = normalize(body, allowed_hosts=settings.allowed_download_hosts)
        except NotificationError as exc:
            log.warning("refused a notification for %s: %s", integration, exc)
            extra = {"field": exc.field} if exc.field else {}
            reason = f"invalid_{exc.field}" if exc.field else "unreadable_body"
            return refuse(integration, exc.status, reason, str(exc), **extra)
        routed = route(notification, settings.dag_id)
        notification = routed.notification
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
                dag_id=routed.dag_id,
                expected=expected,
            )
        except InboxRefused as exc:
            log.warning("refused notification %s at storage: %s", notification.id, exc)
            return refuse(
                integration, 422, "unstorable", "a field holds a value the inbox cannot store"
            )
        except InboxUnavailable as exc:
            log.error("could not store notification %s: %s", notification.id, exc)
            return _error(503, "the inbox cannot store right now; send again later")
        g.log_fields = {
            "notification_id": stored.id,
            "dag_run_id": notification.dag_run_id(),
            "integration": integration,
            "outcome": stored.status,
        }
        log.info(
            "notification %s (%s, %s, %s) for %s: %s",
            stored.id,
            notification.nome,
            notification.data_produto,
            notification.periodicidade.isoformat(),
            integration,
            stored.status,
            extra={"event": "notification", **g.log_fields},
        )
        return jsonify(
            {
                "id": stored.id,
                "status": stored.status,
                "dag_id": routed.dag_id,
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
        refuse_cross_site()

    def refuse_cross_site() -> None:
        """CSRF: a browser caches Basic credentials, so a page on another site could make an
        operator's browser POST a replay here. Browsers say where a request comes from
        (``Sec-Fetch-Site``, ``Origin``); state-changing admin requests must come from this
        site or from no site at all (curl, scripts, the CLI send neither header)."""
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            abort(403, f"cross-site request refused (Sec-Fetch-Site: {site})")
        origin = request.headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin)
            if origin == "null" or parts.netloc.lower() != request.host.lower():
                abort(403, "cross-site request refused (Origin is another site)")

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

    @app.post("/api/notifications/<notification_id>/replay")
    def replay_one(notification_id: str) -> tuple[Response, int]:
        require_admin()
        try:
            inbox.replay(notification_id)
        except KeyError:
            return _error(404, f"no notification {notification_id!r}")
        except ValueError as exc:
            return _error(409, str(exc))
        row = inbox.get(notification_id)
        log.info(
            "replay of %s requested",
            notification_id,
            extra={
                "event": "replay",
                "notification_id": notification_id,
                "dag_run_id": row["dag_run_id"] if row else None,
            },
        )
        return jsonify(public_view(row, airflow_url=settings.airflow_url)), 200

    @app.post("/api/replay")
    def replay_many() -> tuple[Response, int]:
        require_admin()
        which = request.args.get("status", "failed")
        failed = ("failed", "layout_mismatch", "expired")
        statuses = {"failed": failed, "pending": ("received",)}.get(which)
        if statuses is None:
            return _error(400, "status must be 'failed' or 'pending'")
        replayed = []
        for notification_id in inbox.ids_in(statuses):
            try:
                inbox.replay(notification_id)
                replayed.append(notification_id)
            except (KeyError, ValueError):
                continue
        return jsonify({"replayed": replayed}), 200

    def _local(epoch: float | None) -> str:
        if not epoch:
            return "—"
        return datetime.fromtimestamp(epoch, tz=BRASILIA).strftime("%Y-%m-%d %H:%M:%S")

    @app.get("/")
    def status_page() -> str:
        require_admin()
        from sintegre.freshness import check_inbox

        expected_ids = {i for c in integrations.values() for i in c.expected_product_ids}
        late = check_inbox(inbox, expected_ids=expected_ids)
        late_ids = {item.product_id for item in late}
        from sintegre.products import load_catalog

        catalog = load_catalog()
        products: dict[str, list[dict[str, Any]]] = {}
        for row in inbox.latest_per_product():
            view = public_view(row, airflow_url=settings.airflow_url)
            product = catalog.lookup(row["product_id"], row["product"])
            view["late"] = product is not None and product.id in late_ids
            view["arrived"] = _local(row["received_at"])
            view["alert"] = (
                view["status"] in {"failed", "layout_mismatch", "expired"}
                or view["late"]
                or not view["expected"]
                or bool(view["schema_drift"])
                or bool(view["implausible"])
            )
            products.setdefault(row["integration"], []).append(view)
        refusal_log.flush()
        refusals = [{**r, "when": _local(r["received_at"])} for r in inbox.recent_refusals(50)]
        oldest = inbox.oldest_pending_received_at()
        return render_template(
            "status.html",
            counts=inbox.status_counts(),
            backlog=inbox.count("received"),
            oldest_pending=f"{time.time() - oldest:.0f} s" if oldest else "none",
            airflow="reachable" if airflow_reachable() else "unreachable",
            now=_local(time.time()),
            late=late,
            products=products,
            refusals=refusals,
        )

    @app.get("/lake/<dataset>")
    def dataset_page(dataset: str) -> tuple[Response, int]:
        require_admin()
        from sintegre.storage import open_store  # pyarrow: only when the page is asked for

        # The lake may be local or on S3: list through the store, name files by their key.
        store = open_store(settings.lake_uri, settings)
        files = [
            key
            for key in store.list("curated", ".parquet")
            if key.split("/")[1].startswith(dataset)
        ]
        root = store.uri_for("curated")
        query = (
            f"SELECT * FROM read_parquet('{root}/{dataset}/**/*.parquet', hive_partitioning=true)"
        )
        return jsonify({"dataset": dataset, "files": files, "duckdb": query}), 200

    return app
