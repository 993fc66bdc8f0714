#!/usr/bin/env bash
# Builds OFFLINE STAND-INS for the base images docker-compose.yaml names, tagged with exactly
# those names, from Debian's packages and PyPI: no image registry is reachable where this
# project is developed and tested. They are for CI and local runs of the production shape,
# NOT the real images (see docker/standins/README.md for what each one does and does not do).
#
#   docker/standins/build.sh            # build what is missing or changed (idempotent)
#   docker/standins/build.sh --force    # rebuild all
#
# One `debootstrap` of Debian bookworm (the release the real images are built on) is made
# once and cached as a tarball under $SINTEGRE_STANDIN_CACHE (default
# /var/cache/sintegre-standins; never committed); `docker import` turns it into the base
# image every stand-in is built FROM. Each image carries the label org.sintegre.standin.hash
# (a hash of its build context and of the base); an image whose tag already has the same
# hash is not rebuilt.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${SINTEGRE_STANDIN_CACHE:-/var/cache/sintegre-standins}
LABEL=org.sintegre.standin.hash
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

# The packages in the shared rootfs: what every stand-in needs (Python for the Airflow image
# and the S3 server, curl and the init for health checks and PID 1).
ROOTFS_PACKAGES=ca-certificates,curl,python3,python3-venv,dumb-init,procps,netbase,gosu,less
# The stand-ins: <image tag as docker-compose.yaml names it> <build dir> [<Dockerfile target>].
STANDINS=(
  "apache/airflow:3.3.2-python3.11 airflow"
  "postgres:16 postgres"
  "redis:7.2-bookworm redis"
  "minio/minio:RELEASE.2025-04-22T22-12-26Z s3 minio"
  "minio/mc:RELEASE.2025-04-16T18-13-26Z s3 mc"
)

say() { echo "standins: $*" >&2; }

# The Debian mirror this machine's apt uses (deb822 or one-line format), for the bookworm suite.
mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ && u {print u; exit}
           /^deb / && $3=="bookworm" {print $2; exit}' | head -1)
  echo "${uri:-http://deb.debian.org/debian}"
}

tag_hash() { docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true; }

# This machine's own CAs (/usr/local/share/ca-certificates): PyPI is reached through a
# TLS-inspecting egress here, so pip inside the builds must trust what the host trusts.
host_cas() { cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true; }

build_rootfs() {
  local mirror_uri=$1 key tarball tmp
  key=$( (printf '%s %s' "$ROOTFS_PACKAGES" "$mirror_uri"; host_cas) | sha256sum | cut -c1-12)
  tarball="$CACHE/bookworm-rootfs-$key.tar"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null 2>&1 || {
      apt-get install -y -q debootstrap >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q debootstrap >/dev/null; }
    }
    mkdir -p "$CACHE"
    tmp=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    say "debootstrap bookworm from $mirror_uri (once; cached in $tarball)"
    debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" bookworm "$tmp" "$mirror_uri" \
      >"$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
    # The security suite too, from the same mirror host, for apt-get inside the builds.
    cat >"$tmp/etc/apt/sources.list" <<SOURCES
deb $mirror_uri bookworm main
deb $mirror_uri bookworm-updates main
deb ${mirror_uri%/debian}/debian-security bookworm-security main
SOURCES
    if [ -n "$(host_cas)" ]; then
      cp /usr/local/share/ca-certificates/*.crt "$tmp/usr/local/share/ca-certificates/"
      chroot "$tmp" update-ca-certificates >/dev/null
    fi
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* "$tmp"/var/log/*.log
    tar -C "$tmp" --numeric-owner -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    rm -rf "$tmp"
  fi
  echo "$tarball"
}

import_base() {
  local tarball=$1 hash tag
  hash=$(basename "$tarball" .tar | sed 's/^bookworm-rootfs-//')
  tag="sintegre-standin/bookworm:$hash"
  if [ "$FORCE" = 1 ] || [ "$(tag_hash "$tag")" != "$hash" ]; then
    say "docker import $tag"
    docker import --change "LABEL $LABEL=$hash" --change 'CMD ["/bin/bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
      "$tarball" "$tag" >/dev/null
  fi
  echo "$tag"
}

# The pins a build context gets: the runtime set for airflow (its constraints), both sets
# without the `-r` line for the S3 stand-ins (boto3, moto).
pins() {
  case "$1" in
    airflow) cat "$ROOT/requirements.txt" ;;
    s3) cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" | grep -v '^-r' ;;
  esac
}

context_hash() {  # the build dir, the base, the target and the pins
  local dir=$1 base=$2 target=$3
  {
    echo "$base $target"
    (cd "$HERE/$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    pins "$dir" | sha256sum
  } | sha256sum | cut -c1-16
}

main() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 \
    || { say "no Docker engine answers (docker/standins/dockerd.sh starts one)"; exit 1; }
  local tarball base entry tag dir target hash ctx log
  tarball=$(build_rootfs "$(mirror)")
  base=$(import_base "$tarball")
  for entry in "${STANDINS[@]}"; do
    read -r tag dir target <<<"$entry"
    hash=$(context_hash "$dir" "$base" "${target:-}")
    if [ "$FORCE" = 0 ] && [ "$(tag_hash "$tag")" = "$hash" ]; then
      say "$tag is current ($hash)"
      continue
    fi
    say "building $tag ($hash)"
    ctx=$(mktemp -d)
    cp -a "$HERE/$dir"/. "$ctx"/
    case "$dir" in
      airflow) pins airflow >"$ctx/requirements.txt" ;;
      s3) pins s3 >"$ctx/pins.txt" ;;
    esac
    log="$CACHE/build-${target:-$dir}.log"
    # --network host: apt and pip inside the build reach the mirrors exactly as this machine
    # does (the build containers get no address of their own).
    if ! docker build --force-rm --network host --build-arg "BASE=$base" --label "$LABEL=$hash" \
      ${target:+--target "$target"} -t "$tag" "$ctx" >"$log" 2>&1; then
      tail -30 "$log" >&2
      rm -rf "$ctx"
      say "building $tag failed (log: $log)"
      exit 1
    fi
    rm -rf "$ctx"
  done
  # The images a rebuild left untagged (this script's own, by their label).
  docker image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true
  say "all stand-ins built"
}

main "$@"
