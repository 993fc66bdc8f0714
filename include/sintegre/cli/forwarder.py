"""The forwarder service (``python -m sintegre.cli.forwarder``): inbox → Airflow, one at a time.

Wires :class:`sintegre.intake.forwarder.Forwarder` with the token rescue of the ingest layer
(a download into ``raw/`` before the token dies), which intake itself never imports.
"""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager
from typing import Any

from sintegre.intake import wakeup
from sintegre.intake.airflow_api import AirflowClient
from sintegre.intake.forwarder import (
    AdvisoryLock,
    Forwarder,
    postgres_advisory_lock,
    single_instance_lock,
)
from sintegre.intake.inbox import Inbox

log = logging.getLogger("sintegre.intake.forwarder")


def build_forwarder(settings: Any = None) -> Forwarder:
    """A forwarder wired from the settings: inbox, Airflow client and the token rescue."""
    from sintegre.core.settings import load_settings

    settings = settings or load_settings()
    inbox = Inbox(
        settings.inbox_url,
        synchronous=settings.inbox_synchronous,
        busy_timeout_ms=settings.inbox_busy_timeout_ms,
    )
    client = AirflowClient(
        settings.airflow_url, settings.airflow_user, settings.airflow_password.get_secret_value()
    )

    def rescue(conf: dict[str, Any]) -> str:
        # Through the lake's store: on S3 the copy goes to the bucket's raw/ zone (downloaded
        # aside, uploaded whole), where any Celery worker's download step finds it.
        from sintegre.ingest.pipeline import fetch_into_raw

        raw_path: str = fetch_into_raw(conf, settings, retries=1)["raw_path"]
        return raw_path

    return Forwarder(
        inbox,
        client,
        poll_seconds=settings.forwarder_poll_seconds,
        max_backoff_seconds=settings.forwarder_max_backoff_seconds,
        rescue_window_seconds=settings.token_rescue_window_seconds,
        rescue=rescue,
    )


def main() -> int:
    """Run the forwarder until SIGINT/SIGTERM; stand by while another one holds the lock."""
    import signal

    from sintegre.core.logs import configure_logging
    from sintegre.core.settings import load_settings

    settings = load_settings()
    configure_logging(fmt=settings.log_format)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    forwarder = build_forwarder(settings)
    waiting_logged = False
    while not stop.is_set():
        lock: AbstractContextManager[bool | AdvisoryLock]
        if forwarder.inbox.is_sqlite:
            lock = single_instance_lock(settings.state_dir / "forwarder.lock")
        else:
            lock = postgres_advisory_lock(forwarder.inbox)
        with lock as held:
            if held:
                check = held.still_held if isinstance(held, AdvisoryLock) else None
                # Only the lock holder listens: the receiver's signal wakes the forwarder
                # that triggers, not a standby.
                wake = wakeup.listen(forwarder.inbox.url)
                try:
                    if forwarder.run_forever(stop, still_held=check, wakeup=wake):
                        break
                finally:
                    wake.close()
                waiting_logged = False
                continue  # the lock was lost: stand by, and take it back when it is free
        # Standby: another forwarder feeds Airflow; take over the moment it goes away.
        if not waiting_logged:
            log.info("another forwarder feeds Airflow from this inbox; standing by")
            waiting_logged = True
        stop.wait(2.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
