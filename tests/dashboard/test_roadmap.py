"""The roadmap: one priority/phase rule (a table of cases), plans from the scoring engine, tracking in the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboard import roadmap, scoring, store, tracking
from dashboard.catalog import Catalog
from dashboard.db import connect, rows
from tests.dashboard.helpers import BY, new_assessment, stage
from tests.principals import ADMIN

TODAY = dt.date(2026, 11, 30)


def _actions(*specs: tuple[int, str, int]) -> pd.DataFrame:
    """Open actions as (assessment_id, item_id, gap)."""
    return pd.DataFrame([{"assessment_id": a, "item_id": i, "gap": g} for a, i, g in specs])


def _by_item(frame: pd.DataFrame) -> dict[str, dict]:
    return {r["item_id"]: r for r in frame.to_dict("records")}


# --- the rule, as a table of cases (no database) ----------------------------------------------------

CASES = [
    # (actions, item, expected score, expected phase, text the reason must contain)
    ([(1, "7.3", 1)], "7.3", 1.0, "Later", "Score < 2: Later"),
    ([(1, "7.3", 2)], "7.3", 2.0, "Next", "Score ≥ 2: Next"),
    ([(1, "7.3", 3)], "7.3", 3.0, "Now", "Score ≥ 3: Now"),
    ([(1, "5.2", 1)], "5.2", 1.5, "Now", "Foundation: Now"),  # weight 1.5, a foundation whatever its gap
    ([(1, "6.1.4", 1)], "6.1.4", 1.5, "Now", "Foundation: Now"),
    # 5.3 relies on 5.2: one open action waits for 5.2
    ([(1, "5.2", 1), (1, "5.3", 1)], "5.2", 2.0, "Now", "0.5 × 1 open action(s) waiting for it"),
    # transitively: 4.2 and (through 4.2) 4.3 wait for 4.1, which scores 2 (Next) but the foundation 4.3 is Now
    ([(1, "4.1", 1), (1, "4.2", 1), (1, "4.3", 1)], "4.1", 2.0, "Now", "0.5 × 2 open action(s)"),
    ([(1, "4.1", 1), (1, "4.2", 1), (1, "4.3", 1)], "4.1", 2.0, "Now", "Brought forward to Now: 4.3 relies on it"),
    ([(1, "4.1", 1), (1, "4.2", 1)], "4.1", 1.5, "Later", "Score < 2: Later"),
    # a prerequisite of a Now action is brought forward: 9.3.2 scores 1.5 (Later) but 9.3.3 (gap 3) is Now
    ([(1, "9.3.2", 1), (1, "9.3.3", 3)], "9.3.2", 1.5, "Now", "Brought forward to Now: 9.3.3 relies on it"),
    ([(1, "9.3.2", 1), (1, "9.3.3", 3)], "9.3.3", 3.0, "Now", "After 9.3.2"),
    # another assessment's gaps do not count: 5.3 is open in assessment 2 only
    ([(1, "5.2", 1), (2, "5.3", 1)], "5.2", 1.5, "Now", "Gap 1 × weight 1.5 = score 1.5"),
]


@pytest.mark.parametrize(("specs", "item", "score", "phase", "reason"), CASES)
def test_priority_rule_table(catalog: Catalog, specs, item: str, score: float, phase: str, reason: str) -> None:
    result = roadmap.prioritise(_actions(*specs), catalog)
    row = result[(result["item_id"] == item) & (result["assessment_id"] == specs[0][0])].iloc[0]
    assert row["score"] == pytest.approx(score)
    assert row["phase"] == phase
    assert reason in row["score_detail"]  # the full arithmetic, behind the short sentence
    gap = next(g for a, i, g in specs if a == specs[0][0] and i == item)
    assert row["why"].startswith(f"Gap {gap} at weight ")


def test_why_is_a_short_sentence_naming_the_gap_the_weight_and_what_waits(catalog: Catalog) -> None:
    result = _by_item(roadmap.prioritise(_actions((1, "4.1", 1), (1, "4.2", 1), (1, "4.3", 1)), catalog))
    assert result["4.1"]["why"] == "Gap 1 at weight 1; 2 actions wait for it (4.2, 4.3)."
    assert result["4.3"]["why"] == "Gap 1 at weight 1.5 (a foundation)."
    assert result["4.1"]["score_detail"].startswith("Gap 1 × weight 1 + 0.5 × 2 open action(s) waiting for it = score 2.")
    single = _by_item(roadmap.prioritise(_actions((1, "5.2", 1), (1, "5.3", 1)), catalog))
    assert single["5.2"]["why"] == "Gap 1 at weight 1.5 (a foundation); 1 action waits for it (5.3)."


def test_foundations_rank_before_the_controls_that_rely_on_them(catalog: Catalog) -> None:
    """Every clause item one level below target: scope, policy, roles, risk and impact assessment come first."""
    clauses = [item.id for item in catalog.items_of("clause")]
    result = _by_item(roadmap.prioritise(_actions(*[(1, i, 1) for i in clauses]), catalog))
    for foundation in ("4.3", "5.2", "5.3", "6.1.2", "6.1.4"):
        assert result[foundation]["phase"] == "Now"
        assert result[foundation]["foundation"]
    for dependent, prerequisite in (("8.2", "6.1.2"), ("8.4", "6.1.4"), ("5.3", "5.2"), ("4.4", "4.3"), ("7.2", "5.3")):
        assert result[prerequisite]["rank"] < result[dependent]["rank"], (dependent, prerequisite)
    assert sorted(r["rank"] for r in result.values()) == list(range(1, len(clauses) + 1))


def test_in_a_round_of_both_scopes_controls_wait_for_the_clauses_they_rely_on(catalog: Catalog) -> None:
    """Every clause and control one level below target: each control ranks after the clause it relies on."""
    result = _by_item(roadmap.prioritise(_actions(*[(1, item.id, 1) for item in catalog.items]), catalog))
    order = {phase.name: number for number, phase in enumerate(roadmap.PHASES)}
    for control, clause in (("A.2.2", "5.2"), ("A.3.2", "5.3"), ("A.5.2", "6.1.4"), ("A.6.1.2", "6.2"), ("A.9.3", "6.2")):
        assert clause in catalog.by_id[control].depends_on
        assert result[clause]["rank"] < result[control]["rank"], (control, clause)
        assert order[result[clause]["phase"]] <= order[result[control]["phase"]], (control, clause)
    # 6.2 (gap 1 × weight 1) would be Later on its own: controls planned Now rely on it
    assert result["6.2"]["phase"] == "Now"


def test_rank_never_puts_an_action_before_what_it_waits_for(catalog: Catalog) -> None:
    # 5.3 has the larger score (gap 3 × 1.5) but waits for 5.2 (gap 1): 5.2 still ranks first
    result = _by_item(roadmap.prioritise(_actions((1, "5.2", 1), (1, "5.3", 3)), catalog))
    assert result["5.3"]["score"] > result["5.2"]["score"]
    assert (result["5.2"]["rank"], result["5.3"]["rank"]) == (1, 2)
    assert result["5.3"]["waits_for"] == "5.2"


def test_suggested_action_is_the_catalogs_rubric_for_the_next_level_and_the_target(catalog: Catalog) -> None:
    item, scale = catalog.by_id["A.5.2"], catalog.scale
    text = roadmap.suggested_action(item, 1, 3, scale)
    assert text.startswith(f"Reach level 2 (Managed): {item.rubric[2]}")
    assert text.endswith(f"Then level 3 (Defined): {item.rubric[3]}")
    assert roadmap.suggested_action(item, 2, 3, scale) == f"Reach level 3 (Defined): {item.rubric[3]}"


@pytest.mark.parametrize(("day", "months", "expected"), [
    (dt.date(2026, 8, 28), 3, dt.date(2026, 11, 28)),
    (dt.date(2026, 11, 30), 3, dt.date(2027, 2, 28)),
    (dt.date(2027, 11, 30), 3, dt.date(2028, 2, 29)),
    (dt.date(2026, 1, 31), 12, dt.date(2027, 1, 31)),
])
def test_add_months(day: dt.date, months: int, expected: dt.date) -> None:
    assert roadmap.add_months(day, months) == expected


# --- plans from a real database --------------------------------------------------------------------


def _small(con: duckdb.DuckDBPyConnection) -> store.Assessment:
    a = new_assessment(con, "Alpha", "R1", scope="clauses", assessed_on=dt.date(2026, 3, 31))
    store.upsert_responses(con, stage(a.id, {
        "4.3": {"maturity": 1, "evidence": "draft scope", "owner": "Scope Owner"},
        "5.2": {"maturity": 2},
        "5.3": {"maturity": 3},
        "8.2": {"maturity": 0, "target": 2, "due_date": dt.date(2026, 5, 1)},
        "7.3": {"maturity": 4},
    }), by=BY)
    return a


def test_plan_takes_gaps_from_the_scoring_engine(con: duckdb.DuckDBPyConnection) -> None:
    a = _small(con)
    actions = roadmap.plan(con, [a.id], today=TODAY)
    items = scoring.item_scores(con, [a.id])
    gaps = items[items["gap"].fillna(0) > 0].set_index("item_id")
    assert sorted(actions["item_id"]) == sorted(gaps.index)  # 7.3 (above target) and unassessed items: no action
    for r in actions.itertuples():
        assert (r.maturity, r.target, r.gap) == (gaps.loc[r.item_id, "maturity"], gaps.loc[r.item_id, "target"],
                                                 gaps.loc[r.item_id, "gap"])
    by_item = actions.set_index("item_id")
    assert by_item.loc["4.3", "evidence"] == "draft scope"
    assert by_item.loc["4.3", "owner"] == "Scope Owner"
    assert by_item.loc["4.3", "level"] == "Initial" and by_item.loc["4.3", "target_level"] == "Defined"
    # due: the response's date, else the end of the phase from the assessment date
    assert by_item.loc["8.2", "due_date"] == dt.date(2026, 5, 1) and by_item.loc["8.2", "due_set"]
    assert by_item.loc["8.2", "overdue"]  # 2026-05-01 is before TODAY and the action is open
    assert by_item.loc["4.3", "due_date"] == dt.date(2026, 6, 30) and not by_item.loc["4.3", "due_set"]
    assert (by_item.loc["4.3", "phase_start"], by_item.loc["4.3", "phase_end"]) == (dt.date(2026, 3, 31), dt.date(2026, 6, 30))
    assert set(actions["status"]) == {"open"}


def test_set_actions_tracks_status_owner_due_with_change_log(con: duckdb.DuckDBPyConnection) -> None:
    a = _small(con)
    assert tracking.set_actions(con, [(a.id, "4.3")], {"status": "in progress", "owner": "  Dana  Lee "}, principal=ADMIN, by="lead") == 1
    assert tracking.set_actions(con, [(a.id, "4.3")], {"status": "in progress"}, principal=ADMIN, by="lead") == 0  # no change, no log
    tracking.set_actions(con, [(a.id, "4.3")], {"due_date": "2026-04-15"}, principal=ADMIN, by="lead")
    log = rows(con, "SELECT field, old_value, new_value, changed_by, source FROM change_log "
                    "WHERE item_id = '4.3' AND field LIKE 'action_%' ORDER BY id")
    assert log == [("action_status", None, "in progress", "lead", "roadmap"),
                   ("action_owner", None, "Dana Lee", "lead", "roadmap"),
                   ("action_due_date", None, "2026-04-15", "lead", "roadmap")]
    row = roadmap.plan(con, [a.id], today=TODAY).set_index("item_id").loc["4.3"]
    assert (row["status"], row["owner"], row["due_date"]) == ("in progress", "Dana Lee", dt.date(2026, 4, 15))
    # the response keeps what the unit answered
    assert rows(con, "SELECT owner FROM response WHERE assessment_id = ? AND item_id = '4.3'", [a.id]) == [("Scope Owner",)]
    # clearing the roadmap's owner falls back to the response's
    tracking.set_actions(con, [(a.id, "4.3")], {"owner": None}, principal=ADMIN, by="lead")
    assert roadmap.plan(con, [a.id], today=TODAY).set_index("item_id").loc["4.3", "owner"] == "Scope Owner"


@pytest.mark.parametrize(("changes", "message"), [
    ({"status": "closed"}, "Status must be one of"),
    ({"due_date": "next week"}, "Due date must be a date"),
    ({"priority": 1}, "Unknown action field"),
])
def test_set_actions_refuses_bad_values(con: duckdb.DuckDBPyConnection, changes: dict, message: str) -> None:
    a = _small(con)
    with pytest.raises(store.StoreError, match=message):
        tracking.set_actions(con, [(a.id, "4.3")], changes, principal=ADMIN, by="lead")
    assert rows(con, "SELECT count(*) FROM roadmap_action") == [(0,)]


def test_set_actions_is_all_or_nothing_and_checks_keys(con: duckdb.DuckDBPyConnection) -> None:
    a = _small(con)
    with pytest.raises(store.StoreError, match="No catalog item"):
        tracking.set_actions(con, [(a.id, "4.3"), (a.id, "99.9")], {"status": "done"}, principal=ADMIN, by="lead")
    assert rows(con, "SELECT count(*) FROM roadmap_action") == [(0,)]
    with pytest.raises(store.StoreError, match="No assessment"):
        tracking.set_actions(con, [(9999, "4.3")], {"status": "done"}, principal=ADMIN, by="lead")


def test_a_finalised_round_can_still_be_tracked(con: duckdb.DuckDBPyConnection) -> None:
    a = _small(con)
    store.set_status(con, a.id, "final", BY)
    with pytest.raises(store.StoreError, match="read-only"):
        store.update_response(con, a.id, "4.3", {"owner": "x"}, by=BY, principal=ADMIN)
    assert tracking.set_actions(con, [(a.id, "4.3")], {"status": "done"}, principal=ADMIN, by="lead") == 1
    assert roadmap.plan(con, [a.id], today=TODAY).set_index("item_id").loc["4.3", "status"] == "done"


def test_next_round_picks_up_the_plan_where_it_was(con: duckdb.DuckDBPyConnection) -> None:
    a = _small(con)
    tracking.set_actions(con, [(a.id, "4.3")], {"status": "in progress", "owner": "Dana", "due_date": dt.date(2026, 9, 1)},
                      principal=ADMIN, by="lead")
    tracking.set_actions(con, [(a.id, "5.2")], {"status": "done"}, principal=ADMIN, by="lead")
    b = new_assessment(con, "Alpha", "R2", scope="clauses", assessed_on=dt.date(2026, 10, 1))
    store.upsert_responses(con, stage(b.id, {"4.3": {"maturity": 2}, "5.2": {"maturity": 2}}), by=BY)
    nxt = roadmap.plan(con, [b.id], today=TODAY).set_index("item_id")
    assert (nxt.loc["4.3", "status"], nxt.loc["4.3", "owner"], nxt.loc["4.3", "due_date"]) == (
        "in progress", "Dana", dt.date(2026, 9, 1))
    assert nxt.loc["4.3", "carried_from"] == "R1"
    assert nxt.loc["5.2", "status"] == "open"  # marked done, yet still below target when assessed again
    tracking.set_actions(con, [(b.id, "4.3")], {"owner": "Eli"}, principal=ADMIN, by="lead")  # the new round's own record wins
    assert roadmap.plan(con, [b.id], today=TODAY).set_index("item_id").loc["4.3", "owner"] == "Eli"
    assert roadmap.plan(con, [a.id], today=TODAY).set_index("item_id").loc["4.3", "owner"] == "Dana"


def test_save_edits_maps_editor_rows_to_actions(con: duckdb.DuckDBPyConnection) -> None:
    a = _small(con)
    shown = roadmap.plan(con, [a.id], today=TODAY)
    row_of = {item: n for n, item in enumerate(shown["item_id"])}
    edits = {row_of["8.2"]: {"status": "done", "owner": "Ops", "score": 99}, str(row_of["5.2"]): {"due_date": "2026-12-31"}}
    assert roadmap.save_edits(con, shown, edits, principal=ADMIN, by="lead") == 2
    after = roadmap.plan(con, [a.id], today=TODAY).set_index("item_id")
    assert (after.loc["8.2", "status"], after.loc["8.2", "owner"]) == ("done", "Ops")
    assert after.loc["8.2", "score"] == shown.set_index("item_id").loc["8.2", "score"]  # computed columns ignored
    assert after.loc["5.2", "due_date"] == dt.date(2026, 12, 31)


# --- the demo data: ordering invariants and the organisation view ------------------------------------


@pytest.fixture
def demo(demo_db_copy: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with connect(demo_db_copy, wait=5) as con:
        yield con


def test_demo_plan_respects_dependencies_and_phases(demo: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    ids = scoring.select_assessments(demo, principal=ADMIN, round_label=scoring.LATEST)
    actions = roadmap.plan(demo, ids, today=TODAY)
    assert len(actions) == scoring.organisation_summary(demo, ids)["open_gaps"]
    assert set(actions["phase"]) == {"Now", "Next", "Later"}
    order = [p.name for p in roadmap.PHASES]
    for _, part in actions.groupby("assessment_id"):
        by_item = part.set_index("item_id")
        assert sorted(part["rank"]) == list(range(1, len(part) + 1))
        for item_id, row in by_item.iterrows():
            for prerequisite in filter(None, row["waits_for"].split(", ")):
                assert by_item.loc[prerequisite, "rank"] < row["rank"]
                assert order.index(by_item.loc[prerequisite, "phase"]) <= order.index(row["phase"])
            if catalog.by_id[item_id].weight > 1:
                assert row["phase"] == "Now"


def test_organisation_view_merges_the_same_item_across_units(demo: duckdb.DuckDBPyConnection) -> None:
    ids = scoring.select_assessments(demo, principal=ADMIN, round_label=scoring.LATEST)
    actions = roadmap.plan(demo, ids, today=TODAY)
    merged = roadmap.organisation_plan(demo, ids, today=TODAY)
    items = scoring.item_scores(demo, ids)
    assert sorted(merged["item_id"]) == sorted(actions["item_id"].unique())
    assert merged["units_below"].sum() == len(actions)
    row = merged.set_index("item_id").loc["A.5.2"]
    below = actions[actions["item_id"] == "A.5.2"]
    assessed = items[(items["item_id"] == "A.5.2") & items["applicable"] & items["maturity"].notna()]
    assert row["units_below"] == len(below) and row["units_assessed"] == len(assessed)
    assert row["summary"].startswith(f"{len(below)} of {len(assessed)} units below target — A.5.2 ")
    assert row["units"] == ", ".join(sorted(below["unit"], key=str.lower))
    assert row["lowest"] == below["maturity"].min()
    assert row["score"] == pytest.approx(below["score"].sum())
    assert row["phase"] == min(below["phase"], key=[p.name for p in roadmap.PHASES].index)
    assert sorted(row["keys"]) == sorted((int(a), "A.5.2") for a in below["assessment_id"])
    assert sorted(merged["rank"]) == list(range(1, len(merged) + 1))


def test_organisation_edit_applies_to_every_unit(demo: duckdb.DuckDBPyConnection) -> None:
    ids = scoring.select_assessments(demo, principal=ADMIN, round_label=scoring.LATEST)
    merged = roadmap.organisation_plan(demo, ids, today=TODAY)
    row = int(merged.index[merged["item_id"] == "A.5.2"][0])
    changed = roadmap.save_edits(demo, merged, {row: {"owner": "Central AI Office", "status": "in progress"}}, principal=ADMIN, by="lead")
    assert changed == merged.loc[row, "units_below"]
    after = roadmap.plan(demo, ids, today=TODAY)
    mine = after[after["item_id"] == "A.5.2"]
    assert set(mine["owner"]) == {"Central AI Office"} and set(mine["status"]) == {"in progress"}
    assert roadmap.organisation_plan(demo, ids, today=TODAY).set_index("item_id").loc["A.5.2", "status"] == "in progress"
    # done in some units only: the merged status says "in progress"
    tracking.set_actions(demo, [mine[["assessment_id", "item_id"]].iloc[0].tolist()], {"status": "done"}, principal=ADMIN, by="lead")
    assert roadmap.organisation_plan(demo, ids, today=TODAY).set_index("item_id").loc["A.5.2", "status"] == "in progress"


def test_timeline_title_shows_a_group_or_round_name_as_typed_not_as_html(demo: duckdb.DuckDBPyConnection) -> None:
    ids = scoring.select_assessments(demo, principal=ADMIN, units=["HR & People"], round_label=scoring.LATEST)
    actions = roadmap.plan(demo, ids, today=TODAY)
    figure = roadmap.timeline_chart(actions, title="Phases · 1 unit(s) in <a href='https://x.invalid'>Ops</a>", today=TODAY)
    assert figure.layout.title.text == "Phases"
    assert figure.layout.title.subtitle.text == "1 unit(s) in &lt;a href=&#x27;https://x.invalid&#x27;&gt;Ops&lt;/a&gt;"


def test_timeline_chart_shows_each_phase_with_its_counts(demo: duckdb.DuckDBPyConnection) -> None:
    ids = scoring.select_assessments(demo, principal=ADMIN, units=["HR & People"], round_label=scoring.LATEST)
    actions = roadmap.plan(demo, ids, today=TODAY)
    figure = roadmap.timeline_chart(actions, title="t", today=TODAY)
    bars = [t for t in figure.data if t.type == "bar"]
    assert [b.name for b in bars] == [p.name for p in roadmap.PHASES if (actions["phase"] == p.name).any()]
    for bar in bars:
        assert bar.text[0].startswith(f"{int((actions['phase'] == bar.name).sum())} action(s)")
    markers = [t for t in figure.data if t.type == "scatter"]  # the due dates people set, and anything overdue
    dated = actions[actions["due_set"] | actions["overdue"]]
    assert 0 < len(dated) < len(actions)
    # one marker per phase, date and status; together they count every dated action once
    assert sorted({x for m in markers for x in m.x}) == sorted({d.isoformat() for d in dated["due_date"]})
    assert sum(int(t.split(" ")[0]) for m in markers for t in m.text) == len(dated)


# --- due dates inside their phase window, the organisation view's order, the timeline's today ----------


def test_default_due_dates_lie_inside_their_phase_window(demo: duckdb.DuckDBPyConnection) -> None:
    ids = scoring.select_assessments(demo, round_label=scoring.LATEST, principal=ADMIN)
    for actions in (roadmap.plan(demo, ids, today=TODAY), roadmap.organisation_plan(demo, ids, today=TODAY)):
        phases = {p.name: p for p in roadmap.PHASES}
        default = actions[~actions["due_set"]]
        assert len(default) > 0
        for row in default.to_dict("records"):
            phase = phases[row["phase"]]
            assert row["phase_start"] <= row["due_date"] <= row["phase_end"]
            assert not row["due_outside_phase"]
        if "assessed_on" in actions.columns:  # the window counts from the round's own date
            for row in actions.to_dict("records"):
                phase = phases[row["phase"]]
                assert row["phase_start"] == roadmap.add_months(row["assessed_on"], phase.start_months)
                assert row["phase_end"] == roadmap.add_months(row["assessed_on"], phase.end_months)
        # a due date set outside the window is flagged, one inside is not
        dated = actions[actions["due_set"]]
        outside = (dated["due_date"] < dated["phase_start"]) | (dated["due_date"] > dated["phase_end"])
        assert (dated["due_outside_phase"] == outside).all()


def test_a_due_date_set_outside_its_phase_is_flagged(con: duckdb.DuckDBPyConnection) -> None:
    a = new_assessment(con, "Alpha", "R1", scope="clauses", assessed_on=dt.date(2026, 3, 31))
    store.upsert_responses(con, stage(a.id, {"4.3": {"maturity": 1, "target": 3}}), by=BY)  # a foundation: Now
    row = roadmap.plan(con, [a.id], today=TODAY).iloc[0]  # its window: 31 Mar to 30 Jun 2026
    assert (row["phase"], row["due_date"], row["due_outside_phase"]) == ("Now", dt.date(2026, 6, 30), False)
    tracking.set_actions(con, [(a.id, "4.3")], {"due_date": "2027-09-30"}, by="lead", principal=ADMIN)
    row = roadmap.plan(con, [a.id], today=TODAY).iloc[0]
    assert row["due_set"] and row["due_outside_phase"]
    tracking.set_actions(con, [(a.id, "4.3")], {"due_date": "2026-05-15"}, by="lead", principal=ADMIN)
    assert not roadmap.plan(con, [a.id], today=TODAY).iloc[0]["due_outside_phase"]


@pytest.mark.parametrize(("prerequisite", "dependent"), [("A.6.2.7", "A.8.2"), ("A.9.3", "A.9.2"), ("A.6.2.6", "A.8.4")])
def test_organisation_view_keeps_prerequisites_first_across_units(
    demo: duckdb.DuckDBPyConnection, catalog: Catalog, prerequisite: str, dependent: str,
) -> None:
    assert prerequisite in catalog.by_id[dependent].depends_on
    ids = scoring.select_assessments(demo, round_label=scoring.LATEST, principal=ADMIN)
    merged = roadmap.organisation_plan(demo, ids, today=TODAY).set_index("item_id")
    order = [p.name for p in roadmap.PHASES]
    assert prerequisite in merged.index and dependent in merged.index
    assert merged.loc[prerequisite, "rank"] < merged.loc[dependent, "rank"]
    assert order.index(merged.loc[prerequisite, "phase"]) <= order.index(merged.loc[dependent, "phase"])


def test_organisation_view_never_ranks_a_prerequisite_after_what_relies_on_it(
    demo: duckdb.DuckDBPyConnection, catalog: Catalog,
) -> None:
    ids = scoring.select_assessments(demo, round_label=scoring.LATEST, principal=ADMIN)
    merged = roadmap.organisation_plan(demo, ids, today=TODAY).set_index("item_id")
    order = [p.name for p in roadmap.PHASES]
    checked = 0
    for item_id, row in merged.iterrows():
        for prerequisite in catalog.by_id[item_id].depends_on:
            if prerequisite in merged.index:
                checked += 1
                assert merged.loc[prerequisite, "rank"] < row["rank"], (prerequisite, item_id)
                assert order.index(merged.loc[prerequisite, "phase"]) <= order.index(row["phase"]), (prerequisite, item_id)
    assert checked > 20
    assert sorted(merged["rank"]) == list(range(1, len(merged) + 1))
    assert all(len(w) < 160 and "×" not in w for w in merged["why"])  # a sentence; the arithmetic is in score_detail
    assert all("×" in d for d in merged["score_detail"])


def test_timeline_labels_today_above_the_plot_and_keeps_counts_off_the_bars(demo: duckdb.DuckDBPyConnection) -> None:
    ids = scoring.select_assessments(demo, units=["HR & People"], round_label=scoring.LATEST, principal=ADMIN)
    actions = roadmap.plan(demo, ids, today=TODAY)
    figure = roadmap.timeline_chart(actions, title="t", today=TODAY)
    today = [a for a in figure.layout.annotations if a.name == "today"]
    assert len(today) == 1 and today[0].text == f"Today {TODAY.isoformat()}"
    assert today[0].yref == "paper" and today[0].y == 1 and today[0].yanchor == "bottom"  # above the plot area
    assert all(b.textposition == "none" for b in figure.data if b.type == "bar")  # no text for the line to cross
    ticks = list(figure.layout.yaxis.ticktext)
    for phase in roadmap.PHASES:
        count = int((actions["phase"] == phase.name).sum())
        if count:
            assert any(t.startswith(f"<b>{phase.label}</b><br>{count} action(s)") for t in ticks)
