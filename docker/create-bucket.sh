#!/bin/sh
# One-shot job (docker-compose.yaml, create-bucket): the lake's bucket, private, versioned.
# The lake never creates buckets itself. MC_HOST_lake holds the endpoint and credentials.
set -eu
: "${LAKE_BUCKET:?set LAKE_BUCKET}"
mc mb --ignore-existing "lake/${LAKE_BUCKET}"
mc anonymous set none "lake/${LAKE_BUCKET}"
# Versioning keeps an overwritten or deleted object recoverable (curated/ copies are
# replaced in place); docs/OPERATIONS.md says how long old versions are kept.
mc version enable "lake/${LAKE_BUCKET}"
mc ls "lake/${LAKE_BUCKET}" >/dev/null
echo "bucket ${LAKE_BUCKET} ready"
