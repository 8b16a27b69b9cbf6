"""The time cap and privacy: the export holds a person's platform time and web-time log;
deleting the account erases the words of the log and keeps the minutes."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from dap.accounts.models import User
from dap.accounts.privacy import export_user_data
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.timecap.models import WebActivity
from tests import factories
from tests.accounts.test_privacy import read_export
from tests.conftest import counting_queries, post_form

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
LOG = {"kind": "tried", "title": "Tried a poll tool", "url": "https://example.org/poll",
       "minutes": "25", "note": "Made a poll for the team"}


def _participant(app, world, role_client, frozen):
    frozen(NOW)
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).start_date = date(2026, 11, 2)
        db.session.commit()
    return role_client("participant")


def test_the_export_holds_platform_time_and_the_web_log(app, world, role_client, frozen):
    me = _participant(app, world, role_client, frozen)
    assert post_form(me, "/time/log", LOG).status_code == 303
    me.get("/")  # a page request: a beat
    document, tables = read_export(me.get("/account/export").data)
    (logged,) = tables["web_activities"]
    assert (logged["title"], logged["url"], logged["minutes"], logged["note"]) == (
        "Tried a poll tool", "https://example.org/poll", "25", "Made a poll for the team")
    assert document["web_activities"][0]["logged_by_someone_else"] is False
    assert [d["day"] for d in document["platform_time"]] == ["2026-11-18"]


def test_the_export_query_count_does_not_grow_with_the_log(app, world, role_client, frozen):
    me = _participant(app, world, role_client, frozen)

    def queries() -> int:
        with counting_queries(app) as statements, app.app_context():
            export_user_data(db.session.get(User, world["participant"]))
        return len(statements)

    assert post_form(me, "/time/log", LOG).status_code == 303
    before = queries()
    for n in range(5):
        assert post_form(me, "/time/log", {**LOG, "title": f"Try {n}"}).status_code == 303
    assert queries() == before


def test_deleting_the_account_erases_the_words_and_keeps_the_minutes(app, world, role_client,
                                                                     frozen):
    me = _participant(app, world, role_client, frozen)
    assert post_form(me, "/time/log", LOG).status_code == 303
    response = post_form(me, "/account/delete", {"password": factories.PASSWORD})
    assert response.headers["Location"] == "/account/deleted"
    with app.app_context():
        row = db.session.scalars(select(WebActivity)).one()
        assert (row.title, row.url, row.note, row.minutes, row.kind.value) == (
            "Web activity", "", "", 25, "tried")
