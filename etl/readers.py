"""Read spreadsheets and CSV files into plain tables of cells, refusing hostile or mislabelled files first.

Every table keeps Excel's own row numbers, so that each problem can point at the cell a person sees.
Workbooks are read with python-calamine (values only: formulas are never evaluated, their cached values
are read; macros are never run or kept). Before a workbook is parsed its archive is checked: total
uncompressed size, compression ratio and XML document type declarations (entity tricks).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import python_calamine

from dashboard import settings

__all__ = ["LIMITS", "Sheet", "UnreadableFile", "read_sheets"]

Cell = Any


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_compression_ratio: float = 100.0
    max_archive_members: int = 2_000


def _limits() -> Limits:
    return Limits(max_file_bytes=int(float(settings.get("AIMS_MAX_UPLOAD_MB")) * 1024 * 1024))


LIMITS = _limits()


class UnreadableFile(ValueError):
    """The file is refused before or while parsing; the message says why, naming the file."""


@dataclass
class Sheet:
    """The non-empty rows of one sheet (or a CSV file), each with its 1-based Excel row number."""

    file: str
    name: str | None
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)


_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


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
        if not data:
            raise UnreadableFile(f"{name}: the file is empty.")
        raise UnreadableFile(f"{name}: not an Excel workbook (the content is not an .xlsx archive); it may be a CSV or text file renamed.")
    if suffix in (".csv", ".txt"):
        if data.startswith(_ZIP_MAGIC) or data.startswith(_OLE_MAGIC):
            raise UnreadableFile(f"{name}: this is a binary (Excel/zip) file with a {suffix} name; save it as .xlsx or as CSV text.")
        return "csv"
    raise UnreadableFile(f"{name}: unsupported file type {suffix or '(none)'}; use .xlsx, .xlsm or .csv.")


def _check_archive(name: str, data: bytes, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise UnreadableFile(f"{name}: the workbook is damaged or truncated ({exc}).") from exc
    if len(members) > limits.max_archive_members:
        raise UnreadableFile(f"{name}: the workbook archive holds {len(members)} parts (limit {limits.max_archive_members}).")
    names = {m.filename for m in members}
    if "EncryptedPackage" in names or "[Content_Types].xml" not in names:
        raise UnreadableFile(f"{name}: not a readable .xlsx workbook (encrypted, or missing its content types).")
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members) or 1
    if total > limits.max_uncompressed_bytes:
        raise UnreadableFile(
            f"{name}: the workbook would expand to {total / 1e6:.0f} MB (limit {limits.max_uncompressed_bytes / 1e6:.0f} MB); "
            "refused as a possible zip bomb."
        )
    if total / packed > limits.max_compression_ratio and total > 10 * 1024 * 1024:
        raise UnreadableFile(
            f"{name}: the workbook is compressed {total / packed:.0f}:1 (limit {limits.max_compression_ratio:.0f}:1); "
            "refused as a possible zip bomb."
        )
    for member in members:
        if not member.filename.endswith((".xml", ".rels", ".vml")):
            continue
        with archive.open(member) as part:
            head = part.read(4096)
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
            raise UnreadableFile(
                f"{name}: part {member.filename} declares a document type or entities, which workbooks never need; "
                "refused as a possible XML entity attack."
            )


def _clean(value: Cell) -> Cell:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


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
            start_row = (sheet.start or (0, 0))[0]
            table = Sheet(name, meta.name)
            for offset, raw in enumerate(sheet.iter_rows()):
                cells = [_clean(v) for v in raw]
                if any(c is not None and c != "" for c in cells):
                    table.rows.append((start_row + offset + 1, cells))
            sheets.append(table)
    except (python_calamine.CalamineError, python_calamine.XmlError, ValueError) as exc:
        raise UnreadableFile(f"{name}: the workbook could not be read ({exc}).") from exc
    finally:
        workbook.close()
    return sheets


def _decode(name: str, data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
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
    table = Sheet(name, None)
    try:
        for number, raw in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            cells = [_clean(v) for v in raw]
            if any(c is not None for c in cells):
                table.rows.append((number, cells))
    except csv.Error as exc:
        raise UnreadableFile(f"{name}: the CSV could not be parsed ({exc}).") from exc
    return [table]


def read_sheets(name: str, data: bytes, limits: Limits | None = None) -> list[Sheet]:
    """Every worksheet of a workbook (or the one table of a CSV file), after the safety checks."""
    limits = limits or _limits()
    if len(data) > limits.max_file_bytes:
        raise UnreadableFile(
            f"{name}: the file is {len(data) / 1e6:.1f} MB, above the {limits.max_file_bytes / 1e6:.0f} MB limit "
            "(AIMS_MAX_UPLOAD_MB)."
        )
    if not data.strip():
        raise UnreadableFile(f"{name}: the file is empty.")
    kind = _kind_of(name, data)
    if kind == "xlsx":
        _check_archive(name, data, limits)
        return _read_xlsx(name, data)
    return _read_csv(name, data)
