"""Campaigns on real DuckDB files: launching for a parent unit (one transaction, clashes refused by name, previous
answers copied, assessors granted through access.grant), the review's transitions (every invalid one refused with a
clear message), comments reaching the assessor, the board's counts against the rounds' states, progress over time,
overdue rounds with their mailto: links, and the setting "management views show finalised rounds only"."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import duckdb
import pytest

from dashboard import access, campaigns, provenance, review, rounds, scoring, selection, store
from dashboard.access import AccessDenied
from dashboard.catalog import Catalog
from dashboard.db import connect, lease
from tests.dashboard.helpers import stage
from tests.principals import ADMIN

BY = "Lea Lead <lead@example.org>"
DAY = dt.date(2026, 1, 15)
DUE = dt.date(2026, 3, 31)


@pytest.fixture
def org(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Group > (Insurance > (Life, P&C), Banking); Other stands apart; Old is archived under Group."""
    with connect(db_path) as con:
        store.ensure_unit(con, "Group")
        store.ensure_unit(con, "Insurance", "Group")
        store.ensure_unit(con, "Life", "Insurance")
        store.ensure_unit(con, "P&C", "Insurance")
        store.ensure_unit(con, "Banking", "Group")
        store.ensure_unit(con, "Other")
        old = store.ensure_unit(con, "Old", "Group")
        store.archive_unit(con, old)
        access.grant(con, "lead@example.org", "lead", by=ADMIN)
        yield con


def lead(con: duckdb.DuckDBPyConnection) -> access.Principal:
    return access.resolve(con, "lead@example.org", "Lea Lead")


def assessor(con: duckdb.DuckDBPyConnection, email: str = "ann@example.org") -> access.Principal:
    return access.resolve(con, email, "Ann Assessor")


def start(con: duckdb.DuckDBPyConnection, **given) -> campaigns.Campaign:
    options = {"name": "AIMS 2026", "scope": "clauses", "label": "2026-Q1", "assessed_on": DAY, "due_on": DUE,
               "principal": lead(con), "by": BY} | given
    return campaigns.launch(con, **options)


def answer_all(con: duckdb.DuckDBPyConnection, catalog: Catalog, assessment_id: int, level: int = 2,
               leave_out: int = 0) -> None:
    items = [i.id for i in catalog.items if i.kind == "clause"]
    chosen = items[: len(items) - leave_out]
    with con.cursor() as cur:
        cur.execute("BEGIN TRANSACTION")
        store.upsert_responses(cur, stage(assessment_id, {i: {"maturity": level} for i in chosen}), by="ann", source="form")
        cur.execute("COMMIT")


def round_of(found: campaigns.Campaign, unit: str) -> int:
    return found.assessment_ids[found.units.index(unit)]


# --- launching --------------------------------------------------------------------------------------------------


def test_launch_for_a_parent_creates_one_round_per_active_unit_below_it(org: duckdb.DuckDBPyConnection) -> None:
    found = start(org, parent="Insurance", assessors={"Life": ["Ann@Example.org"], "P&C": ["bob@example.org"]})
    assert found.units == ("Insurance", "Life", "P&C")
    made = store.list_assessments(org)
    assert sorted(made["unit"]) == ["Insurance", "Life", "P&C"]
    assert set(made["label"]) == {"2026-Q1"} and set(made["scope"]) == {"clauses"}
    assert set(made["status"]) == {"draft"}
    assert {str(d)[:10] for d in made["assessed_on"]} == {"2026-01-15"}
    # the whole group: every active unit below Group (Old is archived), Other left out
    whole = start(org, parent="Group", label="2026-Q2")
    assert whole.units == ("Banking", "Group", "Insurance", "Life", "P&C")
    # each round is logged with who and when, and tied to its campaign
    log = org.execute("""SELECT assessment_id, field, new_value, changed_by, source FROM change_log
                         WHERE assessment_id IN (SELECT assessment_id FROM campaign_round WHERE campaign_id = ?)
                         AND field IN ('created', 'campaign') ORDER BY assessment_id, field""", [found.id]).fetchall()
    assert len(log) == 6
    assert {r[3] for r in log} == {BY} and {r[4] for r in log} == {"campaign"}
    assert {r[2] for r in log if r[1] == "campaign"} == {f"AIMS 2026 (campaign {found.id})"}
    listed = campaigns.campaigns(org, principal=lead(org))
    assert listed["name"].tolist() == ["AIMS 2026", "AIMS 2026"] and sorted(listed["units"]) == [3, 5]


def test_launch_grants_assessors_through_access_and_logs_it(org: duckdb.DuckDBPyConnection) -> None:
    access.grant(org, "carl@example.org", "assessor", "Insurance", by=ADMIN)  # covers Life already
    found = start(org, units=["Life", "Banking"],
                  assessors={"life": ["ann@example.org", "carl@example.org", "lead@example.org"],
                             "Banking": ["ann@example.org"]})
    assert sorted(found.granted) == ["ann@example.org → Banking", "ann@example.org → Life"]
    ann = assessor(org)
    ids = {r[0] for r in org.execute("SELECT id FROM unit WHERE name IN ('Life', 'Banking')").fetchall()}
    assert ann.role == "assessor" and ids <= ann.unit_ids
    granted = org.execute("""SELECT item_id, new_value, changed_by FROM change_log WHERE field = 'role'
                             AND item_id = 'ann@example.org' ORDER BY new_value""").fetchall()
    assert granted == [("ann@example.org", "assessor of Banking", BY), ("ann@example.org", "assessor of Life", BY)]
    # carl (assessor of the parent) and the lead were not given another role
    assert org.execute("SELECT count(*) FROM role_assignment WHERE email = 'carl@example.org'").fetchall()[0][0] == 1
    assert org.execute("SELECT count(*) FROM role_assignment WHERE email = 'lead@example.org'").fetchall()[0][0] == 1
    board = campaigns.board(org, found.id, principal=lead(org)).set_index("unit")
    assert board.loc["Life", "assessors"] == "ann@example.org, carl@example.org, lead@example.org"
    # whoever answers for a unit is on its row, named at the launch or not (dora: assessor of the whole Group)
    access.grant(org, "dora@example.org", "assessor", "Group", by=ADMIN)
    board = campaigns.board(org, found.id, principal=lead(org)).set_index("unit")
    assert board.loc["Banking", "assessors"] == "ann@example.org, dora@example.org"
    assert board.loc["Life", "assessors"] == "ann@example.org, carl@example.org, dora@example.org, lead@example.org"


def test_a_lead_grants_the_assessor_role_only_for_a_campaigns_units(org: duckdb.DuckDBPyConnection) -> None:
    who = lead(org)
    for role, unit in (("administrator", None), ("lead", None), ("viewer", None), ("assessor", "Life")):
        with pytest.raises(AccessDenied, match="Only an administrator"):
            access.grant(org, "eve@example.org", role, unit, by=who)  # the Access page's path stays theirs
    with pytest.raises(AccessDenied, match="campaign's units only"):
        access.grant_assessors(org, [("eve@example.org", "Life")], by=who)  # Life is in no campaign yet
    start(org, units=["Life"], assessors={"Life": ["dan@example.org"]})  # the launch grants dan
    with pytest.raises(AccessDenied, match=r"campaign's units only \(Other is in no campaign\)"):
        access.grant_assessors(org, [("eve@example.org", "Life"), ("eve@example.org", "Other")], by=who)
    with pytest.raises(AccessDenied, match="Only an administrator"):
        access.revoke(org, "dan@example.org", "assessor", "Life", by=who)
    with pytest.raises(AccessDenied):
        access.grant_assessors(org, [("eve@example.org", "Life")], by=assessor(org, "dan@example.org"))
    with pytest.raises(ValueError, match="No unit named 'Mars'"):
        access.grant_assessors(org, [("eve@example.org", "Mars")], by=who)
    assert access.grant_assessors(org, [("Eve@example.org", "life"), ("dan@example.org", "Life")], by=who) == [
        "eve@example.org → Life"]  # dan had it already
    assert org.execute("SELECT role, unit_id IS NOT NULL FROM role_assignment WHERE email = 'eve@example.org'"
                       ).fetchall() == [("assessor", True)]
    assert access.grant_assessors(org, [("fay@example.org", "Other")], by=ADMIN) == ["fay@example.org → Other"]


def test_a_clash_is_refused_naming_the_units_and_nothing_is_written(org: duckdb.DuckDBPyConnection) -> None:
    rounds.start_assessment(org, unit="Life", label="2026-Q1", scope="clauses", catalog_version="t", assessed_on=DAY,
                            principal=ADMIN, by="x")
    rounds.start_assessment(org, unit="P&C", label="2026-Q1", scope="clauses", catalog_version="t", assessed_on=DAY,
                            principal=ADMIN, by="x")
    before = org.execute("SELECT (SELECT count(*) FROM assessment), (SELECT count(*) FROM campaign), "
                         "(SELECT count(*) FROM change_log), (SELECT count(*) FROM role_assignment)").fetchall()
    with pytest.raises(campaigns.CampaignError, match=r"Life, P&C already have a round labelled '2026-Q1'"):
        start(org, parent="Group", assessors={"Banking": ["ann@example.org"]})
    after = org.execute("SELECT (SELECT count(*) FROM assessment), (SELECT count(*) FROM campaign), "
                        "(SELECT count(*) FROM change_log), (SELECT count(*) FROM role_assignment)").fetchall()
    assert after == before


def test_a_failure_half_way_rolls_the_whole_launch_back(org: duckdb.DuckDBPyConnection, catalog: Catalog,
                                                         monkeypatch) -> None:
    old, _ = rounds.start_assessment(org, unit="Life", label="2025-Q4", scope="clauses", catalog_version="t",
                                     assessed_on=dt.date(2025, 11, 1), principal=ADMIN, by="x")
    answer_all(org, catalog, old.id)
    before = org.execute("SELECT (SELECT count(*) FROM assessment), (SELECT count(*) FROM response), "
                         "(SELECT count(*) FROM change_log), (SELECT count(*) FROM role_assignment)").fetchall()
    real = rounds.copy_previous_within
    calls = []

    def failing(con, created, *, by):
        calls.append(created.unit)
        if len(calls) == 5:  # Banking, Group, Insurance, Life (its answers copied), then P&C fails
            raise store.StoreError("disk full")
        return real(con, created, by=by)

    monkeypatch.setattr(rounds, "copy_previous_within", failing)
    with pytest.raises(store.StoreError, match="disk full"):
        start(org, parent="Group", assessors={"Banking": ["ann@example.org"]}, copy_previous=True)
    assert calls == ["Banking", "Group", "Insurance", "Life", "P&C"]
    after = org.execute("SELECT (SELECT count(*) FROM assessment), (SELECT count(*) FROM response), "
                        "(SELECT count(*) FROM change_log), (SELECT count(*) FROM role_assignment)").fetchall()
    assert after == before
    assert org.execute("SELECT count(*) FROM campaign").fetchall()[0][0] == 0


@pytest.mark.parametrize(("given", "message"), [
    ({"units": ["Nowhere"]}, "No business unit named 'Nowhere'"),
    ({"units": ["Old"]}, "Old is archived"),
    ({"units": []}, "Choose the units"),
    ({"units": ["Life"], "due_on": dt.date(2025, 12, 1)}, "before the round's date"),
    ({"units": ["Life"], "assessors": {"Banking": ["a@b.org"]}}, "not one of the campaign's units"),
    ({"units": ["Life"], "assessors": {"Life": ["not an email"]}}, "is not an email address"),
    ({"units": ["Life"], "name": " "}, "needs a name"),
    ({"units": ["Life"], "scope": "all"}, "Scope must be one of"),
    ({"units": ["Life"], "default_target": 7}, "from 0 to 5"),
])
def test_bad_launches_are_refused_clearly(org: duckdb.DuckDBPyConnection, given: dict, message: str) -> None:
    with pytest.raises(campaigns.CampaignError, match=message):
        start(org, **given)
    assert org.execute("SELECT count(*) FROM assessment").fetchall()[0][0] == 0


def test_only_leads_and_administrators_launch(org: duckdb.DuckDBPyConnection) -> None:
    access.grant(org, "ann@example.org", "assessor", "Life", by=ADMIN)
    with pytest.raises(AccessDenied, match="administrator or a governance lead"):
        start(org, units=["Life"], principal=assessor(org))


def test_copy_previous_uses_each_units_previous_answers(org: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    old, _ = rounds.start_assessment(org, unit="Life", label="2025-Q4", scope="clauses", catalog_version="t",
                                     assessed_on=dt.date(2025, 11, 1), principal=ADMIN, by="x")
    answer_all(org, catalog, old.id, level=4, leave_out=2)
    found = start(org, units=["Life", "Banking"], copy_previous=True)
    assert found.copied == 30
    life = store.responses(org, principal=ADMIN, assessment_ids=[round_of(found, "Life")])
    assert life["maturity"].notna().sum() == 30 and set(life["maturity"].dropna()) == {4}
    board = campaigns.board(org, found.id, principal=lead(org)).set_index("unit")
    assert board.loc["Life", "state"] == "in progress" and board.loc["Banking", "state"] == "not started"
    assert board.loc["Life", "answered_pct"] == pytest.approx(30 / 32, abs=0.01)
    assert pd_isna(board.loc["Life", "last_activity"])  # copied answers are nobody's activity yet
    store.update_response(org, round_of(found, "Life"), "4.1", {"maturity": 5}, by="ann", principal=ADMIN)
    board = campaigns.board(org, found.id, principal=lead(org)).set_index("unit")
    assert not pd_isna(board.loc["Life", "last_activity"])


# --- the review -------------------------------------------------------------------------------------------------


@pytest.fixture
def launched(org: duckdb.DuckDBPyConnection) -> campaigns.Campaign:
    return start(org, units=["Life", "P&C", "Banking"], assessors={"Life": ["ann@example.org"]})


def test_the_review_from_submit_to_finalise(org: duckdb.DuckDBPyConnection, catalog: Catalog,
                                            launched: campaigns.Campaign) -> None:
    life = round_of(launched, "Life")
    ann, lea = assessor(org), lead(org)
    assert review.review_state(org, life) == "not started" and review.in_review(org, life)
    answer_all(org, catalog, life, leave_out=3)
    assert review.review_state(org, life) == "in progress"
    with pytest.raises(review.ReviewError, match=r"Life 2026-Q1 cannot be submitted yet — 3 applicable item\(s\) not assessed"):
        review.submit(org, life, principal=ann, by="ann")
    answer_all(org, catalog, life)
    review.submit(org, life, principal=ann, by="ann")
    assert review.review_state(org, life) == "submitted"
    with pytest.raises(review.ReviewError, match="already submitted by ann"):
        review.submit(org, life, principal=ann, by="ann")
    # the assessor may no longer change an answer; the lead may
    with pytest.raises(AccessDenied, match="submitted for review"):
        access.authorise_write(org, ann, "update_response", [life])
    access.authorise_write(org, lea, "update_response", [life])
    access.authorise_write(org, ann, "save_edits", [life])  # roadmap tracking is not an answer
    with pytest.raises(AccessDenied, match="finalises a round; an assessor submits"):
        review.finalise(org, life, principal=ann, by="ann")
    with pytest.raises(AccessDenied, match="returns a round"):
        review.return_round(org, life, comments={None: "no"}, principal=ann, by="ann")
    with pytest.raises(review.ReviewError, match="needs a comment"):
        review.return_round(org, life, comments={"4.1": "  "}, principal=lea, by=BY)
    with pytest.raises(review.ReviewError, match=r"'A\.2\.2' is not an item of Life 2026-Q1"):
        review.return_round(org, life, comments={"A.2.2": "why?"}, principal=lea, by=BY)
    stored = review.return_round(org, life, comments={"4.1": "Name the interested parties.", None: "Good start."},
                                 principal=lea, by=BY)
    assert stored == 2 and review.review_state(org, life) == "returned"
    # the comments reach the assessor, beside their items
    seen = review.comments(org, life, principal=ann)
    assert seen[["item_id", "comment", "by", "round_state_when_made", "return_no"]].values.tolist() == [
        [None, "Good start.", BY, "submitted", 1], ["4.1", "Name the interested parties.", BY, "submitted", 1]]
    assert campaigns.board(org, launched.id, principal=lea).set_index("unit").loc["Life", "returned_comments"] == 2
    with pytest.raises(review.ReviewError, match=r"returned to its assessors by .* they change it and submit it again"):
        review.finalise(org, life, principal=lea, by=BY)
    with pytest.raises(review.ReviewError, match="returned to its assessors"):
        rounds.finalise(org, life, principal=lea, by=BY)  # not around the review either
    access.authorise_write(org, ann, "update_response", [life])  # a returned round is editable again
    store.update_response(org, life, "4.1", {"evidence": "Register of interested parties v2"}, by="ann", principal=ADMIN)
    review.submit(org, life, principal=ann, by="ann")
    review.finalise(org, life, principal=lea, by=BY)
    assert review.review_state(org, life) == "finalised"
    assert store.get_assessment(org, life).is_final
    with pytest.raises(store.StoreError, match="finalised and read-only"):
        store.update_response(org, life, "4.1", {"maturity": 5}, by="ann", principal=ADMIN)
    with pytest.raises(review.ReviewError, match="already finalised"):
        review.submit(org, life, principal=ann, by="ann")
    with pytest.raises(review.ReviewError, match="cannot be returned"):
        review.return_round(org, life, comments={None: "x"}, principal=lea, by=BY)
    # every step in the change log, with who and when
    steps = org.execute("""SELECT old_value, new_value, changed_by, changed_at IS NOT NULL FROM change_log
                           WHERE assessment_id = ? AND field = 'review' ORDER BY id""", [life]).fetchall()
    assert steps == [("in progress", "submitted", "ann", True), ("submitted", "returned", BY, True),
                     ("returned", "submitted", "ann", True), ("submitted", "finalised", BY, True)]
    assert campaigns.board(org, launched.id, principal=lea).set_index("unit").loc["Life", "returned_comments"] == 0


def test_two_leads_acting_on_one_round_at_once_the_second_sees_the_first(
        org: duckdb.DuckDBPyConnection, catalog: Catalog, launched: campaigns.Campaign, db_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One lead finalises a submitted round while another returns it, each in its own session (on a server, as two
    dashboard processes): the return waits for the finalisation, then is refused; the round is final, with no
    comments and one finalisation in its history. (Both used to pass the state check and both write.)"""
    life = round_of(launched, "Life")
    answer_all(org, catalog, life)
    review.submit(org, life, principal=assessor(org), by="ann")
    lea = lead(org)
    checking = threading.Event()
    real = rounds.finalise_blockers

    def slow_check(con, assessment_id):  # the finalisation has read the state (submitted); the other lead acts now
        checking.set()
        time.sleep(1.0)
        return real(con, assessment_id)

    monkeypatch.setattr(rounds, "finalise_blockers", slow_check)
    outcome: dict[str, object] = {}

    def act(name: str, step) -> None:
        try:
            with lease(db_path) as con:
                step(con)
            outcome[name] = "done"
        except Exception as exc:  # the outcome is asserted below
            outcome[name] = exc

    def give_back(con) -> None:
        assert checking.wait(60)
        review.return_round(con, life, comments={None: "More evidence"}, principal=lea, by="second lead")

    threads = [threading.Thread(target=act, args=("finalise", lambda con: review.finalise(
                   con, life, principal=lea, by="first lead"))),
               threading.Thread(target=act, args=("return", give_back))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert outcome["finalise"] == "done", outcome
    assert isinstance(outcome["return"], review.ReviewError), outcome
    assert "finalised and read-only: it cannot be returned" in str(outcome["return"])
    assert review.review_state(org, life) == "finalised"
    assert org.execute("SELECT count(*) FROM review_comment WHERE assessment_id = ?", [life]).fetchall() == [(0,)]
    steps = org.execute("""SELECT old_value, new_value, changed_by FROM change_log
                           WHERE assessment_id = ? AND field = 'review' ORDER BY id""", [life]).fetchall()
    assert steps == [("in progress", "submitted", "ann"), ("submitted", "finalised", "first lead")]


def test_returning_or_finalising_a_round_not_submitted_is_refused(org: duckdb.DuckDBPyConnection, catalog: Catalog,
                                                                  launched: campaigns.Campaign) -> None:
    banking = round_of(launched, "Banking")
    lea = lead(org)
    with pytest.raises(review.ReviewError, match="Banking 2026-Q1 is not started, not submitted: only a submitted"):
        review.return_round(org, banking, comments={None: "x"}, principal=lea, by=BY)
    answer_all(org, catalog, banking)
    with pytest.raises(review.ReviewError, match="is in progress: it is finalised once its assessors have submitted"):
        review.finalise(org, banking, principal=lea, by=BY)
    with pytest.raises(review.ReviewError, match="part of a campaign and is in progress"):
        rounds.finalise(org, banking, principal=lea, by=BY)
    # an assessor of another unit cannot submit this one
    access.grant(org, "zed@example.org", "assessor", "Life", by=ADMIN)
    with pytest.raises(AccessDenied, match="not assigned"):
        review.submit(org, banking, principal=assessor(org, "zed@example.org"), by="zed")


def test_a_round_outside_campaigns_still_finalises_directly(org: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    made, _ = rounds.start_assessment(org, unit="Other", label="2026-Q1", scope="clauses", catalog_version="t",
                                      assessed_on=DAY, principal=ADMIN, by="x")
    answer_all(org, catalog, made.id)
    assert not review.in_review(org, made.id)
    rounds.finalise(org, made.id, principal=ADMIN, by="x")
    assert review.review_state(org, made.id) == "finalised"


# --- the board ---------------------------------------------------------------------------------------------------


def test_the_boards_counts_equal_the_rounds_states(org: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    found = start(org, parent="Group", assessors={"Life": ["ann@example.org"], "P&C": ["ann@example.org"]})
    ids = dict(zip(found.units, found.assessment_ids, strict=True))
    lea, ann = lead(org), assessor(org)
    answer_all(org, catalog, ids["Insurance"], leave_out=10)         # in progress
    for unit in ("Life", "P&C", "Banking"):
        answer_all(org, catalog, ids[unit])
    review.submit(org, ids["Life"], principal=ann, by="ann")            # submitted
    review.submit(org, ids["P&C"], principal=ann, by="ann")
    review.return_round(org, ids["P&C"], comments={None: "More evidence"}, principal=lea, by=BY)  # returned
    review.submit(org, ids["Banking"], principal=lea, by=BY)
    review.finalise(org, ids["Banking"], principal=lea, by=BY)         # finalised; Group: not started
    board = campaigns.board(org, found.id, principal=lea, today=dt.date(2026, 4, 10))
    assert board.columns.tolist() == campaigns.BOARD_COLUMNS
    counts = board["state"].value_counts().to_dict()
    truth = {}
    for assessment_id in ids.values():
        state = review.review_state(org, assessment_id)
        truth[state] = truth.get(state, 0) + 1
    assert counts == truth == {"not started": 1, "in progress": 1, "submitted": 1, "returned": 1, "finalised": 1}
    rows = board.set_index("unit")
    assert rows.loc["Insurance", "answered_pct"] == pytest.approx(22 / 32, abs=0.01)
    assert rows.loc["Group", "answered_pct"] == 0 and pd_isna(rows.loc["Group", "last_activity"])
    assert not pd_isna(rows.loc["P&C", "last_activity"])
    # overdue: due 2026-03-31, on 2026-04-10 the rounds still owing answers are 10 days late
    assert rows["overdue"].to_dict() == {"Banking": False, "Group": True, "Insurance": True, "Life": False, "P&C": True}
    assert rows.loc["Group", "days_overdue"] == 10 and rows.loc["Life", "days_overdue"] == 0
    # an assessor sees their own units' rows only
    mine = campaigns.board(org, found.id, principal=ann)
    assert sorted(mine["unit"]) == ["Life", "P&C"]
    assert campaigns.campaigns(org, principal=ann)["units"].tolist() == [2]


def pd_isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_progress_over_time_follows_the_steps(org: duckdb.DuckDBPyConnection, catalog: Catalog,
                                              launched: campaigns.Campaign) -> None:
    life, banking = round_of(launched, "Life"), round_of(launched, "Banking")
    answer_all(org, catalog, life)
    answer_all(org, catalog, banking, leave_out=5)
    review.submit(org, life, principal=lead(org), by=BY)
    # date the steps: launched on day 0, Life answered on day 1 and submitted on day 3, Banking started on day 2
    launch_at = dt.datetime(2026, 1, 15, 9, 0)
    org.execute("UPDATE campaign SET created_at = ? WHERE id = ?", [launch_at, launched.id])
    org.execute("UPDATE response SET created_at = ? WHERE assessment_id = ?", [launch_at + dt.timedelta(days=1), life])
    org.execute("UPDATE response SET created_at = ? WHERE assessment_id = ?", [launch_at + dt.timedelta(days=2), banking])
    org.execute("UPDATE change_log SET changed_at = ? WHERE assessment_id = ? AND field = 'review'",
                [launch_at + dt.timedelta(days=3), life])
    found = campaigns.progress_over_time(org, launched.id, principal=lead(org), today=dt.date(2026, 1, 19))
    table = found.pivot(index="day", columns="state", values="units")
    assert table.index.tolist() == [dt.date(2026, 1, d) for d in range(15, 20)]
    assert table.columns.tolist() == sorted(review.STATES)
    assert table["not started"].tolist() == [3, 2, 1, 1, 1]
    assert table["in progress"].tolist() == [0, 1, 2, 1, 1]
    assert table["submitted"].tolist() == [0, 0, 0, 1, 1]
    assert (table.sum(axis=1) == 3).all()


def test_overdue_rounds_with_a_mailto_link_per_unit(org: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    found = start(org, units=["Life", "Banking", "P&C"],
                  assessors={"Life": ["ann@example.org", "bob+ai@example.org"], "P&C": ["ann@example.org"]})
    answer_all(org, catalog, round_of(found, "P&C"))
    review.submit(org, round_of(found, "P&C"), principal=lead(org), by=BY)
    late = campaigns.overdue(org, found.id, principal=lead(org), today=dt.date(2026, 4, 5))
    assert late.columns.tolist() == campaigns.OVERDUE_COLUMNS
    assert late["unit"].tolist() == ["Banking", "Life"]  # P&C was submitted in time
    life = late.set_index("unit").loc["Life"]
    assert life["assessors"] == "ann@example.org, bob+ai@example.org" and life["days_overdue"] == 5
    link = urlsplit(life["mailto"])
    assert link.scheme == "mailto"
    assert unquote(link.path).split(",") == ["ann@example.org", "bob+ai@example.org"]
    query = parse_qs(link.query)
    assert query["subject"] == ["AIMS 2026: the assessment of Life was due on 2026-03-31"]
    assert "has not been submitted yet" in query["body"][0]
    assert " " not in life["mailto"] and "\n" not in life["mailto"]
    assert late.set_index("unit").loc["Banking", "mailto"].startswith("mailto:?subject=")
    assert campaigns.overdue(org, found.id, principal=lead(org), today=dt.date(2026, 3, 31)).empty


def test_mailto_encodes_what_could_break_the_link() -> None:
    link = campaigns.mailto("R&D ?=#", ["a@example.org"], dt.date(2026, 3, 31), "Q1 & more")
    subject = parse_qs(urlsplit(link).query)["subject"][0]
    assert subject == "Q1 & more: the assessment of R&D ?=# was due on 2026-03-31"
    assert link.count("?") == 1 and "#" not in link


# --- management views show finalised rounds only ----------------------------------------------------------------------


def test_final_only_changes_latest_per_unit_and_says_so(demo_db_copy: Path) -> None:
    with connect(demo_db_copy) as con:
        before = scoring.select_assessments(con, principal=ADMIN, round_label=scoring.LATEST)
        figures_before = scoring.organisation_summary(con, before)
        assert not campaigns.final_only(con)
        access.grant(con, "lead@example.org", "lead", by=ADMIN)
        who = access.resolve(con, "lead@example.org", "Lea")
        with pytest.raises(AccessDenied):
            campaigns.set_final_only(con, True, principal=access.resolve(con, "nobody@example.org", "N"), by="n")
        assert campaigns.set_final_only(con, True, principal=who, by=BY)
        assert not campaigns.set_final_only(con, True, principal=who, by=BY)
        after = scoring.select_assessments(con, principal=ADMIN, round_label=scoring.LATEST)
        used = store.list_assessments(con).set_index("id")
        statuses = {used.loc[p if isinstance(p, int) else p[0], "status"] for p in after}
        assert statuses == {"final"}
        assert before != after
        drafts = {used.loc[p if isinstance(p, int) else p[0], "unit"] for p in before
                  if used.loc[p if isinstance(p, int) else p[0], "status"] == "draft"}
        assert drafts == {"HR & People", "Marketing & Customer Analytics", "Payments & Cards"}
        assert scoring.organisation_summary(con, after) != figures_before
        assert provenance.FINAL_ONLY_NOTE in provenance.notes(con, after)
        assert provenance.FINAL_ONLY_NOTE not in provenance.notes(con, after, round_label="2025-Q4")
        # a round label is taken as asked
        assert scoring.select_assessments(con, principal=ADMIN, round_label="2026-Q3") == \
            scoring.select_assessments(con, principal=ADMIN, round_label="2026-Q3", finalised_only=False)
        logged = con.execute("SELECT old_value, new_value, changed_by FROM change_log WHERE field = 'final_only'").fetchall()
        assert logged == [("false", "true", BY)]
        campaigns.set_final_only(con, False, principal=who, by=BY)
        assert scoring.select_assessments(con, principal=ADMIN, round_label=scoring.LATEST) == before
        assert provenance.FINAL_ONLY_NOTE not in provenance.notes(con, before)


def test_the_boards_time_spent_comes_from_timing(org: duckdb.DuckDBPyConnection, catalog: Catalog,
                                                 launched: campaigns.Campaign) -> None:
    life = round_of(launched, "Life")
    answer_all(org, catalog, life, leave_out=27)  # five answers given in the questionnaire (source form)
    start_at = dt.datetime(2026, 1, 20, 9, 0)
    items = [r[0] for r in org.execute("SELECT item_id FROM response WHERE assessment_id = ? ORDER BY item_id",
                                       [life]).fetchall()]
    for item, minutes in zip(items, (0, 2, 5, 40, 41), strict=True):  # a 35-minute pause in the middle
        org.execute("UPDATE response SET created_at = ? WHERE assessment_id = ? AND item_id = ?",
                    [start_at + dt.timedelta(minutes=minutes), life, item])
    board = campaigns.board(org, launched.id, principal=lead(org)).set_index("unit")
    assert board.loc["Life", "active_s"] == 6 * 60 and board.loc["Life", "elapsed_s"] == 41 * 60
    assert board.loc["Banking", "active_s"] == 0 and board.loc["Banking", "elapsed_s"] == 0


def test_final_only_compares_with_the_previous_finalised_round(org: duckdb.DuckDBPyConnection,
                                                               catalog: Catalog) -> None:
    made = []
    for label, day in (("R1", dt.date(2025, 1, 10)), ("R2", dt.date(2025, 6, 10)), ("R3", dt.date(2025, 12, 10))):
        found, _ = rounds.start_assessment(org, unit="Other", label=label, scope="clauses", catalog_version="t",
                                           assessed_on=day, principal=ADMIN, by="x")
        answer_all(org, catalog, found.id)
        made.append(found.id)
    rounds.finalise(org, made[0], principal=ADMIN, by="x")
    rounds.finalise(org, made[2], principal=ADMIN, by="x")  # R2 stays a draft between two finalised rounds
    latest = scoring.select_assessments(org, principal=ADMIN, units=["Other"])
    assert latest == [made[2]]
    assert selection.previous(org, latest)[1] == [(made[1], "clause", made[1])]
    campaigns.set_final_only(org, True, principal=ADMIN, by="x")
    assert scoring.select_assessments(org, principal=ADMIN, units=["Other"]) == [made[2]]
    assert selection.previous(org, latest)[1] == [(made[0], "clause", made[0])]
    # a draft chosen by its label still finds its own previous round (a finalised one)
    assert selection.previous(org, [made[1]])[1] == [(made[0], "clause", made[0])]
