"""``make demo``: publish the sample products through the simulator to a running ``make run``.

Start the system with ``SINTEGRE_DEMO=1 make run`` (the one setting that admits the local
simulator as a download source and trusts its CA), then run ``make demo`` in another terminal.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

from sintegre.core.settings import Settings, load_settings
from sintegre.intake.notification import BRASILIA

FINAL = {"succeeded", "unchanged", "failed", "layout_mismatch", "expired"}
SIMULATOR_PORT = 8443


def simulator_dir(settings: Settings) -> Path:
    """Where the simulator keeps its CA, files and delivery state (shared with ``make run``)."""
    return settings.state_dir / "simulator"


def ensure_simulator_ca(settings: Settings) -> Path:
    """Create (once) the simulator's CA and a bundle of the system CAs plus it.

    Returns:
        The bundle to give ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE``.
    """
    from sintegre_dev.simulator import SimulatorServer

    certs = simulator_dir(settings) / "certs"
    server = SimulatorServer(cert_dir=certs, reuse_ca=True).start()
    ca_path = server.ca_path
    server.stop()
    system = Path("/etc/ssl/certs/ca-certificates.crt")
    if not system.exists():
        import certifi

        system = Path(certifi.where())
    bundle = simulator_dir(settings) / "ca-bundle.pem"
    bundle.write_bytes(system.read_bytes() + b"\n" + ca_path.read_bytes())
    return bundle


def _admin_password(settings: Settings) -> str:
    if settings.admin_password:
        return settings.admin_password.get_secret_value()
    path = settings.state_dir / "secrets" / "receiver_admin_password"
    if not path.exists():
        raise SystemExit("no receiver admin password: start `SINTEGRE_DEMO=1 make run` first")
    return path.read_text().strip()


def _progress(views: dict[str, dict[str, Any]], total: int) -> str:
    counts: dict[str, int] = {}
    for view in views.values():
        counts[view.get("status", "?")] = counts.get(view.get("status", "?"), 0) + 1
    done = sum(n for s, n in counts.items() if s in FINAL)
    bar = "#" * int(20 * done / max(total, 1))
    parts = ", ".join(f"{s}: {n}" for s, n in sorted(counts.items()))
    return f"[{bar:<20}] {done}/{total} finished ({parts})"


def run(settings: Settings | None = None, *, timeout: float = 900.0) -> int:
    """Publish, send, follow, query; returns 0 when every run succeeded."""
    from sintegre.lake.views import connect
    from sintegre_dev.simulator import SimulatorServer
    from sintegre_dev.simulator.buttons import DeliveryState, send_all
    from sintegre_dev.simulator.samples import sample_products

    settings = settings or load_settings()
    base = f"http://127.0.0.1:{settings.receiver_port}"
    try:
        requests.get(f"{base}/healthz", timeout=3).raise_for_status()
    except requests.RequestException:
        print(f"the receiver does not answer at {base}: start `SINTEGRE_DEMO=1 make run` first")
        return 2
    admin = (settings.admin_user, _admin_password(settings))
    webhook = f"{base}/sintegre/default"
    day = datetime.now(BRASILIA).date()
    folder = simulator_dir(settings)
    samples = sample_products(folder / "files", day)
    print(f"publishing {len(samples)} sample products for {day} through the simulator…")
    with SimulatorServer(cert_dir=folder / "certs", reuse_ca=True, port=SIMULATOR_PORT) as server:
        deliveries = send_all(
            server,
            webhook,
            samples,
            state=DeliveryState(folder / "state.json"),
            auth=settings.webhook_auth,
            user=settings.webhook_user,
            password=_reveal(settings.webhook_password),
            token=_reveal(settings.webhook_token),
        )
        ids = {}
        for delivery in deliveries:
            print(f"  {delivery.summary()}")
            if delivery.status == 200 and delivery.receiver_id:
                ids[delivery.receiver_id] = delivery.nome
        deadline = time.monotonic() + timeout
        views: dict[str, dict[str, Any]] = {}
        last = ""
        while time.monotonic() < deadline:
            for notification_id in ids:
                views[notification_id] = requests.get(
                    f"{base}/api/notifications/{notification_id}", auth=admin, timeout=10
                ).json()
            line = _progress(views, len(ids))
            if line != last:
                print(line, flush=True)
                last = line
            if all(v.get("status") in FINAL for v in views.values()):
                break
            time.sleep(2)
    print()
    for view in views.values():
        error = f"  ({view['last_error']})" if view.get("last_error") else ""
        print(f"  {view['status']:>10}  {view['product']}  {view['dag_run_id']}{error}")
    with connect(settings.lake_uri) as con:
        print("\nthe lake (make lake):")
        con.sql(
            "SELECT name, partitions, current_rows, versions FROM datasets ORDER BY name"
        ).show()
        con.sql(
            "SELECT product, dataset, periodicidade, outcome, rows FROM catalog "
            "ORDER BY ingested_at DESC LIMIT 10"
        ).show()
    print(
        f"\nopen: Airflow UI {settings.airflow_url} · status page {base}/ "
        f"(user {settings.admin_user}) · `make lake` for SQL"
    )
    return 0 if all(v.get("status") in {"succeeded", "unchanged"} for v in views.values()) else 1


if __name__ == "__main__":
    sys.exit(run())


def _reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()
