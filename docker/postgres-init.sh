#!/usr/bin/env bash
# PostgreSQL's first start only (docker-entrypoint-initdb.d): the receiver's inbox gets its own
# database and user, apart from Airflow's metadata database.
set -euo pipefail
: "${SINTEGRE_INBOX_DB_PASSWORD:?set SINTEGRE_INBOX_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v inbox_password="$SINTEGRE_INBOX_DB_PASSWORD" <<'SQL'
CREATE USER sintegre WITH PASSWORD :'inbox_password';
CREATE DATABASE sintegre_inbox OWNER sintegre;
SQL
