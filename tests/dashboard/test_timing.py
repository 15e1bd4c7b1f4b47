"""Time spent answering: elapsed and active time with pauses, per assessment and per item, through the real
write paths (questionnaire saves, the interview's source, imports, copies of a previous round) on a real file."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard import rounds, store, timing
from dashboard.access import AccessDenied, Principal
from etl.importer import import_bytes
from tests.dashboard.helpers import new_assessment
from tests.principals import ADMIN

T0 = dt.datetime(2026, 3, 2, 9, 0, 0)


class Clock:
    """The store's clock (`store._now`), moved by the test: answers are saved at chosen minutes."""

    def __init__(self) -> None:
        self.now = T0

    def at(self, minutes: float) -> None:
        self.now = T0 + dt.timedelta(minutes=minutes)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    found = Clock()
    monkeypatch.setattr(store, "_now", found)
    monkeypatch.setattr(rounds, "_now", found)
    return found


def answer(con, clock: Clock, assessment_id: int, minute: float, item: str, source: str = "form", **fields) -> None:
    clock.at(minute)
    changed = store.update_response(con, assessment_id, item, fields or {"maturity": 2}, by="ann", source=source, principal=ADMIN)
    assert changed, "the test meant to change something"


def test_pauses_are_not_counted(con, clock) -> None:
    a = new_assessment(con, "Ops", "R1", scope="clauses")
    for minute, item in ((0, "4.1"), (2, "4.2"), (5, "4.3"), (40, "4.4"), (41, "5.1")):
        answer(con, clock, a.id, minute, item)
    times = timing.assessment_times(con, [a.id], principal=ADMIN).iloc[0]
    assert times["answers"] == 5
    assert times["active_s"] == 6 * 60  # 2 + 3 + (35: a pause) + 1
    assert times["elapsed_s"] == 41 * 60
    assert times["first_at"] == pd.Timestamp(T0)
    assert times["last_at"] == pd.Timestamp(T0 + dt.timedelta(minutes=41))


@pytest.mark.parametrize(("pause", "active_min"), [(15, 6), (35, 41), (34.9, 6), (2, 3), (0, 0)])
def test_the_pause_decides_which_gaps_count(con, clock, pause, active_min) -> None:
    a = new_assessment(con, "Ops", "R1", scope="clauses")
    for minute, item in ((0, "4.1"), (2, "4.2"), (5, "4.3"), (40, "4.4"), (41, "5.1")):
        answer(con, clock, a.id, minute, item)
    # gaps: 2, 3, 35, 1 minutes; a gap equal to the pause still counts
    times = timing.assessment_times(con, [a.id], principal=ADMIN, pause_minutes=pause).iloc[0]
    assert times["active_s"] == active_min * 60
    assert times["elapsed_s"] == 41 * 60


def test_the_setting_gives_the_default_pause(con, clock, monkeypatch) -> None:
    a = new_assessment(con, "Ops", "R1", scope="clauses")
    for minute, item in ((0, "4.1"), (20, "4.2")):
        answer(con, clock, a.id, minute, item)
    assert timing.assessment_times(con, [a.id], principal=ADMIN).iloc[0]["active_s"] == 0  # 20 min > 15
    monkeypatch.setenv("AIMS_PAUSE_MINUTES", "30")
    assert timing.assessment_times(con, [a.id], principal=ADMIN).iloc[0]["active_s"] == 20 * 60
    monkeypatch.setenv("AIMS_PAUSE_MINUTES", "a quarter")
    with pytest.raises(ValueError, match="AIMS_PAUSE_MINUTES must be a number"):
        timing.assessment_times(con, [a.id], principal=ADMIN)


def test_one_answer_and_none(con, clock) -> None:
    one = new_assessment(con, "Ops", "R1", scope="clauses")
    none = new_assessment(con, "Ops", "R2", scope="clauses")
    answer(con, clock, one.id, 3, "4.1")
    times = timing.assessment_times(con, [none.id, one.id], principal=ADMIN)
    assert times["assessment_id"].tolist() == [none.id, one.id]  # the order asked for
    assert times["answers"].tolist() == [0, 1]
    assert times["active_s"].tolist() == [0.0, 0.0]
    assert times["elapsed_s"].tolist() == [0.0, 0.0]
    assert pd.isna(times.iloc[0]["first_at"]) and pd.isna(times.iloc[0]["last_at"])
    assert list(times.columns) == timing.ASSESSMENT_COLUMNS
    assert timing.assessment_times(con, [], principal=ADMIN).empty
    alone = timing.assessment_times(con, [none.id], principal=ADMIN).iloc[0]  # no event at all in the query
    assert (alone["answers"], alone["active_s"], alone["elapsed_s"]) == (0, 0.0, 0.0) and pd.isna(alone["first_at"])
    assert timing.item_times(con, none.id, principal=ADMIN).empty


def test_a_save_of_several_fields_is_one_event_and_edits_of_an_item_count(con, clock) -> None:
    a = new_assessment(con, "Ops", "R1", scope="clauses")
    answer(con, clock, a.id, 0, "4.1", maturity=2, evidence="Register")  # creation + two change-log rows
    answer(con, clock, a.id, 1, "4.2")
    answer(con, clock, a.id, 4, "4.1", evidence="Register v2")
    times = timing.assessment_times(con, [a.id], principal=ADMIN).iloc[0]
    assert (times["answers"], times["active_s"]) == (3, 4 * 60)
    items = timing.item_times(con, a.id, principal=ADMIN)
    assert list(items.columns) == timing.ITEM_COLUMNS
    assert items["item_id"].tolist() == ["4.1", "4.2"]
    assert items["edits"].tolist() == [2, 1]
    # each counted gap belongs to the item whose answer ended it: 4.2 took 1 min, 4.1's second save 3 min
    assert items["active_s"].tolist() == [3 * 60, 1 * 60]
    assert items["active_s"].sum() == times["active_s"]
    assert items.iloc[0]["last_at"] == pd.Timestamp(T0 + dt.timedelta(minutes=4))


def test_items_add_up_to_the_assessment_with_pauses(con, clock) -> None:
    a = new_assessment(con, "Ops", "R1", scope="clauses")
    plan = [(0, "4.1"), (1.5, "4.2"), (2, "4.1"), (30, "4.3"), (31, "4.4"), (33, "4.2")]
    for minute, item in plan:
        answer(con, clock, a.id, minute, item, maturity=int(minute) % 6)
    items = timing.item_times(con, a.id, principal=ADMIN).set_index("item_id")
    assert items.loc["4.1", "active_s"] == 0.5 * 60  # first answer 0, then 1.5 -> 2
    assert items.loc["4.2", "active_s"] == 1.5 * 60 + 2 * 60
    assert items.loc["4.3", "active_s"] == 0  # after a pause of 28 min
    assert items.loc["4.4", "active_s"] == 60
    total = timing.assessment_times(con, [a.id], principal=ADMIN).iloc[0]["active_s"]
    assert total == items["active_s"].sum() == 5 * 60


def test_interview_answers_count_imports_and_copies_do_not(con, clock, catalog) -> None:
    clock.at(0)
    result = import_bytes(con, "ops.csv", b"unit,assessment,assessed_on,item_id,maturity\nOps,R1,2026-01-10,4.1,2\n"
                          b"Ops,R1,2026-01-10,4.2,3\n", principal=ADMIN, by="importer")
    assert result.status == "imported", result.problems
    r1 = store.get_assessment(con, unit="Ops", label="R1")
    assert timing.assessment_times(con, [r1.id], principal=ADMIN).iloc[0]["answers"] == 0
    clock.at(1)
    result = import_bytes(con, "ops2.csv", b"unit,assessment,item_id,maturity\nOps,R1,4.1,4\n",
                          principal=ADMIN, by="importer")
    assert result.status == "imported", result.problems  # an imported change of a stored answer: not counted
    assert timing.assessment_times(con, [r1.id], principal=ADMIN).iloc[0]["answers"] == 0
    clock.at(2)
    r2, copied = rounds.start_assessment(con, unit="Ops", label="R2", scope="clauses", catalog_version=catalog.version,
                                         assessed_on=dt.date(2026, 6, 1), principal=ADMIN, by="lead",
                                         copy_previous=True)
    assert copied.new == 2
    times = timing.assessment_times(con, [r2.id], principal=ADMIN).iloc[0]
    assert times["answers"] == 0  # neither the copy nor the round's creation is answering
    answer(con, clock, r2.id, 10, "4.1", maturity=3)  # changes a copied answer
    answer(con, clock, r2.id, 12, "4.3", source="interview")
    answer(con, clock, r2.id, 13, "4.4", source="copy")  # some other path: not counted
    times = timing.assessment_times(con, [r2.id], principal=ADMIN).iloc[0]
    assert (times["answers"], times["active_s"], times["elapsed_s"]) == (2, 120.0, 120.0)
    clock.at(14)
    store.set_status(con, r2.id, "final", "lead")  # a change of the round, not an answer
    assert timing.assessment_times(con, [r2.id], principal=ADMIN).iloc[0]["answers"] == 2


def test_the_demo_data_has_no_answer_events(demo_db_copy) -> None:
    from dashboard.db import connect

    with connect(demo_db_copy) as con:
        ids = [int(i) for (i,) in con.execute("SELECT id FROM assessment").fetchall()]
        times = timing.assessment_times(con, ids, principal=ADMIN)
    assert len(times) == len(ids) > 0
    assert times["answers"].sum() == 0  # imported: its timestamps say when it was loaded, not answered


def test_an_assessor_is_refused_another_units_times(con, clock) -> None:
    mine = new_assessment(con, "Ops", "R1", scope="clauses")
    other = new_assessment(con, "Legal", "R1", scope="clauses")
    answer(con, clock, other.id, 0, "4.1")
    assessor = Principal(email="a@x.org", name="A", role="assessor", unit_ids=frozenset({mine.unit_id}))
    assert timing.assessment_times(con, [mine.id], principal=assessor).iloc[0]["answers"] == 0
    with pytest.raises(AccessDenied):
        timing.assessment_times(con, [mine.id, other.id], principal=assessor)
    with pytest.raises(AccessDenied):
        timing.item_times(con, other.id, principal=assessor)


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "—"), (float("nan"), "—"), (0, "0 min"), (12, "under 1 min"), (29.9, "under 1 min"), (30, "1 min"),
    (89, "1 min"), (90, "2 min"), (12 * 60, "12 min"), (59 * 60 + 29, "59 min"), (59 * 60 + 30, "1 h 00 min"),
    (65 * 60, "1 h 05 min"), (10 * 3600 + 61, "10 h 01 min"),
])
def test_format_duration(seconds, text) -> None:
    assert timing.format_duration(seconds) == text


def test_format_duration_refuses_a_negative_time() -> None:
    with pytest.raises(ValueError, match="negative"):
        timing.format_duration(-1)
