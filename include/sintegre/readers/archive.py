"""ZIP product files, including ZIPs inside ZIPs.

Members are extracted one at a time to a temporary directory and read from there, so
memory holds at most one member's tables, never the whole archive.
"""

from __future__ import annotations

import logging
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from sintegre.readers.detect import FileKind
from sintegre.readers.errors import ParseError, UnsupportedFormatError
from sintegre.readers.model import ParsedTable, dedupe_names
from sintegre.slugs import slugify

__all__ = ["MAX_DEPTH", "MAX_MEMBER_BYTES", "MemberReader", "member_label", "read_zip"]

log = logging.getLogger(__name__)

MAX_DEPTH = 4
"""ZIPs nested deeper than this are refused (guards against ZIP quines)."""
MAX_MEMBER_BYTES = 2 * 1024**3
"""Largest uncompressed member accepted; ONS members are tens of MB, bombs are not."""

_COPY_CHUNK = 1024 * 1024
_JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini"})  # Windows Explorer leftovers (OLE!)
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1

MemberReader = Callable[[Path, str, str, int], tuple[FileKind, list[ParsedTable]]]
"""``(path, file_name, label, depth) -> (kind, tables)``: reads one extracted member."""


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
        ParseError: The archive is damaged, empty, nested too deep, or a member is
            encrypted, cannot be extracted or cannot be parsed (the message names it).
    """
    if depth > MAX_DEPTH:
        raise ParseError(f"{label}: ZIP archives are nested more than {MAX_DEPTH} levels deep")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ParseError(f"{label}: the ZIP archive is damaged or truncated ({error})") from error

    tables: list[ParsedTable] = []
    with archive, tempfile.TemporaryDirectory(prefix="sintegre-zip-") as scratch:
        members = [info for info in archive.infolist() if not _is_junk(info)]
        if not members:
            raise ParseError(f"{label}: the ZIP archive contains no files")
        for position, info in enumerate(members, start=1):
            member = _member_name(info)
            where = member_label(label, member)
            extracted = Path(scratch) / f"{position:05d}{_safe_suffix(member)}"
            _extract(archive, info, extracted, where)
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
        named.append(ParsedTable(name, table.table, source, table.original_columns))
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


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, where: str) -> None:
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise ParseError(f"{where}: the member is password-protected")
    if info.file_size > MAX_MEMBER_BYTES:
        raise ParseError(
            f"{where}: the member would expand to {info.file_size} bytes, "
            f"more than the {MAX_MEMBER_BYTES}-byte limit"
        )
    written = 0
    try:
        with archive.open(info) as source, target.open("wb") as sink:
            while chunk := source.read(_COPY_CHUNK):
                written += len(chunk)
                if written > MAX_MEMBER_BYTES:
                    raise ParseError(
                        f"{where}: the member expands past the {MAX_MEMBER_BYTES}-byte limit"
                    )
                sink.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise ParseError(
            f"{where}: the member is damaged and could not be extracted ({error})"
        ) from error
    except NotImplementedError as error:
        # Windows' "compressed folder" uses Deflate64 for large files, which zipfile lacks.
        raise ParseError(
            f"{where}: the member uses a compression method Python cannot extract ({error})"
        ) from error
