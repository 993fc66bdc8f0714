"""Read small immutable objects of an S3 lake in one request each (the catalog table's files).

Reading a Parquet file through pyarrow's S3 filesystem costs three requests: a HEAD (pyarrow
asks the size even when the caller knows it), the footer (a ranged GET of the end), then the
column chunks the scan needs (one more ranged GET once read through, see
``delta_catalog._scan_options``). delta-rs's filesystem handler takes the sizes the Delta log
records (no HEAD); on top of it, this one reads a small file whole, and the bytes serve the
footer read and every column read, then are freed when the scan closes the file.

A ``count(*)`` of ``catalog`` opens every catalog file (one per macroprocesso and month):
measured on moto at 20k deliveries (257 files), 526 requests and 2.0 s became 270 requests and
1.1 s.

Only files whose size is known (the Delta log says it) and that the caller lists are read
whole (``delta_catalog`` lists files up to 16 MB: on moto at 1M deliveries, files ~3 MB, a
whole read beat a footer read plus a range); a file listed in ``tails`` (a view of a table
whose last columns are the ones it reads) starts with one ranged read of its tail instead.
Anything else goes to ``base`` unchanged. Nothing is kept beyond one open file.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

__all__ = ["seek_position", "whole_read_filesystem"]


class _WholeReads(pafs.FileSystemHandler):
    """Delegates to ``base``; ``open_input_file`` of a listed path is one whole-object read,
    or one read of its tail (``tails``)."""

    def __init__(
        self,
        base: pafs.FileSystem,
        sizes: Mapping[str, int],
        tails: Mapping[str, tuple[int, int]] | None = None,
    ) -> None:
        self.base = base
        self.sizes = dict(sizes)
        self.tails = dict(tails or {})
        #: Every path's size, for ``get_file_info`` (asked once per file opened).
        self._known = {**{p: size for p, (size, _) in self.tails.items()}, **self.sizes}

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _WholeReads)
            and other.base.equals(self.base)
            and other.sizes == self.sizes
            and other.tails == self.tails
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    def get_type_name(self) -> str:
        return f"whole-reads+{self.base.type_name}"

    def normalize_path(self, path: str) -> str:
        return self.base.normalize_path(path)

    def get_file_info(self, paths: str | list[str]) -> list[pafs.FileInfo]:
        # Known sizes need no request (pyarrow asks before it opens a file of unknown size).
        paths = [paths] if isinstance(paths, str) else paths
        if all(p in self._known for p in paths):
            return [pafs.FileInfo(p, pafs.FileType.File, size=self._known[p]) for p in paths]
        return self.base.get_file_info(paths)

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        return self.base.get_file_info(selector)

    def open_input_file(self, path: str) -> pa.NativeFile:
        if path in self.tails:
            total, tail = self.tails[path]
            return pa.PythonFile(_TailFirst(self.base, path, total, tail), mode="r")
        size = self.sizes.get(path)
        if size is None:
            return self.base.open_input_file(path)
        # One GET of every byte (``base`` knows the size: no HEAD), which then serves the
        # footer read and every column read of the scan.
        with self.base.open_input_file(path) as whole:
            data = whole.read()
        if len(data) != size:
            raise OSError(
                f"{path}: read {len(data)} bytes where the catalog table's log says {size}"
            )
        return pa.BufferReader(data)

    def open_input_stream(self, path: str) -> pa.NativeFile:
        return self.base.open_input_stream(path)

    # Writes never go through here: the datasets built on it are read-only views.
    def create_dir(self, path: str, recursive: bool) -> None:
        raise OSError("read-only filesystem")

    def delete_dir(self, path: str) -> None:
        raise OSError("read-only filesystem")

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        raise OSError("read-only filesystem")

    def delete_root_dir_contents(self) -> None:
        raise OSError("read-only filesystem")

    def delete_file(self, path: str) -> None:
        raise OSError("read-only filesystem")

    def move(self, src: str, dest: str) -> None:
        raise OSError("read-only filesystem")

    def copy_file(self, src: str, dest: str) -> None:
        raise OSError("read-only filesystem")

    def open_output_stream(self, path: str, metadata: Any = None) -> pa.NativeFile:
        raise OSError("read-only filesystem")

    def open_append_stream(self, path: str, metadata: Any = None) -> pa.NativeFile:
        raise OSError("read-only filesystem")


def seek_position(current: int, size: int, offset: int, whence: int) -> int:
    """Where ``seek(offset, whence)`` lands in a file of ``size`` bytes read at ``current``.

    Raises:
        ValueError: An unknown ``whence`` or a position before the start.
    """
    if whence not in (0, 1, 2):
        raise ValueError(f"invalid whence {whence}")
    position = (0, current, size)[whence] + offset
    if position < 0:
        raise ValueError(f"negative seek position {position}")
    return position


class _TailFirst(io.RawIOBase):
    """A read-only file whose last ``tail`` bytes come from one ranged read, made on open.

    A Parquet reader reads the footer first (the last 64 KB), then the column chunks it
    needs: when those are the file's last columns, the one read serves them all. A read
    outside the tail (a column further up the file) is sent to ``base`` as its own range.
    pyarrow calls it through ``pa.PythonFile``, under a lock of its own (seek then read).
    """

    def __init__(self, base: pafs.FileSystem, path: str, size: int, tail: int) -> None:
        self.base, self.path, self.size_ = base, path, size
        self.start = max(0, size - tail)
        self.position = 0
        self._whole: pa.NativeFile | None = None
        with base.open_input_file(path) as handle:
            handle.seek(self.start)
            self.data = memoryview(handle.read(size - self.start))
        if len(self.data) != size - self.start:
            raise OSError(f"{path}: short read of its last {size - self.start} bytes")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def size(self) -> int:
        return self.size_

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = seek_position(self.position, self.size_, offset, whence)
        return self.position

    def read(self, nbytes: int = -1) -> bytes:
        end = self.size_ if nbytes < 0 else min(self.size_, self.position + nbytes)
        start, self.position = self.position, max(self.position, end)
        if start >= end:
            return b""
        cached = b""
        if end > self.start:
            cached = bytes(self.data[max(start, self.start) - self.start : end - self.start])
            if start >= self.start:
                return cached
        # Before the tail: that part is one more ranged read.
        if self._whole is None:
            self._whole = self.base.open_input_file(self.path)
        head_end = min(end, self.start)
        self._whole.seek(start)
        head = self._whole.read(head_end - start)
        return head + cached if cached else bytes(head)

    def close(self) -> None:
        if self._whole is not None:
            self._whole.close()
            self._whole = None
        super().close()


def whole_read_filesystem(
    base: pafs.FileSystem,
    sizes: Mapping[str, int],
    tails: Mapping[str, tuple[int, int]] | None = None,
) -> pafs.FileSystem:
    """``base``, except that each path of ``sizes`` (its exact size in bytes) is read with
    one request when opened (the caller lists only small files), and each path of
    ``tails`` (``(size, tail)``) starts with one read of its last ``tail`` bytes.

    Args:
        base: A filesystem that opens these paths without asking their size (delta-rs's
            ``DeltaStorageHandler`` given ``known_sizes``).
        sizes: Paths as ``base`` spells them, and their sizes from the Delta log.
        tails: Paths read tail first, their sizes and how many of their last bytes to read.
    """
    return pafs.PyFileSystem(_WholeReads(base, sizes, tails))
