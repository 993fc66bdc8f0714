"""The lake's pyarrow filesystem for fsspec users (DuckDB), with one listing per glob.

DuckDB reads an ``s3://`` lake through a registered fsspec filesystem (its own S3 support, the
httpfs extension, would have to be downloaded). fsspec's generic ``ArrowFSWrapper`` finds the
files of a glob by walking the tree: one LIST request per folder
(``history/<dataset>/macroprocesso=*/periodicidade=*/``) plus an ``info`` (HEAD and LIST) per
folder and per file opened. Measured on moto with 58 datasets: 192 globs, 576 listings and
442 ``info`` calls, 7.5 s of ``views.connect``'s 7.6 s. Here a glob is one recursive listing
(S3 returns 1,000 keys per request, with their sizes), and the size and time of the files it
listed under ``immutable`` prefixes are answered from it. Only there: ``history/`` files are
named by their content's version and never rewritten, so a size seen by a listing stays true;
a ``curated/`` file is replaced under the same name, and its size is always asked afresh.

Opening such a listed file is deferred to its first read: pyarrow's S3 ``open_input_file``
asks the object's size (a HEAD) on opening, and DuckDB opens a file at every bind of a view
over it (a dataset's two views and macro: three opens) to find its footer already in its own
cache (``enable_external_file_cache``, validated by the listed time). Measured on moto
(64 datasets): 192 opens, each a HEAD, for 64 footers read.

Within :meth:`ListingArrowFS.same_listings` (``views.connect``), the last ``FOOTER_BYTES`` of
such a file are read once and kept: DuckDB reads the footer again at each of the three binds
(its metadata cache did not spare the reads), a HEAD and a GET each time on S3. Measured on
moto (64 datasets, issue #15): 192 HEADs and 192 GETs became 64 and 64.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fsspec.implementations.arrow import ArrowFile, ArrowFSWrapper
from pyarrow.fs import FileSelector, FileType

from sintegre.lake.whole_reads import seek_position

#: Entries kept from listings for ``info``; cleared past this size (a long session).
_MAX_REMEMBERED = 200_000
#: Bytes kept from the end of each history file while views are bound: a Parquet footer and
#: its length (a dataset's footer is a few KB; a larger one is read past it, as before).
FOOTER_BYTES = 64 << 10


class ListingArrowFS(ArrowFSWrapper):  # type: ignore[misc]  # fsspec has no type hints
    """``ArrowFSWrapper`` whose ``find`` is one recursive listing and whose ``info`` reuses it."""

    #: One instance per connection (fsspec would share one per filesystem): what it remembers
    #: and :meth:`same_listings` stay with the connection that asked.
    cachable = False

    def __init__(self, fs: Any, immutable: tuple[str, ...] = (), **kwargs: Any) -> None:
        """Wrap ``fs``; ``immutable``: path prefixes (``bucket/lake/history/``) whose files are
        never rewritten under the same name."""
        super().__init__(fs, **kwargs)
        self._immutable = immutable
        self._listed: dict[str, dict[str, Any]] = {}
        #: While :meth:`same_listings` is active: each folder's listing, reused.
        self._finds: dict[tuple[str, int | None, bool], dict[str, dict[str, Any]]] | None = None
        #: While :meth:`same_listings` is active: each file's last bytes, once read.
        self._tails: dict[str, bytes] | None = None

    @contextlib.contextmanager
    def same_listings(self) -> Iterator[None]:
        """Within the block, a folder is listed once (``views.connect`` binds each dataset's
        history glob three times: its two views and its ``_as_of`` macro); after it, every
        glob lists again, so queries see files landed since."""
        self._finds, self._tails = {}, {}
        try:
            yield
        finally:
            self._finds = self._tails = None

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Every file under ``path`` (and folder, with ``withdirs``), from one listing."""
        root = self._strip_protocol(path).rstrip("/")
        memo = (root, maxdepth, withdirs)
        if self._finds is not None and memo in self._finds:
            known = self._finds[memo]
            return dict(known) if detail else list(known)
        selector = FileSelector(root, recursive=True, allow_not_found=True)
        try:
            infos = self.fs.get_file_info(selector)
        except NotADirectoryError:
            infos = []
        found: dict[str, dict[str, Any]] = {}
        if not infos:
            # ``path`` may be a file itself (fsspec's find returns it then).
            [info] = self.fs.get_file_info([root])
            if info.type is FileType.File:
                infos = [info]
        depth = root.count("/")
        for info in infos:
            if maxdepth is not None and info.path.count("/") - depth > maxdepth:
                continue
            if info.type is FileType.File or (withdirs and info.type is FileType.Directory):
                found[info.path] = self._make_entry(info)
        self._remember(found)
        ordered = dict(sorted(found.items()))
        if self._finds is not None:
            self._finds[memo] = ordered
        return ordered if detail else list(ordered)

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """A listed file's entry from the listing, else one request as usual."""
        entry = self._listed.get(self._strip_protocol(path))
        if entry is not None:
            return dict(entry)
        result: dict[str, Any] = super().info(path, **kwargs)
        return result

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        seekable: bool = True,
        **kwargs: Any,
    ) -> Any:
        """A listed immutable file opens on its first read (see the module's note)."""
        stripped = self._strip_protocol(path)
        entry = self._listed.get(stripped)
        if entry is None or mode != "rb" or not seekable:
            return super()._open(path, mode, block_size, seekable, **kwargs)
        size = int(entry["size"])
        opener = lambda: self.fs.open_input_file(stripped)  # noqa: E731
        if self._tails is not None:
            stream: _DeferredInput = _TailKept(opener, size, self._tails, stripped)
        else:
            stream = _DeferredInput(opener, size)
        return ArrowFile(self, stream, stripped, mode, block_size, **kwargs)

    def modified(self, path: str) -> Any:
        """A listed file's time from the listing, else one request."""
        entry = self._listed.get(self._strip_protocol(path))
        return entry["mtime"] if entry is not None else super().modified(path)

    def _remember(self, entries: dict[str, dict[str, Any]]) -> None:
        if len(self._listed) + len(entries) > _MAX_REMEMBERED:
            self._listed.clear()
        self._listed.update(
            (name, entry)
            for name, entry in entries.items()
            if entry["type"] == "file" and name.startswith(self._immutable)
        )


class _DeferredInput:
    """A pyarrow input file opened on first use; its size is known without opening it."""

    def __init__(self, opener: Any, size: int) -> None:
        self._opener = opener
        self._size = size
        self._stream: Any = None
        self._closed = False

    def _opened(self) -> Any:
        if self._stream is None:
            if self._closed:
                raise ValueError("I/O operation on a closed file")
            self._stream = self._opener()
        return self._stream

    @property
    def closed(self) -> bool:
        return self._closed if self._stream is None else bool(self._stream.closed)

    def size(self) -> int:
        return self._size

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def close(self) -> None:
        self._closed = True
        if self._stream is not None:
            self._stream.close()

    def __getattr__(self, name: str) -> Any:
        # read, readinto, seek, tell…: the real file's, opened now.
        return getattr(self._opened(), name)


class _TailKept(_DeferredInput):
    """A deferred file whose last :data:`FOOTER_BYTES` are read once and shared through
    ``kept`` (path → bytes) by every later open of the same path; other reads go to the file,
    opened then."""

    def __init__(self, opener: Any, size: int, kept: dict[str, bytes], path: str) -> None:
        super().__init__(opener, size)
        self._kept, self._path = kept, path
        self._tail_start = max(0, size - FOOTER_BYTES)
        self._position = 0

    def _tail(self) -> bytes:
        tail = self._kept.get(self._path)
        if tail is None:
            stream = self._opened()
            stream.seek(self._tail_start)
            tail = stream.read(self._size - self._tail_start)
            if len(tail) != self._size - self._tail_start:
                raise OSError(f"{self._path}: short read of its last {len(tail)} bytes")
            # Two threads may read the same tail at once: both get the same bytes.
            self._kept[self._path] = tail
        return tail

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        self._position = seek_position(self._position, self._size, offset, whence)
        return self._position

    def read(self, nbytes: int | None = -1) -> bytes:
        start = self._position
        end = self._size if nbytes is None or nbytes < 0 else min(self._size, start + nbytes)
        if start >= end:
            return b""
        if start >= self._tail_start:
            data = self._tail()[start - self._tail_start : end - self._tail_start]
        else:
            stream = self._opened()
            stream.seek(start)
            data = stream.read(end - start)
        self._position = start + len(data)
        return bytes(data)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)
