"""Where the lake lives: a local folder or an S3 bucket, behind one small API.

``LAKE_URI`` is the one switch (as in Airflow's object-storage tutorial):

* a path (relative to the repository, absolute, or ``file://``) → the local disk. Every write
  goes to a hidden temporary file beside its target, is fsynced and renamed over it
  (``os.replace``), so a reader sees the old file or the new one, never half of one;
* ``s3://bucket/prefix`` → S3 or anything that speaks its API (MinIO, Ceph, moto), through
  ``pyarrow.fs.S3FileSystem``. A PUT is atomic on S3 (an object appears whole, or not at
  all), so a file is written to a local temporary file first and then uploaded in one
  request (multipart for big files, completed in one call): a writer that dies midway leaves
  nothing behind. The bucket must exist: the lake never creates (or deletes) buckets.

Keys are POSIX paths relative to the lake root (``history/<dataset>/...``). ``s3fs`` is not
used (its botocore pin fights Airflow's): DuckDB reads the bucket through
:meth:`LakeStore.register_with_duckdb`, which wraps the same pyarrow filesystem for fsspec.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

if TYPE_CHECKING:
    import duckdb

    from sintegre.core.settings import Settings

#: How much of a file is moved per read when copying or hashing.
CHUNK_BYTES = 1 << 20


class LakeStoreError(ValueError):
    """A lake URI or key that cannot be used (the message says why)."""


def _clean_key(key: str | PurePosixPath) -> str:
    """A key relative to the lake root, refused if it could leave it (``..``, absolute)."""
    text = str(key).replace("\\", "/")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if text.startswith("/") or any(part == ".." for part in parts):
        raise LakeStoreError(f"not a key inside the lake: {str(key)!r}")
    return "/".join(parts)


class LakeStore:
    """The lake's storage: a local folder or an S3 prefix, addressed by relative keys.

    Build it with :func:`open_store`. Attributes: ``uri`` (the normalised lake URI: an absolute
    path, or ``s3://bucket/prefix``), ``filesystem`` (the pyarrow filesystem), ``root`` (the
    root as that filesystem spells it) and ``is_local``.
    """

    def __init__(
        self,
        uri: str,
        filesystem: pafs.FileSystem,
        root: str,
        *,
        is_local: bool,
        delta_storage_options: dict[str, str] | None = None,
    ):
        """Wrap a pyarrow filesystem rooted at ``root`` (prefer :func:`open_store`)."""
        self.uri = uri
        #: delta-rs options of the same bucket (the catalog table); None on the local disk.
        self.delta_storage_options = delta_storage_options
        self.filesystem = filesystem
        self.root = root.rstrip("/")
        self.is_local = is_local

    def __repr__(self) -> str:
        return f"LakeStore({self.uri!r})"

    # --- names ---------------------------------------------------------------------------

    @staticmethod
    def join(*parts: str | PurePosixPath) -> str:
        """Join key parts with ``/`` (``join("raw", "x", "f.csv")`` → ``raw/x/f.csv``)."""
        return _clean_key("/".join(str(part) for part in parts if str(part)))

    def path_for_pyarrow(self, key: str | PurePosixPath) -> str:
        """The key as a path of :attr:`filesystem` (``bucket/prefix/key`` on S3)."""
        clean = _clean_key(key)
        return f"{self.root}/{clean}" if clean else self.root

    def uri_for(self, key: str | PurePosixPath = "") -> str:
        """The key as other tools name it: an absolute path, or ``s3://bucket/prefix/key``."""
        path = self.path_for_pyarrow(key)
        return path if self.is_local else f"s3://{path}"

    def local_path(self, key: str | PurePosixPath = "") -> Path:
        """The key as a local path (local lakes only).

        Raises:
            LakeStoreError: The lake is on object storage.
        """
        if not self.is_local:
            raise LakeStoreError(f"{self.uri} is not on the local disk")
        return Path(self.path_for_pyarrow(key))

    def key_of(self, location: str) -> str | None:
        """The key of an absolute path or URI inside this lake, or None when it is outside."""
        text = str(location)
        if not self.is_local:
            if not text.startswith("s3://"):
                return None
            text = text[len("s3://") :]
        elif text.startswith("file://"):
            text = unquote(urlsplit(text).path)
        root = self.root + "/"
        if not text.startswith(root):
            return None
        try:
            return _clean_key(text[len(root) :])
        except LakeStoreError:
            return None

    # --- reading -------------------------------------------------------------------------

    def _info(self, key: str | PurePosixPath) -> pafs.FileInfo:
        return self.filesystem.get_file_info(self.path_for_pyarrow(key))

    def exists(self, key: str | PurePosixPath) -> bool:
        """Whether a file (not a folder) exists at ``key``."""
        return self._info(key).type == pafs.FileType.File

    def size(self, key: str | PurePosixPath) -> int:
        """The size in bytes of the file at ``key``.

        Raises:
            FileNotFoundError: No file there.
        """
        info = self._info(key)
        if info.type != pafs.FileType.File:
            raise FileNotFoundError(self.uri_for(key))
        return int(info.size or 0)

    def list(self, prefix: str | PurePosixPath = "", suffix: str = "") -> list[str]:
        """Every file key under ``prefix`` (recursively) ending with ``suffix``, sorted.

        Hidden names (a part starting with ``.``: temporary files) are left out.
        """
        infos = self._listing(prefix, recursive=True)
        keys = []
        root = self.root + "/"
        for info in infos:
            if info.type != pafs.FileType.File or not info.path.endswith(suffix):
                continue
            key = info.path[len(root) :] if info.path.startswith(root) else info.path
            if any(part.startswith(".") for part in key.split("/")):
                continue
            keys.append(key)
        return sorted(keys)

    def _listing(self, prefix: str | PurePosixPath, *, recursive: bool) -> builtins.list[Any]:
        """What is under ``prefix`` (``pyarrow.fs.FileInfo``s); nothing when it is absent."""
        selector = pafs.FileSelector(
            self.path_for_pyarrow(_clean_key(prefix)), recursive=recursive, allow_not_found=True
        )
        try:
            return list(self.filesystem.get_file_info(selector))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def folders(self, prefix: str | PurePosixPath = "") -> builtins.list[str]:
        """The names of the folders right under ``prefix`` (hidden ones left out), sorted.

        One listing of one level (on S3 a delimited LIST: the common prefixes), whatever
        the number of files below them.
        """
        infos = self._listing(prefix, recursive=False)
        names = {
            info.path.rstrip("/").rsplit("/", 1)[-1]
            for info in infos
            if info.type == pafs.FileType.Directory
        }
        return sorted(name for name in names if not name.startswith("."))

    def holds_file(self, prefix: str | PurePosixPath, suffix: str = "") -> bool:
        """Whether any non-hidden file under ``prefix`` ends with ``suffix`` (on disk the walk
        stops at the first match; on S3 it is a full listing of the prefix)."""
        if not self.is_local:
            return bool(self.list(prefix, suffix))
        base = self.local_path(prefix)
        for _folder, subfolders, files in os.walk(base):
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
            if any(not n.startswith(".") and n.endswith(suffix) for n in files):
                return True
        return False

    def list_modified(self, prefix: str | PurePosixPath = "") -> builtins.list[tuple[str, float]]:
        """Every file key under ``prefix`` (recursively, hidden ones included) with its
        modification time (epoch seconds): what the maintenance sweep needs."""
        infos = self._listing(prefix, recursive=True)
        root = self.root + "/"
        found = []
        for info in infos:
            if info.type != pafs.FileType.File:
                continue
            key = info.path[len(root) :] if info.path.startswith(root) else info.path
            mtime = info.mtime.timestamp() if info.mtime is not None else 0.0
            found.append((key, mtime))
        return sorted(found)

    def open_input(self, key: str | PurePosixPath) -> pa.NativeFile:
        """A seekable reader of the file (pass it to ``pq.ParquetFile``); close it after."""
        return self.filesystem.open_input_file(self.path_for_pyarrow(key))

    def open_input_stream(self, key: str | PurePosixPath) -> pa.NativeFile:
        """A sequential reader of the file (hashing, copying); close it after."""
        return self.filesystem.open_input_stream(self.path_for_pyarrow(key))

    def read_bytes(self, key: str | PurePosixPath) -> bytes:
        """The whole file (small files only: markers, catalog entries)."""
        with self.open_input_stream(key) as handle:
            return handle.read()

    def get_file(self, key: str | PurePosixPath, local: Path) -> Path:
        """Copy the file at ``key`` to the local path ``local`` (streamed), and return it."""
        local.parent.mkdir(parents=True, exist_ok=True)
        with self.open_input_stream(key) as source, open(local, "wb") as target:
            while chunk := source.read(CHUNK_BYTES):
                target.write(chunk)
        return local

    @contextlib.contextmanager
    def local_copy(self, key: str | PurePosixPath) -> Iterator[Path]:
        """A local path holding the file: the file itself on disk, a temporary copy on S3."""
        if self.is_local:
            yield self.local_path(key)
            return
        work = Path(tempfile.mkdtemp(prefix="sintegre-lake-"))
        try:
            yield self.get_file(key, work / PurePosixPath(_clean_key(key)).name)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # --- writing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def atomic_path(self, key: str | PurePosixPath) -> Iterator[Path]:
        """A local path to write the file at; it appears at ``key`` whole when the block ends.

        Local: a hidden ``.<name>.<uuid>.tmp`` beside the target, fsynced and renamed over it
        (the folder is fsynced too: a rename is only durable once its folder is). S3: a
        temporary local file, uploaded in one PUT. An exception in the block publishes nothing.
        """
        clean = _clean_key(key)
        name = PurePosixPath(clean).name
        if self.is_local:
            target = self.local_path(clean)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{name}.{uuid.uuid4().hex}.tmp")
            try:
                yield tmp
                with open(tmp, "rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
                _fsync_dir(target.parent)
            finally:
                tmp.unlink(missing_ok=True)
            return
        work = Path(tempfile.mkdtemp(prefix="sintegre-lake-"))
        try:
            tmp = work / name
            yield tmp
            self.put_file(tmp, clean)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    @contextlib.contextmanager
    def open_output_atomic(self, key: str | PurePosixPath) -> Iterator[IO[bytes]]:
        """A binary file to write; it appears at ``key`` whole when the block ends."""
        with self.atomic_path(key) as tmp, open(tmp, "wb") as handle:
            yield handle

    def write_bytes_atomic(self, key: str | PurePosixPath, data: bytes) -> None:
        """Write a small file atomically."""
        with self.open_output_atomic(key) as handle:
            handle.write(data)

    def put_file(self, local: Path, key: str | PurePosixPath) -> None:
        """Publish the local file ``local`` at ``key``, atomically (streamed, never in memory).

        Local: copied aside and renamed over. S3: one upload, which S3 completes atomically.
        """
        if self.is_local:
            with self.atomic_path(key) as tmp:
                shutil.copyfile(local, tmp)
            return
        target = self.path_for_pyarrow(key)
        with open(local, "rb") as source, self.filesystem.open_output_stream(target) as out:
            while chunk := source.read(CHUNK_BYTES):
                out.write(chunk)

    def copy(self, source: str | PurePosixPath, target: str | PurePosixPath) -> None:
        """Copy a file inside the lake, atomically: server-side on S3, write-aside locally."""
        if self.is_local:
            with self.atomic_path(target) as tmp:
                shutil.copyfile(self.local_path(source), tmp)
            return
        # CopyObject: S3 copies the bytes itself, nothing travels through this worker.
        self.filesystem.copy_file(self.path_for_pyarrow(source), self.path_for_pyarrow(target))

    def delete(self, key: str | PurePosixPath) -> None:
        """Delete the file at ``key``; a missing file is not an error."""
        with contextlib.suppress(FileNotFoundError):
            if self.exists(key):
                self.filesystem.delete_file(self.path_for_pyarrow(key))

    def delete_prefix(self, prefix: str | PurePosixPath) -> None:
        """Delete everything under ``prefix`` (a folder); a missing one is not an error."""
        clean = _clean_key(prefix)
        if not clean:
            raise LakeStoreError("refusing to delete the whole lake")
        if self.is_local:
            shutil.rmtree(self.local_path(clean), ignore_errors=True)
            return
        # pyarrow keeps the parent "folder" alive with an empty ``<parent>/`` marker object
        # (as the S3 console does): harmless, no reader lists it as a file.
        with contextlib.suppress(FileNotFoundError):
            if self.filesystem.get_file_info(self.path_for_pyarrow(clean)).type != (
                pafs.FileType.NotFound
            ):
                self.filesystem.delete_dir(self.path_for_pyarrow(clean))

    # --- other engines -------------------------------------------------------------------

    def fsspec(self) -> Any:
        """This store's filesystem for fsspec users (DuckDB, Polars): pyarrow's, wrapped.

        A glob is one recursive listing; ``history/`` files' sizes come from it
        (``sintegre.lake.fsspec_listing``).
        """
        from sintegre.lake.fsspec_listing import ListingArrowFS

        # ArrowFSWrapper names its protocol after the pyarrow filesystem: "s3" here, which
        # is what DuckDB matches the s3:// URLs against.
        history = self.path_for_pyarrow("history").rstrip("/") + "/"
        return ListingArrowFS(self.filesystem, immutable=(history,))

    def register_with_duckdb(self, con: duckdb.DuckDBPyConnection) -> Any:
        """Let ``con`` read ``s3://`` URLs of this lake (no-op for a local lake).

        DuckDB's own httpfs extension would have to be downloaded, which a locked-down worker
        cannot do: it reads through the registered fsspec filesystem instead (globs included).

        Returns:
            The registered filesystem (a ``ListingArrowFS``), None for a local lake.
        """
        if self.is_local:
            return None
        filesystem = self.fsspec()
        con.register_filesystem(filesystem)
        return filesystem


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def s3_filesystem(settings: Settings) -> pafs.S3FileSystem:
    """``pyarrow.fs.S3FileSystem`` from the settings (endpoint, region, credentials).

    Credentials left unset fall through to the AWS SDK's own chain (environment, profile,
    instance or pod role). Buckets are never created nor deleted by the lake.
    """
    options: dict[str, Any] = {
        "allow_bucket_creation": False,
        "allow_bucket_deletion": False,
    }
    endpoint = settings.s3_endpoint_url
    if endpoint:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        options["scheme"] = parts.scheme or "https"
        options["endpoint_override"] = parts.netloc + parts.path.rstrip("/")
    if settings.s3_region:
        options["region"] = settings.s3_region
    if settings.aws_access_key_id and settings.aws_secret_access_key:
        options["access_key"] = settings.aws_access_key_id.get_secret_value()
        options["secret_key"] = settings.aws_secret_access_key.get_secret_value()
        if settings.aws_session_token:
            options["session_token"] = settings.aws_session_token.get_secret_value()
    if settings.s3_ca_bundle:
        options["tls_ca_file_path"] = settings.s3_ca_bundle
    return pafs.S3FileSystem(**options)


def open_store(lake: str | Path | LakeStore, settings: Settings | None = None) -> LakeStore:
    """The store of a lake URI: a local path, ``file://...`` or ``s3://bucket/prefix``.

    Args:
        lake: The lake (``settings.lake_uri``), or a store (returned as it is).
        settings: S3 endpoint, region and credentials; read from the environment when omitted
            and needed.

    Returns:
        The :class:`LakeStore`.

    Raises:
        LakeStoreError: An unknown scheme, or an S3 URI without a bucket.
    """
    if isinstance(lake, LakeStore):
        return lake
    text = str(lake)
    if "://" not in text:
        path = Path(text).expanduser().absolute()
        return LakeStore(str(path), pafs.LocalFileSystem(), str(path), is_local=True)
    parts = urlsplit(text)
    if parts.scheme == "file":
        path = Path(unquote(parts.path)).absolute()
        return LakeStore(str(path), pafs.LocalFileSystem(), str(path), is_local=True)
    if parts.scheme in {"s3", "s3a"}:
        if not parts.netloc:
            raise LakeStoreError(f"an S3 lake needs a bucket: s3://bucket/prefix, got {text!r}")
        if settings is None:
            from sintegre.core.settings import load_settings

            settings = load_settings()
        root = f"{parts.netloc}/{_clean_key(unquote(parts.path).lstrip('/'))}".rstrip("/")
        from sintegre.lake.delta_catalog import storage_options

        return LakeStore(
            f"s3://{root}",
            s3_filesystem(settings),
            root,
            is_local=False,
            delta_storage_options=storage_options(settings),
        )
    raise LakeStoreError(
        f"LAKE_URI must be a local path, file://... or s3://bucket/prefix, got {text!r}"
    )


__all__ = ["CHUNK_BYTES", "LakeStore", "LakeStoreError", "open_store", "s3_filesystem"]
