#!/usr/bin/env bash
# STAND-IN for the official apache/airflow image's /entrypoint (docker/standins/build.sh),
# covering what docker-compose.yaml relies on:
#   - an arbitrary UID gets a passwd entry and HOME=/home/airflow;
#   - unless CONNECTION_CHECK_MAX_COUNT=0, waits for the metadata database (`airflow db check`)
#     and, for `scheduler` and `celery`, for the Celery broker;
#   - _AIRFLOW_DB_MIGRATE / _AIRFLOW_DB_UPGRADE run `airflow db migrate` first;
#   - `bash ...` and `python ...` run as they are; a leading `airflow` is dropped; anything
#     else is handed to `airflow` (e.g. `api-server`, `celery worker`).
# Not covered (the compose file does not use them): _AIRFLOW_WWW_USER_CREATE (FAB is not
# installed; the stand-in refuses it loudly), _PIP_ADDITIONAL_REQUIREMENTS.
set -euo pipefail

AIRFLOW_COMMAND="${1:-}"
: "${CONNECTION_CHECK_MAX_COUNT:=20}"
: "${CONNECTION_CHECK_SLEEP_TIME:=3}"
umask 0002

if ! whoami >/dev/null 2>&1; then
  if [ -w /etc/passwd ]; then
    echo "${USER_NAME:-default}:x:$(id -u):0:${USER_NAME:-default} user:${AIRFLOW_USER_HOME_DIR}:/sbin/nologin" >>/etc/passwd
  fi
  export HOME="${AIRFLOW_USER_HOME_DIR}"
fi

run_check_with_retries() {
  local cmd=$1 countdown=$CONNECTION_CHECK_MAX_COUNT last=0
  while true; do
    set +e
    out=$(eval "$cmd" 2>&1)
    last=$?
    set -e
    [ "$last" = 0 ] && return 0
    countdown=$((countdown - 1))
    if [ "$countdown" -le 0 ]; then
      echo "ERROR! Maximum number of retries ($CONNECTION_CHECK_MAX_COUNT) reached." >&2
      echo "Last check result: $ $cmd" >&2
      echo "$out" >&2
      exit 1
    fi
    echo "Waiting for: $cmd ($countdown tries left)" >&2
    sleep "$CONNECTION_CHECK_SLEEP_TIME"
  done
}

wait_for_celery_broker() {
  local url=${AIRFLOW__CELERY__BROKER_URL:-}
  [ -n "$url" ] || return 0
  local rest=${url#*://}
  rest=${rest#*@}
  rest=${rest%%/*}
  local host=${rest%%:*} port=6379
  [ "$rest" != "$host" ] && port=${rest##*:}
  run_check_with_retries "exec 3<>/dev/tcp/$host/$port"
}

if [ "$CONNECTION_CHECK_MAX_COUNT" -gt 0 ]; then
  run_check_with_retries "airflow db check"
fi
if [ -n "${_AIRFLOW_DB_UPGRADE:-}" ] || [ -n "${_AIRFLOW_DB_MIGRATE:-}" ]; then
  airflow db migrate
fi
if [ -n "${_AIRFLOW_WWW_USER_CREATE:-}" ]; then
  echo "_AIRFLOW_WWW_USER_CREATE is not supported by this stand-in image (no FAB auth manager)" >&2
  exit 1
fi

case "$AIRFLOW_COMMAND" in
  bash)
    shift
    exec /bin/bash "$@"
    ;;
  python)
    shift
    exec python "$@"
    ;;
  airflow)
    AIRFLOW_COMMAND="${2:-}"
    shift
    ;;
esac

if [[ $AIRFLOW_COMMAND =~ ^(scheduler|celery)$ ]] && [ "$CONNECTION_CHECK_MAX_COUNT" -gt 0 ]; then
  wait_for_celery_broker
fi
exec airflow "$@"
