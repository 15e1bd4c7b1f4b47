"""Validation problems that name the file, sheet, row and column, and the report that collects them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Literal

import pandas as pd

from etl.exports import neutralise

__all__ = ["REPORT_COLUMNS", "ImportRejected", "Problem", "Report", "column_letter", "problems_csv", "problems_frame"]

Severity = Literal["error", "warning"]


def column_letter(index: int) -> str:
    """Excel's letter for a zero-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class Problem:
    severity: Severity
    file: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    expected: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.sheet:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        text = f"{self.severity}: {', '.join(where)}: {self.message}"
        if self.value is not None:
            text += f" (found {self.value!r}"
            text += f"; expected {self.expected})" if self.expected else ")"
        elif self.expected:
            text += f" (expected {self.expected})"
        return text


# how a message names the options given for a whole import: the command line's flags, or the page's fields
OPTION_WORDS = {
    "cli": {"unit": "--unit NAME", "assessment": "--assessment LABEL", "mapping": "a column mapping (--mapping)",
            "propose": "python -m etl frameworks propose {file}"},
    "page": {"unit": "the page's 'Business unit' field", "assessment": "the page's 'Round label' field",
             "mapping": "a correction under 'Correct the columns of {file}'",  # the page's popover, by its label
             "propose": "the page 'Proposed answers from ISO/IEC 27001'"},
}


@dataclass
class Report:
    """Every problem found in one file; any error means the file is not imported at all. `audience` says
    who reads it (`cli` or `page`), so that messages name the command's flags or the page's fields."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    audience: str = "cli"

    def option(self, name: str) -> str:
        """How to give `name` (unit, assessment, mapping) for the whole import, in the reader's terms."""
        return OPTION_WORDS.get(self.audience, OPTION_WORDS["cli"])[name].replace("{file}", self.file)

    def error(self, message: str, **where: object) -> None:
        self.problems.append(Problem("error", self.file, message, **where))  # type: ignore[arg-type]

    def warning(self, message: str, **where: object) -> None:
        self.problems.append(Problem("warning", self.file, message, **where))  # type: ignore[arg-type]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportRejected(Exception):
    """A file was refused; `report` holds every reason."""

    def __init__(self, report: Report) -> None:
        self.report = report
        errors = report.errors
        first = str(errors[0]) if errors else "rejected"
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        super().__init__(first + more)


REPORT_COLUMNS = ["severity", "file", "sheet", "row", "column", "value", "expected", "message"]


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """The problems as a table (file names without their folders), for the Import page."""
    records = [{**{k: v for k, v in asdict(p).items() if k in REPORT_COLUMNS}, "file": PurePath(p.file).name}
               for p in problems]
    table = pd.DataFrame.from_records(records, columns=REPORT_COLUMNS)
    table["row"] = table["row"].astype("Int64")
    return table


def problems_csv(problems: Iterable[Problem]) -> str:
    """The problems as CSV text, for download. Every text cell is neutralised against formula injection:
    the values come from the file that was refused and may hold `=HYPERLINK(...)` or worse."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for problem in problems:
        writer.writerow({k: neutralise(v) for k, v in asdict(problem).items() if k in REPORT_COLUMNS})
    return out.getvalue()
