"""A long-format workbook for the import benchmark: one row per unit, round and item.

    python benchmarks/import_generate.py                      # 100,000 rows -> benchmarks/out/import-100k.xlsx
    python benchmarks/import_generate.py --rows 20000 --out benchmarks/out/import-20k.xlsx

100,000 rows are about 1,430 unit assessments x 70 items (units of four rounds each). Columns are the
canonical ones (the responses export), written with xlsxwriter in constant-memory mode; dates are real
Excel dates; ~8% of maturities are blank (not assessed), ~4% of Annex A controls are excluded with a
justification, most rows carry an evidence sentence, gaps carry an owner and a due date. One seeded
generator: the same arguments always give the same file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: make the core importable
    sys.path.insert(0, str(ROOT))

import xlsxwriter  # noqa: E402

from dashboard.catalog import load_catalog  # noqa: E402
from etl.canonical import COLUMNS  # noqa: E402

__all__ = ["DEFAULT_OUT", "generate"]

DEFAULT_OUT = ROOT / "benchmarks" / "out" / "import-100k.xlsx"
ROUNDS = (("2025-Q1", dt.datetime(2025, 3, 20)), ("2025-Q3", dt.datetime(2025, 9, 18)),
          ("2026-Q1", dt.datetime(2026, 3, 19)), ("2026-Q3", dt.datetime(2026, 9, 17)))
OWNERS = ("CISO", "Chief Data Officer", "Head of Model Risk", "Head of Compliance", "AI Product Owner", "COO")
EVIDENCE = ("Approved procedure", "Signed-off register", "Quarterly review minutes", "Training records",
            "Risk assessment report", "Supplier questionnaire", "Monitoring dashboard export", "Internal audit finding")
TOPICS = ("credit scoring model", "chatbot", "document OCR pipeline", "fraud detection", "pricing engine",
          "HR screening tool", "code assistant pilot", "claims triage classifier")


def generate(out: Path, rows: int, seed: int = 42) -> tuple[int, int]:
    """Write the workbook; return (rows written, assessments)."""
    catalog = load_catalog()
    rng = random.Random(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("Responses")
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    for col, name in enumerate(COLUMNS):
        sheet.write_string(0, col, name)
    column = {name: index for index, name in enumerate(COLUMNS)}
    written, assessment = 0, 0
    while written < rows:
        unit = f"Business Unit {assessment // len(ROUNDS) + 1:04d}"
        label, day = ROUNDS[assessment % len(ROUNDS)]
        base = rng.uniform(0.8, 3.6)
        for item in catalog.items:
            if written >= rows:
                break
            r = written + 1
            sheet.write_string(r, column["unit"], unit)
            sheet.write_string(r, column["assessment"], label)
            sheet.write_datetime(r, column["assessed_on"], day, date)
            sheet.write_string(r, column["section"], item.section)
            sheet.write_string(r, column["item_id"], item.id)
            sheet.write_string(r, column["title"], item.title)
            target = 4 if rng.random() < 0.1 else 3
            sheet.write_number(r, column["target"], target)
            if item.kind == "annex_a" and rng.random() < 0.04:
                sheet.write_string(r, column["applicable"], "no")
                sheet.write_string(r, column["justification"], f"No {rng.choice(TOPICS)} in this unit; "
                                                                "the control is covered by the group function.")
            else:
                sheet.write_string(r, column["applicable"], "yes")
                if rng.random() > 0.08:
                    maturity = max(0, min(5, round(base + rng.gauss(0, 0.9))))
                    sheet.write_number(r, column["maturity"], maturity)
                    if maturity < target:
                        sheet.write_string(r, column["owner"], rng.choice(OWNERS))
                        sheet.write_datetime(r, column["due_date"], day + dt.timedelta(days=rng.randint(60, 400)), date)
                if rng.random() < 0.75:
                    sheet.write_string(r, column["evidence"], f"{rng.choice(EVIDENCE)} for the {rng.choice(TOPICS)} "
                                                              f"(ref {rng.randint(1000, 99999)}), v{rng.randint(1, 9)}")
                if rng.random() < 0.15:
                    sheet.write_string(r, column["notes"], f"Follow up with {rng.choice(OWNERS)} in {label}")
            written += 1
        assessment += 1
    book.close()
    return written, assessment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows, assessments = generate(args.out, args.rows, args.seed)
    print(f"Wrote {rows:,} rows ({assessments:,} unit assessments) to {args.out} "
          f"({args.out.stat().st_size / 2**20:.1f} MB) in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
