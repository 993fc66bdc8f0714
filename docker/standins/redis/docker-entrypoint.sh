#!/bin/sh
# STAND-IN for the official redis image's entrypoint: redis-server runs as the redis user,
# in /data, listening on every interface without protected mode (no config file given).
set -eu
if [ "${1:-}" = redis-server ]; then
  shift
  set -- redis-server --bind "0.0.0.0" --protected-mode no --dir /data "$@"
  if [ "$(id -u)" = 0 ]; then
    chown redis:redis /data 2>/dev/null || true
    exec gosu redis "$@"
  fi
fi
exec "$@"
