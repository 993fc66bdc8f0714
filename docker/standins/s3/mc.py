"""STAND-IN for MinIO's ``mc`` client (docker/standins/build.sh; not the real ``mc``).

Only the commands docker/create-bucket.sh and docker-compose.yaml's health checks use:

    mc alias set ALIAS URL ACCESS_KEY SECRET_KEY      mc alias ls
    mc mb [--ignore-existing|-p] ALIAS/BUCKET
    mc anonymous set none|download|upload|public ALIAS/BUCKET     mc anonymous get ALIAS/BUCKET
    mc version enable|suspend|info ALIAS/BUCKET
    mc ls ALIAS[/BUCKET[/PREFIX]]
    mc ready ALIAS

Aliases come from ``MC_HOST_<alias>=http(s)://KEY:SECRET@HOST:PORT`` (as with the real ``mc``)
or from ``mc alias set`` (kept in ~/.mc/config.json); ``local`` is http://localhost:9000 with
MINIO_ROOT_USER/MINIO_ROOT_PASSWORD, as in the MinIO server image. Any other command exits 2.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

CONFIG = Path(os.environ.get("MC_CONFIG_DIR", Path.home() / ".mc")) / "config.json"


class UsageError(Exception):
    pass


def _aliases() -> dict[str, dict[str, str]]:
    aliases = {
        "local": {
            "url": "http://localhost:9000",
            "accessKey": os.environ.get("MINIO_ROOT_USER", "minioadmin"),
            "secretKey": os.environ.get("MINIO_ROOT_PASSWORD", "minioadmin"),
        }
    }
    if CONFIG.is_file():
        aliases.update(json.loads(CONFIG.read_text()).get("aliases", {}))
    for key, value in os.environ.items():
        if key.startswith("MC_HOST_"):
            parts = urlsplit(value)
            aliases[key.removeprefix("MC_HOST_")] = {
                "url": f"{parts.scheme}://{parts.hostname}"
                + (f":{parts.port}" if parts.port else ""),
                "accessKey": unquote(parts.username or ""),
                "secretKey": unquote(parts.password or ""),
            }
    return aliases


def _target(path: str) -> tuple[dict[str, str], str, str]:
    alias, _, rest = path.partition("/")
    aliases = _aliases()
    if alias not in aliases:
        raise UsageError(f"no alias {alias!r} (set MC_HOST_{alias} or `mc alias set`)")
    bucket, _, prefix = rest.partition("/")
    return aliases[alias], bucket, prefix


def _client(alias: dict[str, str]):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=alias["url"],
        aws_access_key_id=alias["accessKey"] or "anonymous",
        aws_secret_access_key=alias["secretKey"] or "anonymous",
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )


def _need_bucket(bucket: str) -> None:
    if not bucket:
        raise UsageError("a bucket is required (ALIAS/BUCKET)")


def cmd_alias(args: list[str]) -> int:
    if args[:1] == ["set"] and len(args) == 5:
        _, name, url, key, secret = args
        data = json.loads(CONFIG.read_text()) if CONFIG.is_file() else {"version": "10"}
        data.setdefault("aliases", {})[name] = {"url": url, "accessKey": key, "secretKey": secret}
        CONFIG.parent.mkdir(parents=True, exist_ok=True)
        CONFIG.write_text(json.dumps(data, indent=2))
        print(f"Added `{name}` successfully.")
        return 0
    if args[:1] == ["ls"]:
        for name, alias in sorted(_aliases().items()):
            print(f"{name}\n  URL       : {alias['url']}")
        return 0
    raise UsageError("mc alias set ALIAS URL ACCESS_KEY SECRET_KEY | mc alias ls")


def cmd_mb(args: list[str]) -> int:
    ignore = any(a in ("--ignore-existing", "-p") for a in args)
    paths = [a for a in args if not a.startswith("-")]
    if len(paths) != 1:
        raise UsageError("mc mb [--ignore-existing] ALIAS/BUCKET")
    alias, bucket, _ = _target(paths[0])
    _need_bucket(bucket)
    client = _client(alias)
    try:
        client.create_bucket(Bucket=bucket)
    except client.exceptions.BucketAlreadyOwnedByYou:
        if not ignore:
            print(f"mc: bucket {bucket} already exists", file=sys.stderr)
            return 1
    except client.exceptions.BucketAlreadyExists:
        if not ignore:
            print(f"mc: bucket {bucket} already exists", file=sys.stderr)
            return 1
    print(f"Bucket created successfully `{paths[0]}`.")
    return 0


def _public_policy(bucket: str, actions: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": actions,
                    "Resource": [f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
    )


def cmd_anonymous(args: list[str]) -> int:
    if len(args) == 3 and args[0] == "set":
        permission, path = args[1], args[2]
        alias, bucket, _ = _target(path)
        _need_bucket(bucket)
        client = _client(alias)
        actions = {
            "download": ["s3:GetObject"],
            "upload": ["s3:PutObject"],
            "public": ["s3:GetObject", "s3:PutObject"],
        }
        if permission == "none":
            client.delete_bucket_policy(Bucket=bucket)
        elif permission in actions:
            client.put_bucket_policy(
                Bucket=bucket, Policy=_public_policy(bucket, actions[permission])
            )
        else:
            raise UsageError("mc anonymous set none|download|upload|public ALIAS/BUCKET")
        print(f"Access permission for `{path}` is set to `{permission}`")
        return 0
    if len(args) == 2 and args[0] == "get":
        alias, bucket, _ = _target(args[1])
        _need_bucket(bucket)
        client = _client(alias)
        try:
            policy = client.get_bucket_policy(Bucket=bucket)["Policy"]
        except client.exceptions.ClientError:
            policy = ""
        print(f"Access permission for `{args[1]}` is `{'custom' if policy else 'private'}`")
        return 0
    raise UsageError("mc anonymous set PERMISSION ALIAS/BUCKET | mc anonymous get ALIAS/BUCKET")


def cmd_version(args: list[str]) -> int:
    if len(args) != 2 or args[0] not in ("enable", "suspend", "info"):
        raise UsageError("mc version enable|suspend|info ALIAS/BUCKET")
    alias, bucket, _ = _target(args[1])
    _need_bucket(bucket)
    client = _client(alias)
    if args[0] == "info":
        status = client.get_bucket_versioning(Bucket=bucket).get("Status", "un-versioned")
        print(f"{args[1]} versioning is {status.lower()}")
        return 0
    status = "Enabled" if args[0] == "enable" else "Suspended"
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
    print(f"{args[1]} versioning is {status.lower()}")
    return 0


def cmd_ls(args: list[str]) -> int:
    paths = [a for a in args if not a.startswith("-")]
    if len(paths) != 1:
        raise UsageError("mc ls ALIAS[/BUCKET[/PREFIX]]")
    alias, bucket, prefix = _target(paths[0])
    client = _client(alias)
    if not bucket:
        for entry in client.list_buckets()["Buckets"]:
            print(f"[{entry['CreationDate']:%Y-%m-%d %H:%M:%S %Z}]     0B {entry['Name']}/")
        return 0
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/"
    )
    for page in pages:
        for common in page.get("CommonPrefixes", []):
            print(f"{'':>30} {common['Prefix'][len(prefix) :]}")
        for obj in page.get("Contents", []):
            stamp = f"{obj['LastModified']:%Y-%m-%d %H:%M:%S %Z}"
            print(f"[{stamp}] {obj['Size']:>6}B {obj['Key'][len(prefix) :]}")
    return 0


def cmd_ready(args: list[str]) -> int:
    if len(args) != 1:
        raise UsageError("mc ready ALIAS")
    alias, _, _ = _target(args[0])
    try:
        with urllib.request.urlopen(alias["url"] + "/", timeout=3) as response:
            ok = response.status < 500
    except urllib.error.HTTPError as exc:
        ok = exc.code < 500
    except OSError as exc:
        print(f"mc: {args[0]} is not ready: {exc}", file=sys.stderr)
        return 1
    if ok:
        print(f"The cluster '{args[0]}' is ready")
    return 0 if ok else 1


COMMANDS = {
    "alias": cmd_alias,
    "mb": cmd_mb,
    "anonymous": cmd_anonymous,
    "version": cmd_version,
    "ls": cmd_ls,
    "ready": cmd_ready,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(
            f"mc stand-in: unsupported command {argv[:1]!r}; supported: {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except UsageError as exc:
        print(f"mc: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # boto3/botocore errors: one line, like mc
        print(f"mc: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
