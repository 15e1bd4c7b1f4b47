"""The Campaigns page, the review in the questionnaire and the final-only toggle, in AppTest on a copy of the demo data:
a lead launches from the form (the rounds exist, the board shows them), an assessor sees only its own unit's row and
no launch or review, submits from the questionnaire (refused while incomplete, as the core words it), the lead
returns with comments that the assessor then sees beside the items, and finalises; the board follows each step."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import access, campaigns, review, store, ui
from dashboard.access import Principal
from dashboard.db import connect
from dashboard.selection import final_only
from tests.pages.conftest import APP

UNITS = ["Life Insurance", "Retail Banking", "Corporate Banking"]  # their newest rounds answer every clause item
OWN, OTHER = "Life Insurance", "Retail Banking"
ASSESSOR_EMAIL = "asa@example.org"
LEAD = Principal("lead@example.org", "Lea Lead", access.LEAD)
LABEL = "2026-C1"


def _open(who: Principal, page: str, **params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state[ui._TEST_KEY] = who
    app.run()
    for key, value in params.items():
        app.query_params[key] = value
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def _launch(db: Path, *, copy_previous: bool = True, due: bool = True) -> campaigns.Campaign:
    with connect(db) as con:
        return campaigns.launch(con, name="Spring review", units=UNITS, scope="clauses", label=LABEL,
                                assessed_on=dt.date.today(), due_on=dt.date.today() + dt.timedelta(days=20) if due else None,
                                assessors={OWN: [ASSESSOR_EMAIL]}, copy_previous=copy_previous, principal=LEAD,
                                by="Lea Lead <lead@example.org>")


def _assessor(db: Path) -> Principal:
    with connect(db) as con:
        return access.resolve(con, ASSESSOR_EMAIL, "Asa Assessor")


def _board(app: AppTest) -> pd.DataFrame:
    return next(frame.value for frame in app.dataframe if "unit" in frame.value.columns and "state" in frame.value.columns)


def _raw(app: AppTest, *kinds: str) -> str:
    """The elements' markdown source, escapes included."""
    return "\n".join(e.value for kind in kinds for e in app.get(kind) if isinstance(getattr(e, "value", None), str))


def _texts(app: AppTest, *kinds: str) -> str:
    """The elements' text as read (user text is shown escaped: its backslashes dropped)."""
    return _raw(app, *kinds).replace("\\", "")


def test_a_lead_launches_from_the_form_and_the_board_shows_every_round(demo_db: Path) -> None:
    app = _open(LEAD, "pages/campaigns.py")
    assert "No campaign yet" in _texts(app, "info")
    app.text_input(key="c_name").input("Spring review")
    app.multiselect(key="c_units").set_value(UNITS)
    app.radio(key="c_scope").set_value("clauses")
    app.text_input(key="c_label").input(LABEL)
    app.text_area(key="c_assessors").input(f"{OWN} = {ASSESSOR_EMAIL}")
    app.button(key="FormSubmitter:launch-Launch").click().run()
    assert not app.exception, app.exception
    assert "Launched Spring review: 3 round(s)." in _texts(app, "success"), _texts(app, "success", "error")
    with connect(demo_db) as con:
        created = {u: store.get_assessment(con, unit=u, label=LABEL) for u in UNITS}
        assert all(a is not None and a.scope == "clauses" and a.status == "draft" for a in created.values()), created
        assert access.resolve(con, ASSESSOR_EMAIL, "Asa").unit_ids  # the assessor was granted its unit
    board = _board(app)
    assert sorted(board["unit"]) == sorted(UNITS)
    assert set(board["state"]) == {"in progress (100%)"}  # every unit's previous answers were copied
    assert board.set_index("unit").loc[OWN, "assessors"] == ASSESSOR_EMAIL
    assert "3 unit(s): 0 not started · 3 in progress · 0 submitted · 0 returned · 0 finalised" in _texts(app, "caption")


def test_a_launch_the_core_refuses_shows_its_message_and_writes_nothing(demo_db: Path) -> None:
    _launch(demo_db)
    app = _open(LEAD, "pages/campaigns.py")
    app.text_input(key="c_name").input("Again")
    app.multiselect(key="c_units").set_value([OWN])
    app.text_input(key="c_label").input(LABEL)
    app.button(key="FormSubmitter:launch-Launch").click().run()
    assert f"{OWN} already has a round labelled '{LABEL}'" in _texts(app, "error")
    app.text_area(key="c_assessors").input(f"{OWN} = not-an-email")
    app.button(key="FormSubmitter:launch-Launch").click().run()
    assert "Assessors, line 1: 'not-an-email' is not an email address." in _texts(app, "error")
    with connect(demo_db) as con:
        assert len(campaigns.campaigns(con, principal=LEAD)) == 1


def test_an_assessor_sees_only_its_own_units_row_and_no_launch_or_review(demo_db: Path) -> None:
    _launch(demo_db, due=False)  # a campaign without a due date: nothing is overdue
    app = _open(_assessor(demo_db), "pages/campaigns.py")
    assert _board(app)["unit"].tolist() == [OWN]
    assert not [e for e in app.get("expander") if "Launch" in str(e.label)]
    assert "Review" not in _texts(app, "subheader") and "Reminders" not in _texts(app, "subheader")
    everything = _texts(app, "markdown", "caption", "subheader", "info", "selectbox") + "".join(
        f.value.to_csv() for f in app.dataframe) + "".join(str(o) for box in app.selectbox for o in box.options)
    assert OTHER not in everything and "Corporate Banking" not in everything


def test_the_review_from_submit_to_finalise_through_the_pages(demo_db: Path) -> None:
    launched = _launch(demo_db)
    with connect(demo_db) as con:
        aid = next(a for a in launched.assessment_ids if store.get_assessment(con, a).unit == OWN)
    asa = _assessor(demo_db)

    # the assessor's questionnaire: the round's state, and Submit
    app = _open(asa, "pages/assess.py", assessment=str(aid))
    assert "**Review:** in progress" in _texts(app, "markdown")
    app.button(key=f"submit_{aid}").click().run()
    assert not app.exception, app.exception
    with connect(demo_db) as con:
        assert review.review_state(con, aid) == "submitted"
    assert "**Review:** submitted" in _texts(app, "markdown")
    levels = [r for r in app.radio if r.key and r.key.endswith(":maturity")]
    assert levels and all(r.disabled for r in levels)  # read-only for its assessor once submitted

    # the lead returns it with a comment on an item and one on the round
    lead = _open(LEAD, "pages/campaigns.py")
    assert lead.selectbox(key="review_pick").value == aid
    lead.text_area(key="r_round").input("Good start; two points to fix.")
    lead.text_area(key="r_items").input("4.1 = Name *who* decided the <b>scope</b>")
    lead.button(key="review_return").click().run()
    assert f"Returned {OWN}'s round to its assessors with 2 comment(s)." in _texts(lead, "success")
    assert _board(lead).set_index("unit").loc[OWN, "state"] == "returned"

    # the assessor sees them: the round's at the top, the item's above the item, as typed (never HTML)
    app = _open(asa, "pages/assess.py", assessment=str(aid))
    warnings = _raw(app, "warning")
    assert "Good start; two points to fix." in warnings.replace("\\", "")
    assert r"Name \*who\* decided the \<b\>scope\</b\>" in warnings, warnings
    assert "The lead commented on 4.1" in _texts(app, "caption")
    app.radio(key=f"a{aid}:4.1:maturity").set_value(4).run()
    app.button(key=f"submit_{aid}").click().run()
    with connect(demo_db) as con:
        assert review.review_state(con, aid) == "submitted"

    # the lead finalises; the board says so
    lead = _open(LEAD, "pages/campaigns.py")
    lead.button(key="review_finalise").click().run()
    assert f"Finalised {OWN}'s round." in _texts(lead, "success")
    board = _board(lead).set_index("unit")
    assert board.loc[OWN, "state"] == "finalised" and board.loc[OTHER, "state"] == "in progress (100%)"
    with connect(demo_db) as con:
        assert store.get_assessment(con, aid).status == "final"


def test_submitting_an_incomplete_round_shows_the_cores_refusal(demo_db: Path) -> None:
    launched = _launch(demo_db, copy_previous=False)  # nothing answered
    with connect(demo_db) as con:
        aid = next(a for a in launched.assessment_ids if store.get_assessment(con, a).unit == OWN)
    app = _open(_assessor(demo_db), "pages/assess.py", assessment=str(aid))
    assert "**Review:** not started" in _texts(app, "markdown")
    app.button(key=f"submit_{aid}").click().run()
    errors = _texts(app, "error")
    assert f"{OWN} {LABEL} cannot be submitted yet" in errors, errors
    with connect(demo_db) as con:
        assert review.review_state(con, aid) == "not started"


def test_a_round_outside_campaigns_shows_no_review(demo_db: Path) -> None:
    with connect(demo_db) as con:
        aid = int(store.list_assessments(con)["id"].iloc[0])
    app = _open(LEAD, "pages/assess.py", assessment=str(aid))
    assert "Review:" not in _texts(app, "markdown")
    assert not [b for b in app.button if b.key and b.key.startswith("submit_")]


@pytest.mark.parametrize(("page", "key"), [("pages/settings.py", "final_only"), ("pages/campaigns.py", "campaign_final_only")])
def test_the_final_only_setting_is_switched_from_the_page(demo_db: Path, page: str, key: str) -> None:
    who = access.local_admin("Ada") if page == "pages/settings.py" else LEAD
    app = _open(who, page)
    assert app.toggle(key=key).value is False
    app.toggle(key=key).set_value(True).run()
    assert not app.exception, app.exception
    with connect(demo_db) as con:
        assert final_only(con) is True
    app.toggle(key=key).set_value(False).run()
    with connect(demo_db) as con:
        assert final_only(con) is False


def test_overdue_units_get_a_mail_link_each_and_the_board_flags_them(demo_db: Path) -> None:
    with connect(demo_db) as con:
        campaigns.launch(con, name="Late one", units=UNITS, scope="clauses", label=LABEL,
                         assessed_on=dt.date.today() - dt.timedelta(days=40), due_on=dt.date.today() - dt.timedelta(days=9),
                         assessors={OWN: [ASSESSOR_EMAIL], OTHER: ["rb@example.org", "rb2@example.org"]},
                         principal=LEAD, by="Lea Lead")
    app = _open(LEAD, "pages/campaigns.py")
    links = {e.proto.label: e.proto.url for e in app.get("link_button")}
    assert len(links) == 3 and "3 unit(s) overdue" in _texts(app, "caption"), links
    own = links[f"Write to {OWN}'s assessors (9 day(s) late)"]
    assert own.startswith(f"mailto:{ASSESSOR_EMAIL}?subject=") and "<" not in own and " " not in own
    assert links[f"Write to {OTHER}'s assessors (9 day(s) late)"].startswith("mailto:rb2@example.org,rb@example.org?")
    third = next(u for u in UNITS if u not in (OWN, OTHER))  # nobody named: the link says the address is missing
    assert links[f"Write to {third}'s assessors (none named: add the address yourself) (9 day(s) late)"].startswith(
        "mailto:?subject=")
    board = _board(app).set_index("unit")
    assert board["overdue"].tolist() == ["yes"] * 3 and board["days_overdue"].tolist() == [9] * 3
    app.toggle(key="board_overdue").set_value(True).run()
    assert len(_board(app)) == 3
    app.multiselect(key="board_states").set_value(["submitted"]).run()
    assert _board(app).empty


def test_returning_without_a_comment_or_with_an_unknown_item_is_refused_and_nothing_changes(demo_db: Path) -> None:
    launched = _launch(demo_db)
    with connect(demo_db) as con:
        aid = next(a for a in launched.assessment_ids if store.get_assessment(con, a).unit == OWN)
        campaigns.submit(con, aid, principal=_assessor(demo_db), by="Asa")
    lead = _open(LEAD, "pages/campaigns.py")
    lead.button(key="review_return").click().run()
    assert "returning Life Insurance 2026-C1 needs a comment" in _texts(lead, "error"), _texts(lead, "error")
    lead.text_area(key="r_items").input("9.9 = no such item")
    lead.button(key="review_return").click().run()
    assert "Comments, line 1: '9.9' is not an item of this round" in _texts(lead, "error"), _texts(lead, "error")
    assert lead.text_area(key="r_items").value == "9.9 = no such item"  # kept, to be corrected
    with connect(demo_db) as con:
        assert review.review_state(con, aid) == "submitted"
        assert campaigns.comments(con, aid, principal=LEAD).empty


def test_an_answer_given_after_someone_else_submitted_the_round_is_refused_in_words(demo_db: Path) -> None:
    launched = _launch(demo_db)
    with connect(demo_db) as con:
        aid = next(a for a in launched.assessment_ids if store.get_assessment(con, a).unit == OWN)
    asa = _assessor(demo_db)
    app = _open(asa, "pages/assess.py", assessment=str(aid))  # open while the round is in progress
    with connect(demo_db) as con:
        before = store.responses(con, principal=LEAD, assessment_ids=[aid]).set_index("item_id").loc["4.1", "maturity"]
        campaigns.submit(con, aid, principal=LEAD, by="Lea Lead")  # submitted meanwhile, from elsewhere
    app.radio(key=f"a{aid}:4.1:maturity").set_value(0 if before else 5).run()
    assert not app.exception, app.exception
    assert "is submitted for review" in _texts(app, "error"), _texts(app, "error")
    with connect(demo_db) as con:
        assert store.responses(con, principal=LEAD, assessment_ids=[aid]).set_index("item_id").loc["4.1", "maturity"] == before
