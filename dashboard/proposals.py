"""Half the work pre-done: levels proposed for 42001 items from an ISO/IEC 27001 assessment.

An organisation that already assessed its ISO 27001 management system imports that assessment
(`etl.prefill_27001` reads it). Each 27001 clause or control that our mapping set calls *equal* to a 42001
item (the harmonised-structure clauses: resources, communication, documented information, internal audit,
management review, improvement...) proposes its level for that item, marked with its source ("proposed from
ISO/IEC 27001:2022 9.2.1"). A proposal is kept apart from the answers (table `proposal`): no score, roadmap or
readiness figure sees it until an assessor accepts it (or saves another level), which writes the answer
through `store.update_response` with the proposal's source in the change log.

Items already answered (a level, or marked not applicable) get no proposal, and an item answered after its
proposal was made (in the questionnaire, an import) closes it: it is listed as *answered since*, no longer
open, and accepting or dismissing it is refused, so an answer is never overwritten by a proposal. When several
27001 items propose for one 42001 item, the lowest level is proposed and every source is named.

Assessors decide on the proposals of the units they may answer for (`proposals(principal=...)` lists only
those); importing a 27001 file is an organiser's write (it names every unit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from dashboard import store
from dashboard.access import Principal, authorise_write, units_sql
from dashboard.catalog import Catalog
from dashboard.db import frame, one, rows, transaction
from dashboard.frameworks import load_frameworks
from dashboard.mapping_store import get_set

__all__ = ["ProposalCounts", "ProposalError", "decide", "dismiss", "equal_items", "proposals", "propose", "source_label"]

FRAMEWORK = "iso-27001"
# an item counts as answered (and takes no proposal, or closes an open one) with a level or marked not applicable
ANSWERED = "(r.maturity IS NOT NULL OR NOT r.applicable)"
ANSWERED_SINCE = "answered since"  # the status an open proposal reads as once its item is answered
MAPPING_SET = "aims-42001-iso-27001"


class ProposalError(ValueError):
    """No open proposal to decide on, or a round that cannot take one; the message says which."""


@dataclass
class ProposalCounts:
    proposed: int = 0
    unchanged: int = 0
    already_answered: int = 0
    without_equal: list[str] = field(default_factory=list)  # 27001 items no 42001 item is equal to
    created: list[str] = field(default_factory=list)  # "unit · round" of 42001 assessments created for proposals
    final: list[str] = field(default_factory=list)  # finalised rounds that take no proposal

    def describe(self) -> str:
        parts = [f"{self.proposed} level(s) proposed", f"{self.unchanged} unchanged",
                 f"{self.already_answered} item(s) already answered (no proposal)"]
        if self.created:
            parts.append(f"new 42001 round(s): {', '.join(self.created)}")
        if self.final:
            parts.append(f"finalised round(s) skipped: {', '.join(self.final)}")
        if self.without_equal:
            parts.append(f"{len(self.without_equal)} ISO 27001 item(s) with no equal 42001 item")
        return "; ".join(parts)


def equal_items(con: duckdb.DuckDBPyConnection, set_id: str = MAPPING_SET) -> dict[str, list[str]]:
    """27001 requirement -> the 42001 items our set calls equal to it."""
    mapping = get_set(con, set_id)
    found: dict[str, list[str]] = {}
    for row in mapping.mapped:
        if row.relationship == "equal" and row.target and row.source:
            found.setdefault(row.target, []).append(row.source)
    return found


def source_label(source_items: str) -> str:
    return f"proposed from {load_frameworks()[FRAMEWORK].name} {source_items}"


def propose(con: duckdb.DuckDBPyConnection, readings: pd.DataFrame, *, by: str, filename: str, catalog: Catalog) -> ProposalCounts:
    """Store proposals from 27001 readings (columns unit, assessment, assessed_on, source_item, level, evidence),
    one 42001 assessment per unit and round (a draft is created when there is none)."""
    equal = equal_items(con)
    counts = ProposalCounts(without_equal=sorted({s for s in readings["source_item"] if s not in equal}))
    now = dt.datetime.now().replace(microsecond=0)
    for (unit, label), part in readings.groupby(["unit", "assessment"], sort=True):
        wanted: dict[str, tuple[int, list[str], list[str]]] = {}
        for reading in part.itertuples(index=False):
            for item in equal.get(reading.source_item, []):
                level, sources, evidence = wanted.get(item, (5, [], []))
                wanted[item] = (min(level, int(reading.level)), [*sources, reading.source_item],
                                [*evidence, *([f"{reading.source_item}: {reading.evidence}"]
                                              if isinstance(reading.evidence, str) and reading.evidence else [])])
        if not wanted:
            continue
        kinds = {catalog.by_id[i].kind for i in wanted}
        scope = "both" if len(kinds) > 1 else ("clauses" if kinds == {"clause"} else "annex_a")
        assessment = store.get_assessment(con, unit=unit, label=label)
        if assessment is None:
            dates = [d for d in part["assessed_on"] if d is not None and not pd.isna(d)]
            assessment = store.create_assessment(con, unit=unit, label=label, scope=scope, catalog_version=catalog.version,
                                                 assessed_on=min(dates) if dates else None, source="import")
            counts.created.append(f"{unit} · {label}")
        elif assessment.is_final:
            counts.final.append(f"{unit} · {label}")
            continue
        else:
            store.widen_scope(con, assessment, scope)
        answered = {r[0] for r in rows(con, f"SELECT item_id FROM response r WHERE assessment_id = ? AND {ANSWERED}",
                                       [assessment.id])}
        with transaction(con):
            for item, (level, sources, evidence) in wanted.items():
                if item in answered:
                    counts.already_answered += 1
                    continue
                named = ", ".join(sorted(set(sources)))
                old = one(con, "SELECT level, source_items, status FROM proposal WHERE assessment_id = ? AND item_id = ?",
                          [assessment.id, item])
                if old is not None and (old[0], old[1]) == (level, named):
                    counts.unchanged += 1
                    continue
                con.execute("DELETE FROM proposal WHERE assessment_id = ? AND item_id = ?", [assessment.id, item])
                con.execute("""INSERT INTO proposal (assessment_id, item_id, level, source_framework, source_items, evidence,
                                                     filename, mapping_set, proposed_by, proposed_at)
                               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                            [assessment.id, item, level, FRAMEWORK, named, "\n".join(evidence) or None, filename,
                             MAPPING_SET, by, now])
                counts.proposed += 1
    return counts


def proposals(con: duckdb.DuckDBPyConnection, assessment_ids: list[int] | None = None, *, principal: Principal,
              status: str | None = "open") -> pd.DataFrame:
    """Proposals (open ones by default) of the units the principal may see, with their unit, round, item title
    and source label. A proposal whose item was answered after it was made reads as 'answered since', not open."""
    state = f"CASE WHEN p.status = 'open' AND {ANSWERED} THEN '{ANSWERED_SINCE}' ELSE p.status END"
    where, params = [units_sql(principal)], []
    if status:
        where.append(f"{state} = ?")
        params.append(status)
    if assessment_ids is not None:
        where.append(f"p.assessment_id IN ({', '.join('?' for _ in assessment_ids) or 'NULL'})")
        params.extend(int(i) for i in assessment_ids)
    found = frame(con, f"""SELECT u.name AS unit, a.label AS assessment, p.assessment_id, p.item_id, c.title, p.level,
                                  p.source_items, p.evidence, p.filename, p.proposed_by, p.proposed_at, {state} AS status,
                                  p.decided_by, p.decided_at
                           FROM proposal p JOIN assessment a ON a.id = p.assessment_id JOIN unit u ON u.id = a.unit_id
                           LEFT JOIN catalog_item c ON c.item_id = p.item_id
                           LEFT JOIN response r ON r.assessment_id = p.assessment_id AND r.item_id = p.item_id
                           WHERE {' AND '.join(where)} ORDER BY lower(u.name), a.label, c.ord""", params)
    found.insert(6, "source", [source_label(s) for s in found["source_items"]])
    return found


def _open(con: duckdb.DuckDBPyConnection, assessment_id: int, item_id: str) -> tuple[int, str, str | None]:
    found = one(con, "SELECT level, source_items, evidence FROM proposal WHERE assessment_id = ? AND item_id = ? AND status = 'open'",
                [assessment_id, item_id])
    if found is None:
        raise ProposalError(f"no open proposal for item {item_id} of assessment {assessment_id}")
    answer = one(con, f"SELECT r.maturity, r.applicable, r.changed_by FROM response r WHERE r.assessment_id = ? AND r.item_id = ? "
                      f"AND {ANSWERED}", [assessment_id, item_id])
    if answer is not None:
        given = "marked not applicable" if not answer[1] else f"answered at level {answer[0]}"
        raise ProposalError(f"item {item_id} was {given} by {answer[2] or 'someone'} after the proposal was made: the answer "
                            "stands and the proposal is not applied (change the answer in the questionnaire if need be)")
    return int(found[0]), str(found[1]), found[2]


def decide(con: duckdb.DuckDBPyConnection, assessment_id: int, item_id: str, *, by: str, principal: Principal,
           level: int | None = None) -> str:
    """Accept the proposed level (`level` None or equal to it) or save another: the answer is written with the
    proposal's source in the change log; returns 'accepted' or 'changed'."""
    authorise_write(con, principal, "decide", [assessment_id])
    proposed, sources, evidence = _open(con, assessment_id, item_id)
    chosen = proposed if level is None else int(level)
    outcome = "accepted" if chosen == proposed else "changed"
    label = source_label(sources)
    source = label if outcome == "accepted" else f"changed from level {proposed} {label}"
    changes: dict[str, object] = {"maturity": chosen}
    current = one(con, "SELECT evidence FROM response WHERE assessment_id = ? AND item_id = ?", [assessment_id, item_id])
    if evidence and not (current and current[0]):
        changes["evidence"] = f"From the ISO/IEC 27001 assessment — {evidence}"
    store.update_response(con, assessment_id, item_id, changes, by=by, principal=principal, source=source)  # refuses a finalised round
    con.execute("UPDATE proposal SET status = ?, decided_by = ?, decided_at = ? WHERE assessment_id = ? AND item_id = ?",
                [outcome, by, dt.datetime.now().replace(microsecond=0), assessment_id, item_id])
    return outcome


def dismiss(con: duckdb.DuckDBPyConnection, assessment_id: int, item_id: str, *, by: str, principal: Principal) -> None:
    """Set a proposal aside without answering the item (those who may answer for the unit)."""
    authorise_write(con, principal, "dismiss", [assessment_id])
    _open(con, assessment_id, item_id)
    con.execute("UPDATE proposal SET status = 'dismissed', decided_by = ?, decided_at = ? WHERE assessment_id = ? AND item_id = ?",
                [by, dt.datetime.now().replace(microsecond=0), assessment_id, item_id])
