"""Read spreadsheets and CSV files into plain grids of cells, refusing hostile or mislabelled files first.

Every grid keeps Excel's own row and column numbers, so that each problem can point at the cell a person
sees. Workbooks are read with python-calamine (values only: formulas are never evaluated, their cached
values are read; macros are never run or kept). Before a workbook is parsed its archive is checked:

- the file size against `AIMS_MAX_UPLOAD_MB` (every file, CSV too);
- the parts the archive declares: at most 2,000, together at most 200 MiB uncompressed, and no part
  (nor the whole) compressed more than 100:1 once it is larger than 10 MiB;
- the parts as they really decompress (a zip directory can lie about sizes): every part is inflated in
  a streaming pass that stops at the first byte beyond its declared size or the 200 MiB limit, and every
  XML byte is searched for document type and entity declarations, which workbooks never need;
- `[Content_Types].xml`, parsed with defusedxml, must declare a spreadsheet.

The grids are not cleaned cell by cell here: `etl.validate` cleans each column's distinct values once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePath
from typing import Any

import python_calamine
from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from dashboard import settings

__all__ = ["MIB", "Limits", "Sheet", "UnreadableFile", "clean_cell", "current_limits", "read_sheets"]

Cell = Any
MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What a file may be before it is parsed. Sizes in bytes."""

    max_file_bytes: int
    max_uncompressed_bytes: int = 200 * MIB
    max_compression_ratio: float = 100.0
    ratio_applies_above: int = 10 * MIB
    max_archive_members: int = 2_000


def current_limits() -> Limits:
    """The limits in force: `AIMS_MAX_UPLOAD_MB` (mebibytes) from the environment, the rest fixed."""
    return Limits(max_file_bytes=round(float(settings.get("AIMS_MAX_UPLOAD_MB")) * MIB))


class UnreadableFile(ValueError):
    """The file is refused before or while parsing; the message says why, naming the file."""


def clean_cell(value: Cell) -> Cell:
    """A cell as the importer sees it: text trimmed (blank text is None), midnight datetimes as dates."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


@dataclass
class Sheet:
    """One worksheet (or a CSV file) as a grid of raw cells.

    `grid[i][j]` is the cell in Excel row `first_row + i` and zero-based column `first_col + j`; empty
    cells are `""` or None. Every row of the grid has the same length. `rows` gives the cleaned, non-empty rows for small sheets and tests.
    """

    file: str
    name: str | None
    grid: list[list[Cell]] = field(default_factory=list)
    first_row: int = 1
    first_col: int = 0
    hidden: bool = False

    @property
    def width(self) -> int:
        return len(self.grid[0]) if self.grid else 0

    def head(self, count: int) -> list[tuple[int, list[Cell]]]:
        """The first `count` non-empty rows, cleaned, each with its Excel row number."""
        out = []
        for offset, raw in enumerate(self.grid):
            cells = [clean_cell(v) for v in raw]
            if any(c is not None for c in cells):
                out.append((self.first_row + offset, cells))
                if len(out) >= count:
                    break
        return out

    @cached_property
    def rows(self) -> list[tuple[int, list[Cell]]]:
        """Every non-empty row, cleaned, with its Excel row number."""
        return self.head(len(self.grid))

    def release(self) -> None:
        """Drop the cells (once validated they are not needed, and a large sheet holds hundreds of MB)."""
        self.grid = []
        self.__dict__.pop("rows", None)


_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SPREADSHEET_TYPES = ("spreadsheetml.sheet.main+xml", "ms-excel.sheet.macroEnabled.main+xml")
_OTHER_OFFICE = {"wordprocessingml": "a Word document", "presentationml": "a PowerPoint presentation"}


def _kind_of(name: str, data: bytes) -> str:
    suffix = PurePath(name).suffix.lower()
    head = data[:512].lstrip().lower()
    if suffix in (".xlsx", ".xlsm"):
        if data.startswith(_ZIP_MAGIC):
            return "xlsx"
        if data.startswith(_OLE_MAGIC):
            raise UnreadableFile(
                f"{name}: the workbook is encrypted (password-protected) or in the old .xls format; "
                "remove the password and save it as .xlsx."
            )
        if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<table")):
            raise UnreadableFile(f"{name}: this is an HTML/XML page saved with a {suffix} name, not an Excel workbook.")
        raise UnreadableFile(f"{name}: not an Excel workbook (the content is not an .xlsx archive); it may be a CSV or text file renamed.")
    if suffix in (".csv", ".txt"):
        if data.startswith(_ZIP_MAGIC) or data.startswith(_OLE_MAGIC):
            raise UnreadableFile(f"{name}: this is a binary (Excel/zip) file with a {suffix} name; save it as .xlsx or as CSV text.")
        return "csv"
    raise UnreadableFile(f"{name}: unsupported file type {suffix or '(none)'}; use .xlsx, .xlsm or .csv.")


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
    if total > limits.max_uncompressed_bytes:
        raise _zip_bomb(name, f"the workbook would expand to {total / MIB:.0f} MB "
                              f"(limit {limits.max_uncompressed_bytes / MIB:.0f} MB)")
    ratio_limit = limits.max_compression_ratio
    if total > limits.ratio_applies_above and total / packed > ratio_limit:
        raise _zip_bomb(name, f"the workbook is compressed {total / packed:.0f}:1 (limit {ratio_limit:.0f}:1)")
    for member in members:
        if member.file_size > limits.ratio_applies_above and member.file_size / max(member.compress_size, 1) > ratio_limit:
            raise _zip_bomb(name, f"part {member.filename} is compressed "
                                  f"{member.file_size / max(member.compress_size, 1):.0f}:1 (limit {ratio_limit:.0f}:1)")


_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY")
_CHUNK = 1 << 20


def _inflate_checked(name: str, data: bytes, member: zipfile.ZipInfo, budget: int) -> int:
    """Inflate one part in a streaming pass; return its real size. Stops at the first byte beyond its
    declared size or the remaining budget, and at any document type or entity declaration in XML."""
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
            if any(marker in chunk or marker in seam for marker in _FORBIDDEN):
                raise UnreadableFile(
                    f"{name}: part {member.filename} declares a document type or entities, which workbooks never "
                    "need; refused as a possible XML entity attack."
                )
            tail = chunk[-16:]
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


def _check_archive(name: str, data: bytes, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise UnreadableFile(f"{name}: the workbook is damaged or truncated ({exc}).") from exc
    _check_declared(name, members, limits)
    budget = limits.max_uncompressed_bytes
    for member in members:
        if member.flag_bits & 0x1:
            raise UnreadableFile(f"{name}: part {member.filename} is encrypted; remove the password and save it again.")
        budget -= _inflate_checked(name, data, member, budget)
    _check_content_types(name, archive)


def _read_xlsx(name: str, data: bytes) -> list[Sheet]:
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError as exc:
        raise UnreadableFile(f"{name}: the workbook is password-protected; remove the password and try again.") from exc
    except (python_calamine.CalamineError, python_calamine.ZipError, python_calamine.XmlError, ValueError) as exc:
        raise UnreadableFile(f"{name}: the workbook could not be read ({exc}).") from exc
    sheets = []
    try:
        for meta in workbook.sheets_metadata:
            if str(meta.typ) not in ("SheetTypeEnum.WorkSheet", "WorkSheet"):
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            start_row, start_col = sheet.start or (0, 0)
            hidden = meta.visible != python_calamine.SheetVisibleEnum.Visible
            sheets.append(Sheet(name, meta.name, sheet.to_python(), start_row + 1, start_col, hidden))
    except (python_calamine.CalamineError, python_calamine.XmlError, ValueError) as exc:
        raise UnreadableFile(f"{name}: the workbook could not be read ({exc}).") from exc
    finally:
        workbook.close()
    return sheets


def _decode(name: str, data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"{name}: the text is neither UTF-8 nor Windows-1252 ({exc}).") from exc


def _read_csv(name: str, data: bytes) -> list[Sheet]:
    text = _decode(name, data)
    if "\x00" in text[:4096]:
        raise UnreadableFile(f"{name}: the file contains binary data, not CSV text.")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        grid: list[list[Cell]] = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise UnreadableFile(f"{name}: the CSV could not be parsed ({exc}).") from exc
    width = max(map(len, grid), default=0)
    grid = [row if len(row) == width else row + [""] * (width - len(row)) for row in grid]
    return [Sheet(name, None, grid)]


def read_sheets(name: str, data: bytes, limits: Limits | None = None) -> list[Sheet]:
    """Every worksheet of a workbook (or the one table of a CSV file), after the safety checks."""
    limits = limits or current_limits()
    if len(data) > limits.max_file_bytes:
        raise UnreadableFile(
            f"{name}: the file is {len(data) / MIB:.3g} MB, above the {limits.max_file_bytes / MIB:.3g} MB limit "
            "(AIMS_MAX_UPLOAD_MB)."
        )
    if not data.strip():
        raise UnreadableFile(f"{name}: the file is empty.")
    kind = _kind_of(name, data)
    if kind == "xlsx":
        _check_archive(name, data, limits)
        return _read_xlsx(name, data)
    return _read_csv(name, data)
