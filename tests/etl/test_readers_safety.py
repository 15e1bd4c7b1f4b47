"""etl.readers.read_sheets refuses hostile or mislabelled files quickly, with a message naming the file."""

from __future__ import annotations

import io
import re
import time
import tracemalloc
import zipfile
from collections.abc import Callable

import pytest
import xlsxwriter

from etl.readers import Limits, UnreadableFile, read_sheets

QUICK = 2.0  # seconds


def refused(name: str, data: bytes, limits: Limits | None = None) -> str:
    """Read the file, expect a refusal within QUICK seconds; return the message."""
    started = time.perf_counter()
    with pytest.raises(UnreadableFile) as caught:
        read_sheets(name, data, limits)
    assert time.perf_counter() - started < QUICK
    message = str(caught.value)
    assert name in message
    return message


def simple_xlsx(values: list[list[object]] | None = None) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Responses")
    for r, row in enumerate(values or [["unit", "assessment", "item_id", "maturity", "evidence"],
                                       ["Ops", "2026-Q3", "4.1", 2, "hello"]]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def rewrite_part(data: bytes, part: str, change: Callable[[str], str]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            content = source.read(name)
            target.writestr(name, change(content.decode("utf-8")) if name == part else content)
    return out.getvalue()


# --- positive controls ---------------------------------------------------------------------------


def test_a_real_workbook_is_read_with_excel_row_numbers() -> None:
    values = [["title line"], [], ["unit", "item_id", "maturity"], ["Ops", "4.1", 2], [], ["Ops", "4.2", 3]]
    sheets = read_sheets("ok.xlsx", simple_xlsx(values))
    [sheet] = sheets
    assert sheet.name == "Responses"
    assert [number for number, _ in sheet.rows] == [1, 3, 4, 6]
    assert sheet.rows[1][1] == ["unit", "item_id", "maturity"]
    assert sheet.rows[2][1] == ["Ops", "4.1", "2"]  # every cell as text, a whole number without ".0"


def test_a_real_csv_is_read() -> None:
    [sheet] = read_sheets("ok.csv", b"unit,item_id\r\nOps,4.1\r\n\r\nOps,4.2\r\n")
    assert sheet.rows == [(1, ["unit", "item_id"]), (2, ["Ops", "4.1"]), (4, ["Ops", "4.2"])]


# --- mislabelled and damaged files ---------------------------------------------------------------


def test_html_page_saved_as_xlsx() -> None:
    data = b"<!DOCTYPE html>\n<html><body><table><tr><td>unit</td></tr></table></body></html>"
    message = refused("report.xlsx", data)
    assert "HTML" in message


def test_csv_saved_as_xlsx() -> None:
    message = refused("answers.xlsx", b"unit,assessment,item_id,maturity\nOps,2026-Q3,4.1,2\n")
    assert "not an Excel workbook" in message


@pytest.mark.parametrize("data", [b"", b"   \r\n\t  "])
@pytest.mark.parametrize("name", ["empty.xlsx", "empty.csv"])
def test_empty_file(name: str, data: bytes) -> None:
    assert "empty" in refused(name, data)


def test_truncated_xlsx() -> None:
    data = simple_xlsx()
    message = refused("half.xlsx", data[: len(data) // 2])
    assert "damaged or truncated" in message


def test_ole_encrypted_header_as_xlsx() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096
    message = refused("secret.xlsx", data)
    assert "encrypted" in message or "password" in message


def test_zip_without_content_types_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    assert "content types" in refused("plain-zip.xlsx", out.getvalue())


def test_unsupported_extension() -> None:
    message = refused("answers.pdf", b"%PDF-1.7\n1 0 obj\n<< >>\nendobj\n")
    assert ".pdf" in message


@pytest.mark.parametrize("data", [
    simple_xlsx(),                                                   # a workbook renamed .csv
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,             # an old .xls renamed .csv
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(32, 127)) * 4,  # NULs, decodable
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 4,       # not even cp1252
])
def test_binary_file_named_csv(data: bytes) -> None:
    message = refused("answers.csv", data)
    assert "binary" in message or "neither UTF-8 nor Windows-1252" in message


# --- size and zip bombs --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real archive: content types plus one member of 300 MB of zeros, written in streaming chunks."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types/>')
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"\x00" * (1 << 20)
            for _ in range(300):
                member.write(chunk)
    return path.read_bytes()


def test_zip_bomb_is_refused_quickly_in_little_memory(zip_bomb: bytes) -> None:
    assert len(zip_bomb) < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        started = time.perf_counter()
        with pytest.raises(UnreadableFile) as caught:
            read_sheets("bomb.xlsx", zip_bomb)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < QUICK
    assert peak < 50 * 1024 * 1024
    message = str(caught.value)
    assert "bomb.xlsx" in message and "zip bomb" in message


def test_highly_compressed_member_under_the_size_limit_is_refused() -> None:
    """50 MB of zeros: below the 200 MB expansion limit, but compressed ~1000:1."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/sharedStrings.xml", "w") as member:
            chunk = b"\x00" * (1 << 20)
            for _ in range(50):
                member.write(chunk)
    message = refused("ratio.xlsx", out.getvalue())
    assert "compressed" in message and "zip bomb" in message


def test_an_ordinary_workbook_too_big_to_unpack_is_told_to_split_not_called_a_bomb() -> None:
    data = simple_xlsx([["unit", "assessment", "item_id", "maturity", "evidence"],
                        *[["Ops", "2026-Q3", "4.1", 2, f"evidence line {n} " * 20] for n in range(2_000)]])
    unpacked = sum(m.file_size for m in zipfile.ZipFile(io.BytesIO(data)).infolist())
    message = refused("large.xlsx", data, Limits(max_file_bytes=len(data), max_uncompressed_bytes=unpacked - 1))
    assert "once unpacked" in message and "split it into smaller files" in message
    assert "bomb" not in message


def test_over_the_size_limit_with_limits_object() -> None:
    data = simple_xlsx()
    message = refused("big.xlsx", data, Limits(max_file_bytes=len(data) - 1))
    assert "limit" in message and "AIMS_MAX_UPLOAD_MB" in message
    assert read_sheets("big.xlsx", data, Limits(max_file_bytes=len(data)))  # exactly at the limit is fine


def test_over_the_size_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMS_MAX_UPLOAD_MB", "0.01")
    data = b"unit,item_id,maturity\n" + b"Ops,4.1,2\n" * 2000  # ~20 KB of valid CSV
    message = refused("big.csv", data)
    assert "AIMS_MAX_UPLOAD_MB" in message
    monkeypatch.setenv("AIMS_MAX_UPLOAD_MB", "1")
    assert read_sheets("big.csv", data)


def test_size_limit_message_states_the_configured_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """AIMS_MAX_UPLOAD_MB=25 must be reported as a 25 MB limit, not some other number."""
    monkeypatch.setenv("AIMS_MAX_UPLOAD_MB", "25")
    data = b"a,b\n" * (27 * 1024 * 1024 // 4)
    message = refused("huge.csv", data)
    limit = re.search(r"above the ([\d.]+) MB limit", message)
    assert limit, message
    assert float(limit.group(1)) == 25, message


# --- XML entity attacks --------------------------------------------------------------------------

ENTITIES = ('<!DOCTYPE worksheet [<!ENTITY a "AAAAAAAAAA"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>')


def _with_doctype(xml: str, padding: str = "") -> str:
    end = xml.index("?>") + 2
    body = xml[end:]
    # put an entity reference into a cell so that a parser expanding entities would expand it
    body = re.sub(r'<c r="E2"([^>]*) t="s"><v>\d+</v></c>', r'<c r="E2"\1 t="inlineStr"><is><t>&d;</t></is></c>', body)
    assert "&d;" in body
    return xml[:end] + padding + ENTITIES + body


def test_xml_entity_declaration_in_a_sheet_is_refused() -> None:
    data = rewrite_part(simple_xlsx(), "xl/worksheets/sheet1.xml", _with_doctype)
    message = refused("entities.xlsx", data)
    assert "document type" in message and "entity attack" in message


def test_xml_entity_declaration_in_shared_strings_is_refused() -> None:
    def change(xml: str) -> str:
        end = xml.index("?>") + 2
        return xml[:end] + ENTITIES + xml[end:].replace("hello", "&d;")

    data = rewrite_part(simple_xlsx(), "xl/sharedStrings.xml", change)
    assert "entity attack" in refused("strings.xlsx", data)


def test_entity_attack_behind_a_long_comment_is_still_refused() -> None:
    """A DOCTYPE may legally follow any amount of comment; the workbook must not be read either way."""
    data = rewrite_part(simple_xlsx(), "xl/worksheets/sheet1.xml",
                        lambda xml: _with_doctype(xml, "<!--" + "x" * 8000 + "-->"))
    refused("padded.xlsx", data)


# --- formulas ------------------------------------------------------------------------------------


def test_formulas_are_read_as_cached_values_and_never_evaluated() -> None:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Responses")
    for c, name in enumerate(["item_id", "maturity", "target", "evidence"]):
        sheet.write_string(0, c, name)
    sheet.write_string(1, 0, "4.1")
    sheet.write_formula(1, 1, "=1+1", None, 2)          # cached value matches the formula
    sheet.write_formula(1, 2, "=1+1", None, 5)          # cached value that evaluation would contradict
    sheet.write_formula(1, 3, '=HYPERLINK("http://example.invalid","click")', None, "click")
    book.close()
    raw = zipfile.ZipFile(io.BytesIO(buffer.getvalue())).read("xl/worksheets/sheet1.xml")
    assert b"<f>1+1</f>" in raw  # the file really holds formulas

    [sheet_read] = read_sheets("formulas.xlsx", buffer.getvalue())
    row = dict(sheet_read.rows)[2]
    assert row[0] == "4.1"
    assert row[1] == "2"
    assert row[2] == "5"
    assert row[3] == "click"
    assert not any(isinstance(v, str) and v.startswith("=") for _, cells in sheet_read.rows for v in cells)

