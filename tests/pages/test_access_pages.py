"""Each role × page in the app (AppTest cannot sign in: the principal is put into session state by the test,
the seam `dashboard.ui` honours only for a Principal object), deep links to another unit, the Access page,
local mode, AIMS_REQUIRE_LOGIN and an [auth] section without cookie_secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import access, ui
from dashboard.access import PAGE_ROLES, Principal
from dashboard.db import connect
from tests.pages.conftest import APP, ROOT

OWN, OTHER = "HR & People", "Retail Banking"
REFUSED = "Your role does not open this page"


def _people(db: Path) -> dict[str, Principal]:
    admin = access.local_admin("Test Admin")
    with connect(db) as con:
        access.grant(con, "assessor@example.org", "assessor", OWN, by=admin)
        return {
            "administrator": Principal("admin@example.org", "Ada Admin", access.ADMIN),
            "lead": Principal("lead@example.org", "Lea Lead", access.LEAD),
            "assessor": access.resolve(con, "assessor@example.org", "Asa Assessor"),
            "viewer": Principal("viewer@example.org", "Vic Viewer", access.VIEWER),
        }


def _run(page: str, who: Principal | None, **params: str) -> AppTest:
    app = AppTest.from_file(str(ROOT / page), default_timeout=60)
    if who is not None:
        app.session_state[ui._TEST_KEY] = who
    for key, value in params.items():
        app.query_params[key] = value
    return app.run()


def _texts(app: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "title", "subheader", "header")
             for e in app.get(kind) if isinstance(getattr(e, "value", None), str)]
    for frame in app.dataframe:
        parts.append(frame.value.to_csv())
    for box in [*app.selectbox, *app.multiselect]:
        parts.extend(str(o) for o in box.options)
    return "\n".join(parts)


def _app(who: Principal, page: str | None = None, **params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state[ui._TEST_KEY] = who
    app.run()
    if page:
        for key, value in params.items():
            app.query_params[key] = value
        app.switch_page(page).run()
    return app


@pytest.mark.parametrize("role", ["administrator", "lead", "assessor", "viewer"])
def test_each_role_opens_its_pages_and_is_refused_the_others(demo_db: Path, role: str) -> None:
    who = _people(demo_db)[role]
    app = _app(who)
    for page in (p for p, roles in PAGE_ROLES.items() if role not in roles):
        with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in the navigation
            app.switch_page(page)
        direct = _run(page, who)  # and opened by its own URL, the page refuses
        assert any(REFUSED in e.value for e in direct.error), (role, page)
        assert not direct.dataframe and not direct.get("plotly_chart")
    for page in (p for p, roles in PAGE_ROLES.items() if role in roles):
        app.switch_page(page).run()
        assert not app.exception, (role, page, app.exception)
        assert not any(REFUSED in e.value for e in app.error), (role, page)
        if role == "assessor":  # whatever the page, no other unit's name
            assert OTHER not in _texts(app), page


def test_a_deep_link_to_another_units_assessment_is_refused(demo_db: Path) -> None:
    who = _people(demo_db)["assessor"]
    with connect(demo_db) as con:
        other = con.execute("SELECT max(a.id) FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.name = ?",
                            [OTHER]).fetchall()[0][0]
        own = con.execute("SELECT max(a.id) FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.name = ?",
                          [OWN]).fetchall()[0][0]
    for page in ("pages/assess.py", "pages/summaries.py", "pages/overview.py"):
        app = _app(who, page, assessment=str(other))
        assert not app.exception
        assert any("not assigned" in e.value for e in app.error), page
        assert OTHER not in _texts(app)
    app = _app(who, "pages/assess.py", assessment=str(own))
    assert not app.exception and not app.error
    assert OWN in _texts(app) and OTHER not in _texts(app)


def test_a_viewer_sees_no_free_text_and_a_person_without_role_sees_whom_to_ask(
        demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMS_ADMINS", "boss@example.org")
    viewer = _people(demo_db)["viewer"]
    app = _app(viewer)  # (AppTest drops app.py's sidebar elements from its tree after a switch_page)
    assert any("Vic Viewer" in c.value and "viewer@example" in c.value for c in app.sidebar.caption)
    assert [b.label for b in app.sidebar.button] == ["Log out"]
    app.switch_page("pages/drilldown.py").run()
    shown = [f.value for f in app.dataframe if "evidence" in f.value.columns]
    assert shown and all(f["evidence"].isna().all() and f["notes"].isna().all() for f in shown)
    assert all(f["maturity"].notna().any() for f in shown)  # the figures stay
    nobody = Principal("x@example.org", "Xavier", None, frozenset())
    app = _app(nobody)
    assert [t.value for t in app.title] == ["No access yet"]
    assert "boss@example.org" in _texts(app) and not app.dataframe and not app.get("plotly_chart")


def test_the_access_page_grants_and_refuses_the_last_administrator(demo_db: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIMS_ADMINS", raising=False)
    admin = Principal("admin@example.org", "Ada Admin", access.ADMIN)
    app = _app(admin, "pages/access.py")
    assert not app.exception
    app.text_input(key="access_grant_email").input("admin@example.org")
    app.selectbox(key="access_grant_role").select("administrator")
    next(b for b in app.button if b.label == "Grant").click().run()
    assert any("Granted" in s.value for s in app.success)
    app.text_input(key="access_revoke_email").input("admin@example.org")
    app.selectbox(key="access_revoke_role").select("administrator")
    next(b for b in app.button if b.label == "Revoke").click().run()
    assert any("last administrator" in e.value for e in app.error)
    with connect(demo_db) as con:
        log = con.execute("SELECT item_id, new_value, changed_by FROM change_log WHERE field = 'role'").fetchall()
    assert log == [("admin@example.org", "administrator", "Ada Admin <admin@example.org>")]


def test_local_mode_says_so(demo_db: Path) -> None:
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    assert any("Local mode: no sign-in" in c.value for c in app.sidebar.caption)


def test_require_login_without_sign_in_serves_nothing(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMS_REQUIRE_LOGIN", "true")
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert any("requires sign-in" in e.value for e in app.error)
    assert not app.dataframe and not app.get("plotly_chart") and not app.metric


def test_sign_in_needs_a_cookie_secret_and_shows_a_sign_in_page(demo_db: Path) -> None:
    auth = {"redirect_uri": "http://localhost:8501/oauth2callback", "client_id": "aims",
            "client_secret": "s3cret-client", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    app = AppTest.from_file(APP, default_timeout=60)
    app.secrets["auth"] = auth
    app.run()
    assert any("cookie_secret" in e.value for e in app.error) and not app.metric
    assert "s3cret-client" not in _texts(app)
    app = AppTest.from_file(APP, default_timeout=60)
    app.secrets["auth"] = {**auth, "cookie_secret": "a-long-random-cookie-secret-for-tests"}
    app.run()
    assert not app.exception
    assert [b.label for b in app.button] == ["Sign in"] and not app.metric
    assert "a-long-random-cookie-secret" not in _texts(app)


def test_the_signed_in_identity_is_what_a_change_records(demo_db: Path) -> None:
    who = _people(demo_db)["assessor"]
    with connect(demo_db) as con:
        con.execute("UPDATE assessment SET status = 'draft'")
        own = con.execute("SELECT max(a.id) FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.name = ?",
                          [OWN]).fetchall()[0][0]
    app = _app(who, "pages/assess.py", assessment=str(own))
    assert not [t for t in app.sidebar.text_input if t.key == "assessor_name_input"]  # nothing to type: signed in
    app.radio(key=f"a{own}:4.1:maturity").set_value(1).run()
    assert not app.exception
    with connect(demo_db) as con:
        logged = con.execute("SELECT changed_by FROM change_log WHERE assessment_id = ? AND item_id = '4.1' "
                             "ORDER BY id DESC LIMIT 1", [own]).fetchall()
    assert logged == [("Asa Assessor <assessor@example.org>",)]
