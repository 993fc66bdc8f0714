#!/usr/bin/env bash
# Makes a Docker engine and `docker compose` available on this machine, for the container test
# (tests/container/) and for running the production shape by hand. Idempotent; as root.
#
#   - dockerd: Debian's docker.io package, when no dockerd is installed;
#   - `docker compose` (v2): Debian's docker-compose package (trixie's 2.x: bookworm only has the
#     Python 1.29, which cannot read the compose spec's top-level `name:`), unpacked as a CLI
#     plugin when the docker CLI has none;
#   - starts dockerd when it is not answering, with overlay2 and address pools in
#     198.18.0.0/15 only (the benchmarking range): the default bridge is 198.18.0.1/24 and
#     every network compose creates gets a /24 out of 198.19.0.0/16. Never 10/8, 172.16/12 or
#     192.168/16.
set -euo pipefail

STATE=${SINTEGRE_DOCKER_STATE:-/var/lib/sintegre-docker}
LOG=${DOCKERD_LOG:-/var/log/sintegre-dockerd.log}
BIP=198.18.0.1/24
POOL=base=198.19.0.0/16,size=24
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins

say() { echo "dockerd.sh: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  if docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    exit 0
  fi
  say "not root: cannot install or start dockerd"
  exit 1
fi

apt_install() {
  apt-get install -y -q "$@" >>/tmp/sintegre-apt.log 2>&1 \
    || { apt-get update -q >>/tmp/sintegre-apt.log 2>&1 && apt-get install -y -q "$@" >>/tmp/sintegre-apt.log 2>&1; }
}

if ! command -v dockerd >/dev/null 2>&1; then
  say "installing docker.io (Debian)"
  apt_install docker.io
fi
if ! command -v docker >/dev/null 2>&1; then
  apt_install docker.io
fi

if ! docker compose version >/dev/null 2>&1; then
  # Debian's compose v2 package lives in trixie; it is one static Go binary (libc only).
  say "installing the docker compose v2 plugin (Debian trixie's docker-compose package)"
  work=$(mktemp -d)
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb http://deb.debian.org/debian trixie main" >"$work/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -q >>/tmp/sintegre-apt.log 2>&1
  (cd "$work" && apt-get "${apt_opts[@]}" download docker-compose >>/tmp/sintegre-apt.log 2>&1)
  dpkg -x "$work"/docker-compose_*.deb "$work/x"
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN_DIR/docker-compose"
  rm -rf "$work"
  docker compose version >&2
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

mkdir -p "$STATE"
say "starting dockerd (overlay2, bip $BIP, pool $POOL), log in $LOG"
# setsid + nohup: the daemon outlives this script (and the CI step that ran it).
setsid nohup dockerd \
  --data-root "$STATE" \
  --storage-driver overlay2 \
  --bip "$BIP" \
  --default-address-pool "$POOL" \
  --pidfile /var/run/sintegre-dockerd.pid \
  >>"$LOG" 2>&1 </dev/null &

for _ in $(seq 120); do
  if docker info >/dev/null 2>&1; then
    say "dockerd is up"
    exit 0
  fi
  sleep 0.5
done
say "dockerd did not come up; the end of $LOG:"
tail -20 "$LOG" >&2
exit 1
