"""ZIP product files, including ZIPs inside ZIPs.

Members are extracted one at a time to a temporary directory and read from there, so
memory holds at most one member's tables, never the whole archive.

A downloaded archive is untrusted input. Before anything is extracted, the central
directory is checked as a whole: a member path that would escape a folder ("zip slip":
``../x``, ``/etc/x``, ``C:\\x``), too many members, too many bytes in total, a member
that expands too much for its compressed size (a "zip bomb") or a compression method
whose decompressor Python cannot bound refuses the whole archive. The declared sizes can
lie, so the same limits are enforced again on the bytes actually written, and the byte
budget is shared by ZIPs nested inside ZIPs. A refused archive raises: it never yields
some of its tables.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sintegre.core.slugs import slugify
from sintegre.readers.detect import FileKind
from sintegre.readers.errors import ParseError, UnsupportedFormatError
from sintegre.readers.model import ParsedTable, dedupe_names

__all__ = [
    "MAX_COMPRESSION_RATIO",
    "MAX_DEPTH",
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_TOTAL_BYTES",
    "RATIO_CHECK_MIN_BYTES",
    "MemberReader",
    "check_archive",
    "member_label",
    "read_zip",
    "unsafe_member_path",
]

log = logging.getLogger(__name__)

MAX_DEPTH = 4
"""ZIPs nested deeper than this are refused (guards against ZIP quines)."""
MAX_MEMBER_BYTES = 2 * 1024**3
"""Largest uncompressed member accepted; ONS members are tens of MB, bombs are not."""
MAX_MEMBERS = 10_000
"""Most entries (folders included) one archive may list; NEWAVE decks have a few hundred."""
MAX_TOTAL_BYTES = 8 * 1024**3
"""Most bytes one download may expand to, summed over every member of every nesting level."""
MAX_COMPRESSION_RATIO = 200
"""Largest uncompressed/compressed ratio accepted for a member above
:data:`RATIO_CHECK_MIN_BYTES`. ONS CSVs and sheets compress 5-30:1; zeros compress ~1000:1."""
RATIO_CHECK_MIN_BYTES = 1024**2
"""Members up to this size are not ratio-checked: tiny repetitive files compress very well."""

_COPY_CHUNK = 1024 * 1024
_JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini"})  # Windows Explorer leftovers (OLE!)
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1
# zipfile bounds the output of a deflate step, but hands a whole compressed chunk to the
# bzip2/LZMA decompressors: 4 KiB of bzip2 can become gigabytes in memory before the
# declared size is applied. ONS archives are stored or deflated, so only those are read.
_BOUNDED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "Deflate64"}
_DRIVE = re.compile(r"^[A-Za-z]:")

MemberReader = Callable[[Path, str, str, int], tuple[FileKind, list[ParsedTable]]]
"""``(path, file_name, label, depth) -> (kind, tables)``: reads one extracted member."""


@dataclass
class _Budget:
    """Bytes still allowed to be extracted for the current download (all nesting levels)."""

    remaining: int
    limit: int


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "sintegre_zip_budget", default=None
)


@contextmanager
def _shared_budget() -> Iterator[_Budget]:
    """The budget of the outermost archive being read, created by that archive."""
    current = _BUDGET.get()
    if current is not None:
        yield current
        return
    budget = _Budget(MAX_TOTAL_BYTES, MAX_TOTAL_BYTES)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def unsafe_member_path(name: str) -> str | None:
    """Tell why a member path would escape the extraction folder ("zip slip").

    Args:
        name: The member path as stored (backslashes are treated as separators, since
            Windows tools write them and Windows extractors honour them).

    Returns:
        The reason (``"an absolute path"``, ``"a drive letter"``, ``"a '..' component"``),
        or ``None`` when the path stays inside the folder.
    """
    normalised = name.replace("\\", "/")
    if normalised.startswith("/"):
        return "an absolute path"
    if _DRIVE.match(normalised):
        return "a drive letter"
    if ".." in normalised.split("/"):
        return "a '..' component"
    return None


def check_archive(archive: zipfile.ZipFile, label: str) -> None:
    """Refuse a hostile archive from its central directory, before extracting anything.

    Args:
        archive: The open archive.
        label: Archive description for error messages.

    Raises:
        ParseError: Too many members, a member path escaping the folder, a member larger
            than :data:`MAX_MEMBER_BYTES`, a total above :data:`MAX_TOTAL_BYTES` (or what is
            left of it for a nested archive), a compression ratio above
            :data:`MAX_COMPRESSION_RATIO`, or an unbounded compression method. The message
            names the member.
    """
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ParseError(
            f"{label}: the ZIP archive lists {len(infos)} entries, more than the "
            f"{MAX_MEMBERS} accepted (a zip bomb or not a product file); nothing was read"
        )
    total = 0
    for info in infos:
        where = member_label(label, _member_name(info))
        reason = unsafe_member_path(info.filename)
        if reason is not None:
            raise ParseError(
                f"{where}: refused: the member path has {reason} and would be written outside "
                "the extraction folder (zip slip); the archive is not trusted and nothing was read"
            )
        if info.is_dir():
            continue
        if info.compress_type not in _BOUNDED_METHODS:
            method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
            raise ParseError(
                f"{where}: the member is compressed with {method}; only stored and deflate "
                "members are extracted (their expansion can be bounded)"
            )
        if info.file_size > MAX_MEMBER_BYTES:
            raise ParseError(
                f"{where}: the member would expand to {info.file_size} bytes, "
                f"more than the {MAX_MEMBER_BYTES}-byte limit (zip bomb?); nothing was read"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise ParseError(
                f"{where}: the member expands {ratio:.0f}:1 ({info.compress_size} to "
                f"{info.file_size} bytes), above the {MAX_COMPRESSION_RATIO}:1 limit "
                "(zip bomb?); nothing was read"
            )
        total += info.file_size
    budget = _BUDGET.get()
    allowed = budget.remaining if budget is not None else MAX_TOTAL_BYTES
    if total > allowed:
        raise ParseError(
            f"{label}: the ZIP archive would expand to {total} bytes, more than the "
            f"{allowed} bytes left of the {MAX_TOTAL_BYTES}-byte limit (zip bomb?); "
            "nothing was read"
        )


def member_label(archive_label: str, member: str) -> str:
    """Describe a member for error messages, e.g. ``"a.zip" member "dados/b.csv"``.

    Args:
        archive_label: The archive's own description.
        member: The member path inside the archive.

    Returns:
        The description.
    """
    return f'{archive_label} member "{member}"'


def read_zip(
    path: Path, label: str, read_member: MemberReader, depth: int = 0
) -> list[ParsedTable]:
    """Read every data member of a ZIP archive.

    Args:
        path: The archive on disk.
        label: Archive description for error messages.
        read_member: Reads one extracted member (the format dispatcher).
        depth: Nesting level of this archive (0 for the downloaded file).

    Returns:
        The members' tables in archive order. Names are ``slugify(member stem)``, with
        ``_<sheet slug>`` for workbooks with several sheets; tables of nested ZIPs keep
        the names the inner archive gave them; repeated names get ``_2``, ``_3``.
        ``source_member`` is the member path, prefixed to the inner path or sheet.

    Raises:
        ParseError: The archive is damaged, truncated, empty, nested too deep or hostile
            (see :func:`check_archive`), or a member is encrypted, cannot be extracted or
            cannot be parsed (the message names it). Nothing is returned for a refused
            archive: the error propagates instead of skipping the member.
    """
    if depth > MAX_DEPTH:
        raise ParseError(f"{label}: ZIP archives are nested more than {MAX_DEPTH} levels deep")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ParseError(f"{label}: the ZIP archive is damaged or truncated ({error})") from error

    tables: list[ParsedTable] = []
    with (
        archive,
        _shared_budget() as budget,
        tempfile.TemporaryDirectory(prefix="sintegre-zip-") as scratch,
    ):
        check_archive(archive, label)
        members = [info for info in archive.infolist() if not _is_junk(info)]
        if not members:
            raise ParseError(f"{label}: the ZIP archive contains no files")
        for position, info in enumerate(members, start=1):
            member = _member_name(info)
            where = member_label(label, member)
            extracted = Path(scratch) / f"{position:05d}{_safe_suffix(member)}"
            _extract(archive, info, extracted, where, budget)
            try:
                kind, found = read_member(extracted, member, where, depth + 1)
            except UnsupportedFormatError as error:
                # A logo or a .docx "leia-me" next to the data must not cost us the data.
                log.warning("Skipping member that is not a data file: %s", error)
                continue
            finally:
                extracted.unlink(missing_ok=True)
            tables.extend(_name_member_tables(member, position, kind, found))
    return dedupe_names(tables)


def _name_member_tables(
    member: str, position: int, kind: FileKind, found: list[ParsedTable]
) -> list[ParsedTable]:
    stem = slugify(PurePosixPath(member).stem, fallback=f"member_{position}")
    named: list[ParsedTable] = []
    for table in found:
        if kind is FileKind.ZIP:
            name = table.name
        elif len(found) == 1 or not table.name:
            name = stem
        else:
            name = f"{stem}_{table.name}"
        source = f"{member}/{table.source_member}" if table.source_member else member
        # replace() keeps the sheet name and a streamed table's path.
        named.append(dataclasses.replace(table, name=name, source_member=source))
    return named


def _is_junk(info: zipfile.ZipInfo) -> bool:
    if info.is_dir():
        return True
    parts = PurePosixPath(info.filename.replace("\\", "/")).parts
    if "__MACOSX" in parts:
        return True  # macOS resource forks, never data
    base = parts[-1] if parts else ""
    return base.startswith(".") or base.lower() in _JUNK_NAMES


def _member_name(info: zipfile.ZipInfo) -> str:
    # Without the UTF-8 flag, zipfile decodes names as cp437. Brazilian Windows tools
    # write the OEM code page (cp850) and Linux tools raw UTF-8, so "Previsão.csv" would
    # come out as "Previs╞o.csv"; recover the original bytes and decode them properly.
    name = info.filename
    if not info.flag_bits & _UTF8_FLAG:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            raw = b""
        if raw:
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                name = raw.decode("cp850")
    # Some Windows tools store "pasta\\arquivo.csv"; zipfile only converts on Windows.
    return name.replace("\\", "/")


def _safe_suffix(member: str) -> str:
    suffix = PurePosixPath(member).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""


def _extract(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, where: str, budget: _Budget
) -> None:
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise ParseError(f"{where}: the member is password-protected")
    # The central directory was checked, but its sizes are only claims: count real bytes.
    # (zipfile itself stops at the declared size and then fails the CRC; these limits
    # also hold if that ever changes, and they carry the budget across nesting levels.)
    limit = min(MAX_MEMBER_BYTES, budget.remaining)
    ratio_limit = max(info.compress_size, 1) * MAX_COMPRESSION_RATIO
    written = 0
    try:
        with archive.open(info) as source, target.open("wb") as sink:
            while chunk := source.read(_COPY_CHUNK):
                written += len(chunk)
                if written > info.file_size:
                    raise ParseError(
                        f"{where}: the member expands past its declared {info.file_size} bytes "
                        "(a forged archive); nothing was read"
                    )
                if written > limit:
                    raise ParseError(
                        f"{where}: the member expands past the {limit} bytes left of the "
                        f"{budget.limit}-byte limit (zip bomb?); nothing was read"
                    )
                if written > RATIO_CHECK_MIN_BYTES and written > ratio_limit:
                    raise ParseError(
                        f"{where}: the member expands more than {MAX_COMPRESSION_RATIO}:1 "
                        "(zip bomb?); nothing was read"
                    )
                sink.write(chunk)
        budget.remaining -= written
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise ParseError(
            f"{where}: the member is damaged and could not be extracted ({error})"
        ) from error
    except NotImplementedError as error:
        # Windows' "compressed folder" uses Deflate64 for large files, which zipfile lacks.
        raise ParseError(
            f"{where}: the member uses a compression method Python cannot extract ({error})"
        ) from error
