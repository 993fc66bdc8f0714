"""Read a lake back the way an analyst would, on local disk or on S3 (moto).

:class:`Lake` is the handle the ``lake`` fixture (``tests/integration/conftest.py``) yields,
once per backend: ``LAKE_URI``, the settings and the store, and reads that go around the
project (``os`` for a folder, boto3 and a pyarrow filesystem built here for a bucket) so a
test checks what is really there, not what the project's storage layer believes.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from helpers.pipeline import DAY, MACRO_SLUG
from helpers.postgres import PG_URL
from sintegre.core.settings import Settings, load_settings
from sintegre.lake.storage import LakeStore, open_store

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
REGION = "us-east-1"


# --- reading a local lake --------------------------------------------------------------------


def catalog_rows(lake: Any, *, settings: Any = None) -> list[dict[str, Any]]:
    """Every row of a lake's catalog Delta table (``catalog/delta``), oldest landing first.

    ``macroprocesso``/``periodicidade`` are columns of the table (``periodo_mes`` dropped);
    an empty list when the lake has no catalog yet. ``lake``: a path, a URI or a store.
    """
    from sintegre.lake import delta_catalog as catalog_delta

    dataset = catalog_delta.dataset(open_store(lake, settings))
    if dataset is None:
        return []
    rows = dataset.to_table().drop_columns(["periodo_mes"]).to_pylist()
    return sorted(rows, key=lambda row: (row["ingested_at"], row["ingestion_id"]))


def partition(
    dataset: str, day: date | str = DAY, *, zone: str = "curated", macro_slug: str = MACRO_SLUG
) -> str:
    """The key of a partition folder under the lake root, written out by hand."""
    return f"{zone}/{dataset}/macroprocesso={macro_slug}/periodicidade={day}"


def curated_file(lake: Path, dataset: str, day: date | str = DAY) -> Path:
    """The one curated Parquet file of ``dataset``'s partition for ``day``."""
    return lake / partition(dataset, day) / "data.parquet"


def history_dir(lake: Path, dataset: str, day: date | str = DAY) -> Path:
    """The history folder of ``dataset``'s partition for ``day`` (one file per version)."""
    return lake / partition(dataset, day, zone="history")


def listing(
    root: Path, *, mtime: bool = False, folders: bool = False
) -> dict[str, tuple[Any, ...]]:
    """Every file under ``root`` (relative path): ``(size, sha256)``.

    ``mtime=True``: ``(size, mtime_ns, sha256)``, to prove a file was not rewritten;
    ``folders=True``: folders too, as ``(-1, "")`` (or ``(-1, -1, "")``). Empty if no ``root``.
    """
    if not root.exists():
        return {}
    found: dict[str, tuple[Any, ...]] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            stat = p.stat()
            sha = hashlib.sha256(p.read_bytes()).hexdigest()
            found[str(p.relative_to(root))] = (
                (stat.st_size, stat.st_mtime_ns, sha) if mtime else (stat.st_size, sha)
            )
        elif folders:
            found[str(p.relative_to(root))] = (-1, -1, "") if mtime else (-1, "")
    return found


# --- S3: moto in server mode (sintegre_dev.moto_s3.moto_server starts it) ------------------


def s3_client(endpoint: str) -> Any:
    """A boto3 S3 client on ``endpoint`` (moto's test credentials)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def new_bucket(endpoint: str) -> str:
    """A fresh, empty bucket (the lake never creates buckets itself)."""
    name = f"lake-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def keys(endpoint: str, bucket: str, prefix: str = "lake/") -> list[str]:
    """Every object key under ``prefix``, as S3 itself lists them (boto3, not the project).

    Empty ``folder/`` marker objects (pyarrow leaves one when it deletes a folder's last
    file, as the S3 console does) are not files and are left out; they must be empty.
    """
    paginator = s3_client(endpoint).get_paginator("list_objects_v2")
    found = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/"):
                assert item["Size"] == 0, item["Key"]
                continue
            found.append(item["Key"])
    return sorted(found)


def arrow_s3(endpoint: str) -> pafs.S3FileSystem:
    """An S3 filesystem built here, the way an analyst would: not the project's helper."""
    return pafs.S3FileSystem(
        endpoint_override=endpoint.removeprefix("http://"),
        scheme="http",
        region=REGION,
        access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def s3_env(endpoint: str, bucket: str, tmp_path: Path, *, pg: bool, **extra: str) -> dict[str, str]:
    """The environment of a lake at ``s3://bucket/lake`` on ``endpoint``.

    Landings on S3 are serialised by PostgreSQL's advisory locks where it runs (``pg``);
    else ``SINTEGRE_LAKE_LOCK=none`` (the scheduler's word that one landing runs at a time).
    """
    return {
        "LAKE_URI": f"s3://{bucket}/lake",
        "SINTEGRE_STATE_DIR": str(tmp_path / "state"),
        "SINTEGRE_S3_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        **CREDENTIALS,
        **({"SINTEGRE_INBOX_URL": PG_URL} if pg else {"SINTEGRE_LAKE_LOCK": "none"}),
        **extra,
    }


# --- one handle over both backends -----------------------------------------------------------


@dataclass
class Lake:
    """A lake on local disk (``kind == "local"``) or in a moto bucket (``kind == "s3"``).

    ``env`` is the environment its :attr:`settings` were loaded from (``LAKE_URI`` ...), for
    subprocesses and :meth:`settings_with`; :meth:`files` and :meth:`read_table` read around
    the project's storage layer.
    """

    kind: str
    env: dict[str, str]
    workdir: Path
    endpoint: str | None = None
    bucket: str | None = None
    settings: Settings = field(init=False)

    def __post_init__(self) -> None:
        self.settings = load_settings(self.env)

    @property
    def uri(self) -> str:
        """``LAKE_URI``: a folder, or ``s3://bucket/lake``."""
        return self.env["LAKE_URI"]

    @property
    def store(self) -> LakeStore:
        """The project's store on this lake."""
        return open_store(self.uri, self.settings)

    def settings_with(self, **extra: str) -> Settings:
        """Settings of this lake with more environment (the simulator's CA, retries ...)."""
        return load_settings({**self.env, **extra})

    def files(self, prefix: str = "") -> list[str]:
        """Every file under the lake root (``curated/...``), sorted; markers left out."""
        if self.kind == "s3":
            assert self.endpoint and self.bucket
            found = keys(self.endpoint, self.bucket, f"lake/{prefix}")
            return [k.removeprefix("lake/") for k in found]
        root = Path(self.uri)
        return (
            sorted(str(p.relative_to(root)) for p in (root / prefix).rglob("*") if p.is_file())
            if (root / prefix).exists()
            else []
        )

    def read_bytes(self, key: str) -> bytes:
        """A file's bytes, read around the project."""
        if self.kind == "s3":
            body = s3_client(self.endpoint).get_object(Bucket=self.bucket, Key=f"lake/{key}")
            return body["Body"].read()
        return (Path(self.uri) / key).read_bytes()

    def fingerprint(self, key: str) -> tuple[Any, ...]:
        """What changes when a file is rewritten: ``(ETag, LastModified)`` or mtime and size."""
        if self.kind == "s3":
            head = s3_client(self.endpoint).head_object(Bucket=self.bucket, Key=f"lake/{key}")
            return head["ETag"], head["LastModified"]
        stat = (Path(self.uri) / key).stat()
        return stat.st_size, stat.st_mtime_ns

    def arrow(self, key: str = "") -> tuple[str, pafs.FileSystem]:
        """``(path, filesystem)`` of a key for pyarrow, with a filesystem built here."""
        if self.kind == "s3":
            assert self.endpoint
            return f"{self.bucket}/lake/{key}".rstrip("/"), arrow_s3(self.endpoint)
        return str(Path(self.uri) / key).rstrip("/"), pafs.LocalFileSystem()

    def read_table(self, key: str) -> pa.Table:
        """A Parquet file of the lake, read with pyarrow (a filesystem built here)."""
        path, fs = self.arrow(key)
        return pq.read_table(path, filesystem=fs)

    def write_table(self, key: str, table: pa.Table) -> None:
        """Write a Parquet file into the lake around the project (an older layout's file)."""
        path, fs = self.arrow(key)
        if self.kind == "local":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, filesystem=fs)

    def assert_nothing_local(self) -> None:
        """An S3 lake wrote nothing to the working folder (an ``s3:`` folder: a URI misread)."""
        if self.kind == "s3":
            assert not (self.workdir / "s3:").exists()
            assert not list(self.workdir.glob("s3*"))
