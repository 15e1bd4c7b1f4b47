"""The safety checks a workbook passes before it is parsed, and what they learn about its sheets on the way.

- the parts the archive declares: at most 2,000, together at most 200 MiB uncompressed, and no part
  (nor the whole) compressed more than 100:1 once it is larger than 10 MiB;
- the parts as they really decompress (a zip directory can lie about sizes): every part is inflated in
  a streaming pass that stops at the first byte beyond its declared size or the 200 MiB limit, and every
  XML byte is searched for document type and entity declarations, which workbooks never need;
- `[Content_Types].xml`, parsed with defusedxml, must declare a spreadsheet; the workbook part and its
  relationships (checked, then parsed with defusedxml) say which parts are worksheets, and while a
  worksheet streams past, the row of its first cell with a value is noted: the reader starts each sheet
  there without saying so, and reports must name the rows Excel shows; and the widest column that a
  cell with a value names in its first MiB: a sheet wider than `max_columns` is refused before parsing.
"""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ElementTree
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from dashboard import settings

__all__ = ["MIB", "Limits", "UnreadableFile", "check_archive", "current_limits", "too_wide"]

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What a file may be before it is parsed. Sizes in bytes."""

    max_file_bytes: int
    max_uncompressed_bytes: int = 200 * MIB
    max_compression_ratio: float = 100.0
    ratio_applies_above: int = 10 * MIB
    max_archive_members: int = 2_000
    # the widest sheet read: wider ones are refused before they are parsed (the template has 14 columns,
    # CISO Assistant's audit export 9, the widest template seen about 40)
    max_columns: int = 500


def current_limits() -> Limits:
    """The limits in force: `AIMS_MAX_UPLOAD_MB` (mebibytes) from the environment, the rest fixed."""
    return Limits(max_file_bytes=round(float(settings.get("AIMS_MAX_UPLOAD_MB")) * MIB))


class UnreadableFile(ValueError):
    """The file is refused before or while parsing; the message says why, naming the file."""


def too_wide(name: str, where: str, columns: int, limits: Limits) -> UnreadableFile:
    return UnreadableFile(f"{name}: {where} has {columns:,} columns, more than the {limits.max_columns:,} an assessment "
                          "sheet may have; refused before reading it (keep one row per item, or save only the "
                          "assessment's columns).")


_SPREADSHEET_TYPES = ("spreadsheetml.sheet.main+xml", "ms-excel.sheet.macroEnabled.main+xml")
_OTHER_OFFICE = {"wordprocessingml": "a Word document", "presentationml": "a PowerPoint presentation"}


def _zip_bomb(name: str, what: str) -> UnreadableFile:
    return UnreadableFile(f"{name}: {what}; refused as a possible zip bomb.")


def _check_declared(name: str, members: list[zipfile.ZipInfo], limits: Limits) -> None:
    if len(members) > limits.max_archive_members:
        raise UnreadableFile(f"{name}: the workbook archive holds {len(members)} parts (limit {limits.max_archive_members}).")
    names = {m.filename for m in members}
    if "EncryptedPackage" in names or "[Content_Types].xml" not in names:
        raise UnreadableFile(f"{name}: not a readable .xlsx workbook (encrypted, or missing its content types).")
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members) or 1
    ratio_limit = limits.max_compression_ratio  # the ratio first: a bomb is named as one
    if total > limits.ratio_applies_above and total / packed > ratio_limit:
        raise _zip_bomb(name, f"the workbook is compressed {total / packed:.0f}:1 (limit {ratio_limit:.0f}:1)")
    for member in members:
        if member.file_size > limits.ratio_applies_above and member.file_size / max(member.compress_size, 1) > ratio_limit:
            raise _zip_bomb(name, f"part {member.filename} is compressed "
                                  f"{member.file_size / max(member.compress_size, 1):.0f}:1 (limit {ratio_limit:.0f}:1)")
    if total > limits.max_uncompressed_bytes:  # an ordinary workbook, just too big to read at once
        raise UnreadableFile(f"{name}: the workbook holds {total / MIB:.0f} MB once unpacked, more than the "
                             f"{limits.max_uncompressed_bytes / MIB:.0f} MB read at once (about 340,000 rows of the template); "
                             "split it into smaller files, for example one per unit or round.")


_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY")
_CHUNK = 1 << 20


def _inflate_checked(name: str, data: bytes, member: zipfile.ZipInfo, budget: int,
                     watch: Callable[[bytes], None] | None = None) -> int:
    """Inflate one part in a streaming pass; return its real size. Stops at the first byte beyond its
    declared size or the remaining budget, and at any document type or entity declaration in XML.
    `watch` sees every checked chunk."""
    offset = member.header_offset
    header = data[offset:offset + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size or _LOCAL_HEADER.unpack(header)[0] != 0x04034B50:
        raise UnreadableFile(f"{name}: the workbook is damaged or truncated (part {member.filename} cannot be found).")
    *_, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    start = offset + _LOCAL_HEADER.size + name_length + extra_length
    packed = memoryview(data)[start:start + member.compress_size]
    if len(packed) < member.compress_size:
        raise UnreadableFile(f"{name}: the workbook is damaged or truncated (part {member.filename} is cut short).")
    is_xml = member.filename.endswith((".xml", ".rels", ".vml"))
    limit = min(member.file_size, budget)
    if member.compress_type == zipfile.ZIP_STORED:
        chunks: Any = (bytes(packed[i:i + _CHUNK]) for i in range(0, len(packed), _CHUNK))
    elif member.compress_type == zipfile.ZIP_DEFLATED:
        chunks = _inflate(name, member, packed)
    else:
        raise UnreadableFile(f"{name}: part {member.filename} uses an unsupported compression method.")
    size, tail = 0, b""
    for chunk in chunks:
        if not chunk:
            continue
        if is_xml and size == 0 and (chunk.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in chunk[:64]):
            raise UnreadableFile(f"{name}: part {member.filename} is not UTF-8 XML, which Excel always writes.")
        size += len(chunk)
        if size > limit:
            if size > budget:
                raise _zip_bomb(name, "the workbook expands beyond the uncompressed size limit")
            raise _zip_bomb(name, f"part {member.filename} expands beyond the size its archive declares")
        if is_xml:
            seam = tail + chunk[:16]  # a declaration split across two chunks
            if (b"!" in chunk or b"!" in seam) and any(marker in chunk or marker in seam for marker in _FORBIDDEN):
                raise UnreadableFile(
                    f"{name}: part {member.filename} declares a document type or entities, which workbooks never "
                    "need; refused as a possible XML entity attack."
                )
            tail = chunk[-16:]
        if watch is not None:
            watch(chunk)
    return size


def _inflate(name: str, member: zipfile.ZipInfo, packed: memoryview) -> Any:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for position in range(0, len(packed), _CHUNK // 16):
            out = inflater.decompress(packed[position:position + _CHUNK // 16], _CHUNK)
            yield out
            while inflater.unconsumed_tail:
                yield inflater.decompress(inflater.unconsumed_tail, _CHUNK)
        yield inflater.flush()
    except zlib.error as exc:
        raise UnreadableFile(f"{name}: the workbook is damaged or truncated (part {member.filename}: {exc}).") from exc


def _check_content_types(name: str, archive: zipfile.ZipFile) -> None:
    try:
        root = SafeElementTree.fromstring(archive.read("[Content_Types].xml"), forbid_dtd=True)
    except (DefusedXmlException, SafeElementTree.ParseError, zipfile.BadZipFile, zlib.error) as exc:
        raise UnreadableFile(f"{name}: the workbook's content types cannot be read safely ({exc}).") from exc
    declared = " ".join(str(node.get("ContentType", "")) for node in root)
    if not any(kind in declared for kind in _SPREADSHEET_TYPES):
        other = next((what for key, what in _OTHER_OFFICE.items() if key in declared), None)
        raise UnreadableFile(f"{name}: this is {other or 'an archive but not an Excel workbook'}, not a spreadsheet.")


# tags and types are matched by their last part, so that Strict Open XML's namespaces are read too
_OFFICE_DOCUMENT = "/officeDocument"
_WORKSHEET = "/worksheet"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _FirstValueRow:
    """Watches a worksheet's XML stream past and notes the Excel row of its first cell with a value.

    The reader (calamine) starts a sheet at that row and does not say so; this keeps row numbers true.
    A cell has a value when it holds an inline string, or a `<v>` that is not empty (an empty `<v>`
    counts for a text-typed cell), as calamine counts them. Stops parsing once found.
    """

    def __init__(self) -> None:
        self.row: int | None = None
        self._parser = ElementTree.XMLPullParser(events=("start", "end"))
        self._row = 0
        self._cell_row = 0
        self._cell_type = ""

    def __call__(self, chunk: bytes) -> None:
        for start in range(0, len(chunk), 1 << 16):
            if self.row is not None:
                return
            try:
                self._parser.feed(chunk[start:start + (1 << 16)])
                self._read()
            except ElementTree.ParseError as exc:
                raise ValueError(f"its XML is damaged ({exc})") from exc

    def _read(self) -> None:
        for event, element in self._parser.read_events():
            tag = _local(element.tag)
            if event == "start" and tag == "row":
                self._row = _row_number(element.get("r")) or self._row + 1
            elif event == "start" and tag == "c":
                self._cell_row = _row_number(element.get("r")) or self._row
                self._cell_type = element.get("t", "")
            elif event == "end" and (tag == "is" or (tag == "v" and (element.text or self._cell_type == "str"))):
                self.row = self._cell_row
                return
            elif event == "end" and tag in ("row", "c"):
                element.clear()


# a cell with a value (`<c r="XFD1" t="n"><v>1</v></c>`); an empty formatted cell (`<c r="AMJ1" s="3"/>`) is not
# one: formatting a whole row writes such cells up to the last column, and so does the sheet's declared
# dimension (`A1:AMJ2`), which is therefore not used to refuse a sheet
_CELL_COLUMN = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br=\"\$?([A-Za-z]{1,3})\d+\"[^>]*?(?<!/)>\s*<(?:\w+:)?(?:v|f|is)\b")
_WIDTH_SCAN = 1 << 20


class _Width:
    """Watches the start of a worksheet's XML: the widest column that a cell with a value names in its first
    MiB (`r="XFD1"`). Cheap, and enough to refuse a hostile width before the sheet is parsed; the reader's
    own width (cells with values) is checked again once read."""

    def __init__(self) -> None:
        self.columns = 0
        self._seen = 0
        self._tail = b""

    def __call__(self, chunk: bytes) -> None:
        if self._seen >= _WIDTH_SCAN:
            return
        part = chunk[:_WIDTH_SCAN - self._seen]
        for letters in set(_CELL_COLUMN.findall(self._tail + part)):
            self.columns = max(self.columns, _column_number(letters))
        self._tail = part[-256:]  # a cell split across two chunks
        self._seen += len(part)


def _column_number(letters: bytes) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + char - 64
    return number


def _row_number(reference: str | None) -> int | None:
    digits = (reference or "").lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$")
    return int(digits) if digits.isdigit() else None


def _relations(name: str, archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, target part path)."""
    folder, _, base = part.rpartition("/")
    rels = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
    try:
        root = SafeElementTree.fromstring(archive.read(rels), forbid_dtd=True)
    except KeyError:
        return {}
    except (DefusedXmlException, SafeElementTree.ParseError, zipfile.BadZipFile, zlib.error) as exc:
        raise UnreadableFile(f"{name}: the workbook's structure cannot be read safely ({exc}).") from exc
    out = {}
    for node in (n for n in root.iter() if _local(n.tag) == "Relationship"):
        target = str(node.get("Target", ""))
        path = target.lstrip("/") if target.startswith("/") else str(PurePath(folder, target)) if folder else target
        out[str(node.get("Id", ""))] = (str(node.get("Type", "")), _normalise(path))
    return out


def _normalise(path: str) -> str:
    parts: list[str] = []
    for piece in path.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _worksheet_parts(name: str, archive: zipfile.ZipFile, check: Callable[[str], None]) -> dict[str, str]:
    """Worksheet name -> its part in the archive, from the workbook part and its relationships.
    `check` streams a part through the safety checks before it is parsed."""
    book = next((target for kind, target in _relations(name, archive, "").values() if kind.endswith(_OFFICE_DOCUMENT)), None)
    if book is None:
        raise UnreadableFile(f"{name}: not a readable .xlsx workbook (it names no workbook part).")
    try:
        check(book)
        root = SafeElementTree.fromstring(archive.read(book), forbid_dtd=True)
    except KeyError as exc:
        raise UnreadableFile(f"{name}: the workbook is damaged (its workbook part {book} is missing).") from exc
    except (DefusedXmlException, SafeElementTree.ParseError, zipfile.BadZipFile, zlib.error) as exc:
        raise UnreadableFile(f"{name}: the workbook's structure cannot be read safely ({exc}).") from exc
    relations = _relations(name, archive, book)
    parts = {}
    for node in (n for n in root.iter() if _local(n.tag) == "sheet"):
        relation = next((value for key, value in node.attrib.items() if _local(key) == "id"), "")
        kind, target = relations.get(relation, ("", ""))
        if kind.endswith(_WORKSHEET):
            parts[str(node.get("name", ""))] = target
    return parts


def check_archive(name: str, data: bytes, limits: Limits) -> dict[str, int | None]:
    """Check the archive; return, per worksheet, the Excel row of its first cell with a value."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise UnreadableFile(f"{name}: the workbook is damaged or truncated ({exc}).") from exc
    _check_declared(name, members, limits)
    by_part = {m.filename: m for m in members}
    budget = limits.max_uncompressed_bytes
    checked: set[str] = set()

    def check(part: str, watch: Callable[[bytes], None] | None = None) -> None:
        nonlocal budget
        member = by_part[part]
        if part in checked:
            return
        if member.flag_bits & 0x1:
            raise UnreadableFile(f"{name}: part {part} is encrypted; remove the password and save it again.")
        try:
            budget -= _inflate_checked(name, data, member, budget, watch)
        except ValueError as exc:
            if isinstance(exc, UnreadableFile):
                raise
            raise UnreadableFile(f"{name}: part {part} cannot be read: {exc}.") from exc
        checked.add(part)

    # the parts that describe the workbook first: sizes and entities are checked before they are parsed
    for part in by_part:
        if part == "[Content_Types].xml" or part.endswith(".rels"):
            check(part)
    _check_content_types(name, archive)
    first_rows: dict[str, int | None] = {}
    for sheet, part in _worksheet_parts(name, archive, check).items():
        if part not in by_part:
            raise UnreadableFile(f"{name}: the workbook is damaged (sheet {sheet!r} has no part {part}).")
        watch, width = _FirstValueRow(), _Width()
        check(part, lambda chunk, watch=watch, width=width: (width(chunk), watch(chunk)))
        if width.columns > limits.max_columns:
            raise too_wide(name, f"sheet {sheet!r}", width.columns, limits)
        first_rows[sheet] = watch.row
    for part in by_part:
        check(part)
    return first_rows
