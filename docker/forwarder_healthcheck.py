"""The forwarder container's health check: its inbox answers and Airflow's API answers.

The forwarder has no HTTP port; what it needs to work is exactly these two. A standby replica
(another one holds the PostgreSQL advisory lock) is healthy too: it takes over at once.
"""

from __future__ import annotations

import sys

import requests
import sqlalchemy as sa

from sintegre.core.settings import load_settings


def main() -> int:
    """Exit 0 when the inbox and Airflow's API both answer, 1 (with the reason) otherwise."""
    settings = load_settings()
    try:
        engine = sa.create_engine(settings.inbox_url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except sa.exc.SQLAlchemyError as exc:
        print(f"inbox unavailable: {type(exc).__name__}", file=sys.stderr)
        return 1
    try:
        response = requests.get(f"{settings.airflow_url}/api/v2/monitor/health", timeout=5)
        response.raise_for_status()
    except requests.RequestException as exc:
        print(f"Airflow API unavailable: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
