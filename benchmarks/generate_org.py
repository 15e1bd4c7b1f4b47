"""A synthetic organisation for benchmarks: many units, many rounds, written straight into DuckDB.

    python benchmarks/generate_org.py --units 500 --rounds 8 --out benchmarks/out/org500.duckdb

Every assessment covers both scopes (all 70 items), so 500 units x 8 rounds is 280,000 responses.
The data is built set-based with numpy from one seeded generator and inserted with INSERT ... SELECT,
so the same arguments always give the same responses. The spread is meant to look like a real group:
unit baselines vary (a few strong, a few weak units), sections are harder or easier, most units
progress from round to round with noise and some regress, ~3% of Annex A controls are not applicable
(with a justification), ~2% of the latest round's items are still unassessed (those rounds stay
drafts), targets are mostly the default with some 4s, evidence is a short phrase, gaps have owners.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: make the core importable
    sys.path.insert(0, str(ROOT))

from dashboard.catalog import Catalog, load_catalog  # noqa: E402
from dashboard.db import connect, transaction  # noqa: E402

__all__ = ["GENERATED_BY", "Generated", "generate", "round_labels"]

GENERATED_BY = "generate_org"
FIRST_YEAR = 2023

_DIVISIONS = ("Retail Banking", "Corporate Banking", "Wealth Management", "Insurance", "Payments",
              "Markets", "Operations", "Technology", "Risk & Compliance", "Group Functions", "Consumer Finance",
              "Real Estate")
_PLACES = ("Amsterdam", "Athens", "Barcelona", "Berlin", "Bratislava", "Brussels", "Bucharest", "Budapest",
           "Copenhagen", "Dublin", "Edinburgh", "Frankfurt", "Geneva", "Hamburg", "Helsinki", "Krakow", "Lisbon",
           "Ljubljana", "London", "Luxembourg", "Lyon", "Madrid", "Manchester", "Milan", "Munich", "Oslo", "Paris",
           "Porto", "Prague", "Riga", "Rome", "Rotterdam", "Sofia", "Stockholm", "Tallinn", "Turin", "Valencia",
           "Vienna", "Vilnius", "Warsaw", "Zagreb", "Zurich")
_FUNCTIONS = ("Lending", "Cards", "Mortgages", "Savings", "Claims", "Underwriting", "Pricing", "Fraud", "Collections",
              "Onboarding", "Treasury", "Trading", "Custody", "Analytics", "Marketing", "HR", "Procurement",
              "Customer Service", "Finance", "Legal")
_DOCS = ("policy", "procedure", "register", "RACI", "risk register", "impact assessment", "model card",
         "validation report", "KPI pack", "audit report", "training log", "review minutes", "runbook",
         "supplier questionnaire", "data catalogue", "change log")
_PLACES_KEPT = ("SharePoint", "Confluence", "Jira", "ServiceNow", "Archer", "MLflow", "Collibra", "the GRC tool")
_QUALIFIERS = ("draft", "approved", "v2", "partly filled in", "reviewed yearly", "since last year", "pilot only",
               "not yet signed off")
_OWNERS = ("Head of Risk", "CDO", "CISO", "Head of Data Science", "Model Risk Manager", "Compliance Officer",
           "COO", "Head of Legal", "HR Business Partner", "Platform Lead", "Procurement Lead", "Internal Audit",
           "A. Novak", "B. Schmidt", "C. Rossi", "D. Dubois", "E. Jansen", "F. Nilsson", "G. Costa", "H. Weber")
_JUSTIFICATIONS = (
    "No in-house model development; the unit only uses vendor SaaS, covered by supplier controls (A.10).",
    "No AI system is offered to customers; models only support internal staff.",
    "Deployment is done centrally by Group Technology and assessed there.",
    "No external data is acquired for AI use; all data comes from core systems under the group data standard.",
    "The unit runs no AI system in production; use cases are at idea stage only.",
)
_NOTES = ("Follow up at the next steering committee.", "Evidence requested from the vendor.",
          "Depends on the group-wide programme.", "Rescored after internal audit.", "Owner changed this quarter.")
# systematic difficulty of sections across the organisation (the rest is drawn per unit)
_SECTION_BIAS = {"4": 0.3, "5": 0.35, "6": 0.15, "7": 0.0, "8": -0.1, "9": -0.3, "10": -0.4, "A.2": 0.4,
                 "A.3": 0.1, "A.4": 0.0, "A.5": -0.45, "A.6": 0.05, "A.7": -0.15, "A.8": -0.35, "A.9": -0.2,
                 "A.10": -0.25}


@dataclass(frozen=True)
class Generated:
    path: str
    units: int
    parents: int
    assessments: int
    responses: int
    seconds: float

    def describe(self) -> str:
        return (f"{self.path}: {self.units} units under {self.parents} parents, {self.assessments} assessments, "
                f"{self.responses:,} responses in {self.seconds:.1f} s")


def round_labels(rounds: int) -> list[tuple[str, dt.date]]:
    """Quarterly round labels from 2023-Q1 with the quarter's first day: [("2023-Q1", 2023-01-01), ...]."""
    out = []
    for n in range(rounds):
        year, quarter = FIRST_YEAR + n // 4, n % 4 + 1
        out.append((f"{year}-Q{quarter}", dt.date(year, 3 * quarter - 2, 1)))
    return out


def _unit_names(count: int, rng: np.random.Generator) -> list[str]:
    """Unique names like 'Lisbon Cards'; a number is added once the place x function pairs run out."""
    pairs = [f"{place} {function}" for place in _PLACES for function in _FUNCTIONS]
    order = rng.permutation(len(pairs))
    names = []
    for n in range(count):
        base = pairs[order[n % len(pairs)]]
        names.append(base if n < len(pairs) else f"{base} {n // len(pairs) + 1}")
    return names


def _units(units: int, parents: int, rng: np.random.Generator) -> tuple[list[str], pd.DataFrame]:
    parent_names = [f"{d} Division" for d in _DIVISIONS[:parents]] + [
        f"Division {n + 1}" for n in range(max(0, parents - len(_DIVISIONS)))
    ]
    frame = pd.DataFrame({
        "ord": np.arange(units),
        "name": _unit_names(units, rng),
        "parent": [parent_names[i] for i in rng.integers(0, parents, units)] if parents else [None] * units,
    })
    return parent_names, frame


def _assessments(units: pd.DataFrame, rounds: int, rng: np.random.Generator, draft_units: np.ndarray,
                 catalog: Catalog) -> pd.DataFrame:
    labels = round_labels(rounds)
    n = len(units)
    unit_index = np.repeat(np.arange(n), rounds)
    round_index = np.tile(np.arange(rounds), n)
    offsets = rng.integers(10, 80, n * rounds)  # a day within the quarter
    dates = [labels[r][1] + dt.timedelta(days=int(d)) for r, d in zip(round_index, offsets, strict=True)]
    latest = round_index == rounds - 1
    status = np.where(latest & np.isin(unit_index, draft_units), "draft", "final")
    return pd.DataFrame({
        "unit_index": unit_index,
        "round_index": round_index,
        "unit": units["name"].to_numpy()[unit_index],
        "label": [labels[r][0] for r in round_index],
        "scope": "both",
        "assessed_on": dates,
        "status": status,
        "source": "import",
        "catalog_version": catalog.version,
        "default_target": catalog.scale.default_target,
        "created_at": [dt.datetime.combine(d, dt.time(9, 0)) for d in dates],
    })


def _pick(vocabulary: tuple[str, ...], rng: np.random.Generator, size: int) -> np.ndarray:
    return np.asarray(vocabulary, dtype=object)[rng.integers(0, len(vocabulary), size)]


def _responses(assessments: pd.DataFrame, units: int, rounds: int, rng: np.random.Generator,
               draft_units: np.ndarray, catalog: Catalog) -> pd.DataFrame:
    """One row per assessment and item; maturity from a latent score with unit, section and round effects."""
    items = catalog.items
    n_items = len(items)
    section_ids = [s.id for s in catalog.sections]
    item_section = np.array([section_ids.index(i.section) for i in items])
    is_annex = np.array([i.kind == "annex_a" for i in items])
    bias = np.array([_SECTION_BIAS.get(s, 0.0) for s in section_ids])

    # per unit: baseline (a mixture: most middling, some strong, some weak), pace, section profile
    kind = rng.choice(3, size=units, p=[0.7, 0.15, 0.15])
    baseline = np.select([kind == 1, kind == 2], [rng.normal(2.9, 0.35, units), rng.normal(0.9, 0.3, units)],
                         rng.normal(1.8, 0.45, units))
    pace = np.clip(rng.normal(0.17, 0.1, units), -0.05, 0.45)  # maturity gained per round
    profile = rng.normal(0.0, 0.4, (units, len(section_ids)))
    item_level = rng.normal(0.0, 0.45, (units, n_items))  # how each unit does on each item, stable over rounds
    # some units regress: from one round on, a section (or everything) drops
    drops = np.zeros((units, rounds, len(section_ids)))
    for u in np.flatnonzero(rng.random(units) < 0.12):
        start = rng.integers(1, max(rounds, 2))
        if rng.random() < 0.3:
            drops[u, start:, :] -= rng.uniform(0.4, 0.9)
        else:
            drops[u, start:, rng.integers(0, len(section_ids))] -= rng.uniform(0.8, 1.6)

    u = assessments["unit_index"].to_numpy()[:, None]
    r = assessments["round_index"].to_numpy()[:, None]
    latent = (baseline[u] + bias[item_section][None, :] + profile[u, item_section[None, :]] + item_level[u, np.arange(n_items)]
              + pace[u] * r + drops[u, r, item_section[None, :]]
              + rng.normal(0.0, 0.35, (len(assessments), n_items)))
    maturity = np.clip(np.rint(latent), 0, 5).astype(float)

    not_applicable_pair = (rng.random((units, n_items)) < 0.03) & is_annex[None, :]  # decided once per unit
    not_applicable = not_applicable_pair[u[:, 0]]
    justification_choice = rng.integers(0, len(_JUSTIFICATIONS), (units, n_items))[u[:, 0]]
    target_four = rng.random((units, n_items)) < 0.07
    target = np.where(target_four[u[:, 0]], 4.0, np.nan)

    latest_draft = (r[:, 0] == rounds - 1) & np.isin(u[:, 0], draft_units)
    unassessed = latest_draft[:, None] & (rng.random(maturity.shape) < 0.10) & ~not_applicable
    maturity[unassessed | not_applicable] = np.nan

    size = maturity.size
    flat_maturity = maturity.ravel()
    effective_target = np.where(np.isnan(target), float(catalog.scale.default_target), target).ravel()
    has_gap = ~np.isnan(flat_maturity) & (flat_maturity < effective_target)
    evidence = np.char.add(np.char.add(_pick(_DOCS, rng, size).astype(str), " in "),
                           _pick(_PLACES_KEPT, rng, size).astype(str))
    evidence = np.char.add(np.char.add(evidence, ", "), _pick(_QUALIFIERS, rng, size).astype(str)).astype(object)
    evidence[np.isnan(flat_maturity) | (flat_maturity == 0) | (rng.random(size) < 0.25)] = None
    owner = _pick(_OWNERS, rng, size)
    owner[~has_gap | (rng.random(size) < 0.15)] = None
    assessed_on = pd.to_datetime(assessments["assessed_on"]).to_numpy().repeat(n_items)
    due = assessed_on + (rng.integers(6, 53, size) * 7).astype("timedelta64[D]")
    due_date = np.array(pd.Series(due).dt.date.tolist(), dtype=object)
    due_date[pd.isna(owner)] = None
    notes = _pick(_NOTES, rng, size)
    notes[rng.random(size) >= 0.04] = None
    justification = np.asarray(_JUSTIFICATIONS, dtype=object)[justification_choice.ravel()]
    justification[~not_applicable.ravel()] = None

    return pd.DataFrame({
        "assessment_index": np.repeat(np.arange(len(assessments)), n_items),
        "item_id": np.tile(np.array([i.id for i in items], dtype=object), len(assessments)),
        "maturity": pd.array(flat_maturity, dtype="Float64").astype("Int16"),
        "target": pd.array(target.ravel(), dtype="Float64").astype("Int16"),
        "applicable": ~not_applicable.ravel(),
        "justification": justification,
        "evidence": evidence,
        "owner": owner,
        "due_date": due_date,
        "notes": notes,
        "changed_by": GENERATED_BY,
        "changed_at": pd.to_datetime(assessments["created_at"]).to_numpy().repeat(n_items),
    })


def generate(path: str | Path, units: int, rounds: int, seed: int = 42, *, parents: int = 10) -> Generated:
    """Write a synthetic organisation into the database at `path` (which must hold no unit yet).

    Returns the counts written. The same `units`, `rounds`, `seed` and `parents` give the same data.
    """
    if units < 1 or rounds < 1:
        raise ValueError("Need at least one unit and one round.")
    parents = max(0, min(parents, max(1, units // 5)))  # a parent groups a handful of units at least
    started = time.perf_counter()
    catalog = load_catalog()
    rng = np.random.default_rng(seed)
    parent_names, unit_frame = _units(units, parents, rng)
    draft_units = rng.choice(units, size=max(1, round(units * 0.2)), replace=False)
    assessments = _assessments(unit_frame, rounds, rng, draft_units, catalog)
    responses = _responses(assessments, units, rounds, rng, draft_units, catalog)

    with connect(path, catalog=catalog) as con:
        if con.execute("SELECT count(*) FROM unit").fetchall()[0][0]:
            raise ValueError(f"{path} already holds business units; generate into a new database file.")
        parent_frame = pd.DataFrame({"ord": np.arange(len(parent_names)), "name": parent_names})
        with transaction(con):
            con.register("_parents", parent_frame)
            created = dt.datetime(FIRST_YEAR, 1, 1, 9, 0)
            con.execute("INSERT INTO unit (name, created_at) SELECT name, ? FROM _parents ORDER BY ord", [created])
            con.register("_units", unit_frame)
            con.execute("""INSERT INTO unit (name, parent_id, created_at)
                           SELECT n.name, p.id, ? FROM _units n LEFT JOIN unit p ON p.name = n.parent ORDER BY n.ord""",
                        [created])
            con.register("_assessments", assessments)
            con.execute("""INSERT INTO assessment (unit_id, label, scope, assessed_on, status, source, catalog_version,
                                                   default_target, created_at)
                           SELECT u.id, a.label, a.scope, a.assessed_on, a.status, a.source, a.catalog_version,
                                  a.default_target, a.created_at
                           FROM _assessments a JOIN unit u ON u.name = a.unit ORDER BY a.unit_index, a.round_index""")
            ids = con.execute("""SELECT a.id FROM _assessments s JOIN unit u ON u.name = s.unit
                                 JOIN assessment a ON a.unit_id = u.id AND a.label = s.label
                                 ORDER BY s.unit_index, s.round_index""").fetchnumpy()["id"]
            responses.insert(0, "assessment_id", ids[responses.pop("assessment_index").to_numpy()])
            con.register("_responses", responses)
            con.execute("""INSERT INTO response (assessment_id, item_id, maturity, target, applicable, justification,
                                                 evidence, owner, due_date, notes, changed_by, changed_at,
                                                 created_by, created_at, created_source)
                           SELECT assessment_id, item_id, maturity, target, applicable, justification, evidence,
                                  owner, due_date, notes, changed_by, changed_at, changed_by, changed_at, 'form'
                           FROM _responses""")
            for name in ("_parents", "_units", "_assessments", "_responses"):
                con.unregister(name)
        con.execute("CHECKPOINT")
    return Generated(str(path), units, len(parent_names), len(assessments), len(responses),
                     time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=500, help="business units with assessments (default 500)")
    parser.add_argument("--rounds", type=int, default=8, help="quarterly rounds from 2023-Q1 (default 8)")
    parser.add_argument("--parents", type=int, default=10, help="parent units grouping them (default 10; 0: none)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "org500.duckdb"), help="the database file")
    parser.add_argument("--force", action="store_true", help="replace the file if it exists")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        if not args.force:
            print(f"{out} exists; pass --force to replace it.", file=sys.stderr)
            return 2
        out.unlink()
        Path(f"{out}.wal").unlink(missing_ok=True)
    print(generate(out, args.units, args.rounds, args.seed, parents=args.parents).describe())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
