#!/usr/bin/env bash
# One-shot job (docker-compose.yaml, airflow-init), run as root like the official file's:
# migrate Airflow's metadata database, write the admin's password for the simple auth
# manager from AIRFLOW_PASSWORD, and hand the shared volumes to the airflow user.
set -euo pipefail
: "${AIRFLOW_PASSWORD:?set AIRFLOW_PASSWORD in .env}"
: "${AIRFLOW__CORE__FERNET_KEY:?set AIRFLOW_FERNET_KEY in .env}"
: "${AIRFLOW__API_AUTH__JWT_SECRET:?set AIRFLOW_JWT_SECRET in .env}"
uid="${AIRFLOW_UID:-50000}"
mkdir -p /opt/airflow/logs /opt/airflow/config
python - <<'PY'
import json
import os

path = os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
user = os.environ.get("AIRFLOW_USER", "admin")
with open(path, "w", encoding="utf-8") as handle:
    json.dump({user: os.environ["AIRFLOW_PASSWORD"]}, handle)
os.chmod(path, 0o600)
PY
airflow db migrate
chown -R "${uid}:0" /opt/airflow/logs /opt/airflow/config
echo "airflow-init done"
