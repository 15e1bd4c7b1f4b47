"""Figures over many units composed of per-unit parts (scoring.view_parts, analytics.largest_gaps,
versions.by_unit) equal the same figures computed by one SQL query over every unit, before and after an answer,
and an answer recomputes only its unit's part."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd

from dashboard import analytics, composed, provenance, scoring, selection, store, versions
from dashboard.db import connect, frame
from dashboard.scoring import ASSESSMENTS_CTE, DECIMALS, SECTIONS_CTE, items_cte, level_sql
from tests.principals import ADMIN


def _whole_sql_summary(con: duckdb.DuckDBPyConnection, picks: list) -> dict:
    """The headline as one SQL query straight over the items of every unit (the engine's CTEs, no parts)."""
    cte, _ = items_cte(picks)
    means = frame(con, f"""WITH {cte}, {SECTIONS_CTE}, {ASSESSMENTS_CTE}
        SELECT round(avg(clause_maturity), {DECIMALS}) AS clause_maturity,
               {level_sql("avg(clause_maturity)")} AS clause_maturity_level,
               round(avg(annex_maturity), {DECIMALS}) AS annex_maturity,
               round(avg(overall), {DECIMALS}) AS overall_maturity, {level_sql("avg(overall)")} AS overall_maturity_level
        FROM assessments""").iloc[0]
    pooled = frame(con, f"""WITH {cte}
        SELECT round(count(*) FILTER (WHERE kind = 'annex_a' AND state = 'implemented')
                     / nullif(count(*) FILTER (WHERE kind = 'annex_a' AND applicable), 0), {DECIMALS}) AS annex_coverage,
               round(count(*) FILTER (WHERE applicable AND maturity IS NOT NULL)
                     / nullif(count(*) FILTER (WHERE applicable), 0), {DECIMALS}) AS completeness,
               count(*) FILTER (WHERE gap > 0) AS open_gaps, count(DISTINCT assessment_id) AS assessments,
               count(DISTINCT unit) AS units
        FROM items""").iloc[0]
    out = {k: None if pd.isna(v) else float(v) for k, v in means.items()}
    out.update({k: None if pd.isna(v) else float(v) for k, v in pooled.items()})
    return out


_SAME_KEYS = ("clause_maturity", "clause_maturity_level", "annex_maturity", "overall_maturity", "overall_maturity_level",
              "annex_coverage", "completeness", "open_gaps", "assessments", "units")


def _reads(con: duckdb.DuckDBPyConnection, picks: list) -> dict[str, object]:
    return {
        "section_scores": scoring.section_scores(con, picks),
        "organisation_sections": scoring.organisation_sections(con, picks),
        "organisation_summary": scoring.organisation_summary(con, picks),
        "ranking": analytics.ranking(con, picks),
        "largest_gaps": analytics.largest_gaps(con, picks, 10),
        "largest_clause_gaps": analytics.largest_gaps(con, picks, 3, "clause"),
        "drafts": provenance.drafts(con, picks, 1.0),  # every draft under 100% complete
        "notes": provenance.notes(con, picks),
    }


def _whole_sql_drafts(con: duckdb.DuckDBPyConnection, picks: list) -> pd.DataFrame:
    """The drafts under 100% complete, counted straight over the items of every unit (no parts)."""
    cte, _ = items_cte(picks)
    return frame(con, f"""WITH {cte},
        d AS (SELECT any_value(unit) AS unit, any_value(assessment) AS round, assessment_id,
                     coalesce(count(*) FILTER (WHERE applicable AND maturity IS NOT NULL)
                              / nullif(count(*) FILTER (WHERE applicable), 0), 0) AS completeness
              FROM items WHERE status = 'draft' GROUP BY assessment_id)
        SELECT * FROM d WHERE completeness < 1 ORDER BY completeness, lower(unit)""")


def _assert_same(got: dict[str, object], want: dict[str, object]) -> None:
    for name, value in want.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got[name], value, obj=name)  # type: ignore[arg-type]
        else:
            assert got[name] == value, name


def test_composed_latest_per_unit_figures_equal_one_query_over_every_unit(demo_db_copy: Path, monkeypatch) -> None:
    path = str(demo_db_copy)
    versions.forget()
    with connect(path) as con:
        picks = scoring.select_assessments(con, principal=ADMIN)  # Latest per unit
        target = versions.picked_ids([[picks[0]]], {})[0]
        store.set_status(con, target, "draft", by="lead")
        direct = _reads(con, picks)  # outside a cached read: each figure in one call over every unit
        whole = _whole_sql_summary(con, picks)
    assert {k: direct["organisation_summary"][k] for k in _SAME_KEYS} == whole  # type: ignore[index]
    assert len(direct["section_scores"]) > 10 and direct["largest_gaps"]["gap"].gt(0).all()  # type: ignore[index]
    with connect(path) as con:
        pd.testing.assert_frame_equal(direct["drafts"], _whole_sql_drafts(con, picks))  # type: ignore[arg-type]
    assert len(direct["drafts"]) > 0  # type: ignore[arg-type]  (the demo holds drafts under 100%)

    calls: Counter[str] = Counter()
    real = scoring.view_parts

    def counted(con: duckdb.DuckDBPyConnection, chosen: list) -> tuple[pd.DataFrame, pd.DataFrame]:
        calls["units"] += len({found.unit_of[versions.picked_ids([[p]], {})[0]] for p in chosen})
        return real(con, chosen)

    counted.__module__, counted.__qualname__ = real.__module__, real.__qualname__
    monkeypatch.setattr(scoring, "view_parts", counted)

    with connect(path) as con:
        found = versions.fingerprints(con)
        with versions.reading(found):
            _assert_same(_reads(con, picks), direct)
    units = len({found.unit_of[versions.picked_ids([[p]], {})[0]] for p in picks})
    assert calls["units"] == units  # each unit's part computed once, shared by the figures
    with connect(path) as con:
        change = analytics.summary_change(con, picks)
        with versions.reading(versions.fingerprints(con)):
            assert analytics.summary_change(con, picks) == change  # composed: the same headline and change

    # one answer in one unit: the composed figures equal one query over every unit, and one part is recomputed
    with connect(path) as con:
        store.update_response(con, target, "4.1", {"maturity": 0}, by="assessor", principal=ADMIN)
        store.update_response(con, target, "4.2", {"maturity": 5}, by="assessor", principal=ADMIN)
        expected = _reads(con, picks)
        whole = _whole_sql_summary(con, picks)
    assert expected["organisation_summary"] != direct["organisation_summary"]
    assert {k: expected["organisation_summary"][k] for k in _SAME_KEYS} == whole  # type: ignore[index]
    with connect(path) as con:
        pd.testing.assert_frame_equal(expected["drafts"], _whole_sql_drafts(con, picks))  # type: ignore[arg-type]
    calls.clear()
    with connect(path) as con:
        found = versions.fingerprints(con)
        with versions.reading(found):
            _assert_same(_reads(con, picks), expected)
    assert calls["units"] == 1


def test_parts_typed_differently_compose_as_pandas_would() -> None:
    """A column all empty in some parts (object) and text or numbers in others: the composed column has the type
    pandas gives the whole, and every row stays in its part's place."""
    parts = [pd.DataFrame({"n": [1, 2], "owner": ["Ana", None]}), pd.DataFrame({"n": [3], "owner": [None]}),
             pd.DataFrame({"n": pd.Series([], dtype="int64"), "owner": pd.Series([], dtype=object)}),
             pd.DataFrame({"n": [4, 5], "owner": ["Bo", "Cy"]}), pd.DataFrame({"n": [6], "owner": [None]})]
    stacked = composed.Columns.stack([composed.Columns(p) for p in parts])
    assert stacked["n"].tolist() == [1, 2, 3, 4, 5, 6]
    assert [None if pd.isna(v) else v for v in stacked["owner"]] == ["Ana", None, None, "Bo", "Cy", None]
    whole = pd.concat([pd.Series(p["owner"].array) for p in parts], ignore_index=True)  # one Series per part
    assert stacked["owner"].dtype == pd.DataFrame({"owner": whole.array})["owner"].dtype


def test_the_change_reuses_the_figures_now_only_when_every_part_has_an_earlier_round(demo_db_copy: Path) -> None:
    """`previous_rounds` says whether every part of a selection has an earlier round; the change since the previous
    round, which then takes the figures now for its "after" side, equals the change computed from both sides."""
    with connect(str(demo_db_copy)) as con:
        picks = scoring.select_assessments(con, principal=ADMIN)
        matched, before, every = selection.previous_rounds(con, picks)
        assert (matched, before) == selection.previous(con, picks)
        assert matched and not every  # the demo has units with one round only
        again, earlier, every = selection.previous_rounds(con, matched)  # only the parts with an earlier round
        assert every and again == matched and earlier == before
        now, change = analytics.summary_change(con, matched)
        after, was = scoring.organisation_summary(con, again), scoring.organisation_summary(con, earlier)
        assert now == after
        assert change is not None and change["clause_maturity"] == round(after["clause_maturity"] - was["clause_maturity"], 2)
        assert change["open_gaps"] == after["open_gaps"] - was["open_gaps"]
