"""The PostgreSQL server the tests may use: 127.0.0.1:5432, trust auth, user ``postgres``."""

from __future__ import annotations

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pg_unreachable() -> str | None:
    """Why PostgreSQL at 127.0.0.1:5432 cannot be used here, or None when it answers."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return f"PostgreSQL at 127.0.0.1:5432 is not reachable: {str(exc).strip()[:200]}"


def pg_reachable() -> bool:
    """Whether PostgreSQL at 127.0.0.1:5432 answers."""
    return pg_unreachable() is None
