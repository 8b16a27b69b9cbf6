"""/api/v1/notifications: my inbox newest first (as the inbox page orders it), the unread
filter, paging, marking one or all read through dap.nudges.notify, other people's
notifications out of reach, read tokens, bad input, a flat query count, and the time cap
leaving the inbox open."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.nudges import notify
from dap.nudges.models import Notification, NotificationKind
from dap.timecap.models import PlatformDay
from tests import factories
from tests.api.conftest import problem
from tests.conftest import counting_queries

#: a Wednesday
T0 = datetime(2027, 3, 17, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_t0(frozen):
    """The clock stands at T0 before the world is made (its cohort runs around T0)."""
    frozen(T0)


@pytest.fixture
def note(app, frozen):
    """``note(user_id, title, at=…, **fields)`` → the id of a new notification to that user,
    sent through dap.nudges.notify as the domains send them."""

    def make(user_id: int, title: str = "Hello", *, at: datetime | None = None,
             kind: NotificationKind = NotificationKind.GENERAL, body: str = "A word.",
             link: str = "", sender_id: int | None = None, cohort_id: int | None = None
             ) -> int:
        frozen(at or T0)
        with app.app_context():
            sent = notify.notify(
                db.session.get(User, user_id), kind=kind, title=title, body=body,
                dedup_key=f"test:{uuid.uuid4().hex}", link=link,
                sender=db.session.get(User, sender_id) if sender_id else None,
                cohort=db.session.get(Cohort, cohort_id) if cohort_id else None)
            db.session.commit()
            ident = sent.id
        frozen(T0)
        return ident

    return make




def read_at(app, notification_id: int) -> datetime | None:
    with app.app_context():
        return db.session.get(Notification, notification_id).read_at


def test_my_notifications_newest_first_with_who_sent_them(app, world, api, note):
    me = world["participant"]
    oldest = note(me, "Welcome", at=T0 - timedelta(days=2))
    nudge = note(me, "Keep going", at=T0 - timedelta(hours=1), kind=NotificationKind.ENTHUSE,
                 body="You’re doing well.\n\nTry <b>one</b> more post & tell me.",
                 sender_id=world["patron"], cohort_id=world["cohort"],
                 link=f"/cohorts/{world['cohort']}/events/7")
    newest = note(me, "Changed: Writing", at=T0)
    note(world["patron"], "Not yours")

    response = api("participant").get("/notifications")
    assert response.status_code == 200
    body = response.get_json()
    assert [i["id"] for i in body["items"]] == [newest, nudge, oldest]
    assert body["next_cursor"] is None
    assert body["items"][1] == {
        "id": nudge, "kind": "enthuse", "title": "Keep going",
        "body": "You’re doing well.\n\nTry <b>one</b> more post & tell me.",  # as stored
        "from": "Pat Patron", "cohort_id": world["cohort"],
        "created_at": "2027-03-17T08:00:00Z", "read_at": None,
        "url": f"http://localhost/cohorts/{world['cohort']}/events/7"}
    assert (body["items"][0]["from"], body["items"][0]["url"], body["items"][0]["cohort_id"]) == (
        None, None, None)
    assert "sender" not in body["items"][0]


def test_the_order_is_the_inbox_order_not_the_id_order(app, world, api, note):
    """Notifications stored later may be older (the demo's history): newest first by
    time, as on /notifications, and by id among those stored at the same moment."""
    me = world["participant"]
    recent = note(me, "Recent", at=T0)
    backdated = note(me, "Backdated", at=T0 - timedelta(days=30))
    same_a = note(me, "Same moment A", at=T0 - timedelta(days=1))
    same_b = note(me, "Same moment B", at=T0 - timedelta(days=1))
    expected = [recent, same_b, same_a, backdated]
    client = api("participant")
    assert [i["id"] for i in client.get("/notifications").get_json()["items"]] == expected

    seen, cursor, pages = [], None, 0
    while True:
        response = client.get("/notifications", query_string={"limit": 1, "cursor": cursor}
                              if cursor else {"limit": 1})
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        if pages == 2:  # a new one arriving meanwhile does not shift the pages
            note(me, "Arrived meanwhile", at=T0 + timedelta(minutes=5))
    assert seen == expected
    assert pages == 4


def test_the_unread_filter(app, world, api, note):
    me = world["participant"]
    first, second = note(me, "First"), note(me, "Second")
    client = api("participant")
    assert client.post(f"/notifications/{first}/read").status_code == 200
    assert [i["id"] for i in client.get("/notifications?unread=true").get_json()["items"]] == [
        second]
    assert [i["id"] for i in client.get("/notifications?unread=false").get_json()["items"]] == [
        first]
    assert len(client.get("/notifications").get_json()["items"]) == 2


@pytest.mark.parametrize("query", ["unread=maybe", "unread=", "unread=2", "limit=0",
                                   "limit=101", "limit=-1", "limit=1e3", "cursor=abc",
                                   "cursor=12", "cursor=1_2_3", "cursor=١_1", "page=2",
                                   "cursor=" + "1" * 300 + "_1"])
def test_bad_query_parameters_are_422(api, query):
    body = problem(api("participant").get(f"/notifications?{query}"), 422,
                   "validation_failed")
    assert [e["field"] for e in body["errors"]] == [query.split("=")[0]]


def test_every_cursor_the_document_allows_is_a_page(world, api, note):
    me = world["participant"]
    older, newer = note(me, "Older", at=T0 - timedelta(hours=1)), note(me, "Newer")
    client = api("participant")

    def ids(cursor: str) -> list[int]:
        response = client.get("/notifications", query_string={"cursor": cursor})
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    at_t0 = int((T0 - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000
    assert ids("9999999999999999_9999999999") == [newer, older]  # after everything
    assert ids(f"{at_t0}_9999999999") == [newer, older]  # at T0, after every id
    assert ids(f"{at_t0}_{newer}") == [older]
    assert ids(f"{at_t0}_0") == [older]
    assert ids("0_0") == []  # before everything


def test_marking_one_read_keeps_the_first_reading_time(app, world, api, note, frozen,
                                                        role_client):
    me = world["participant"]
    ident = note(me, "Keep going", sender_id=world["patron"])
    other = note(me, "Still unread")
    frozen(T0 + timedelta(minutes=3))
    response = api("participant").post(f"/notifications/{ident}/read")
    assert response.status_code == 200
    assert response.get_json()["id"] == ident
    assert response.get_json()["read_at"] == "2027-03-17T09:03:00Z"
    assert response.get_json()["from"] == "Pat Patron"
    frozen(T0 + timedelta(minutes=9))
    again = api("participant").post(f"/notifications/{ident}/read")
    assert again.get_json()["read_at"] == "2027-03-17T09:03:00Z"
    assert read_at(app, other) is None
    # the inbox page agrees
    page = role_client("participant").get("/notifications").get_data(as_text=True)
    assert f'class="card" id="notification-{ident}"' in page
    assert f'class="card unread" id="notification-{other}"' in page


def test_other_peoples_notifications_are_404(app, world, api, note):
    theirs = note(world["patron"], "For the patron")
    client = api("participant")
    problem(client.post(f"/notifications/{theirs}/read"), 404, "not_found")
    problem(client.post("/notifications/999999/read"), 404, "not_found")
    problem(client.post("/notifications/2147483648/read"), 404, "not_found")
    problem(client.post(f"/notifications/{10**30}/read"), 404, "not_found")
    problem(client.post("/notifications/0/read"), 404, "not_found")
    problem(client.post("/notifications/-1/read"), 404, "not_found")
    assert read_at(app, theirs) is None
    assert [i["id"] for i in api("patron").get("/notifications").get_json()["items"]] == [theirs]
    assert client.get("/notifications").get_json()["items"] == []


def test_marking_all_read(app, world, api, note):
    me = world["participant"]
    mine = [note(me, "One"), note(me, "Two")]
    theirs = note(world["patron"], "For the patron")
    client = api("participant")
    assert client.post(f"/notifications/{mine[0]}/read").status_code == 200
    note(me, "Three")
    response = client.post("/notifications/read-all")
    assert response.status_code == 200
    assert response.get_json() == {"marked": 2}
    assert client.post("/notifications/read-all").get_json() == {"marked": 0}
    assert client.get("/notifications?unread=true").get_json()["items"] == []
    assert read_at(app, theirs) is None


def test_a_read_token_reads_but_does_not_mark(app, world, api, note):
    ident = note(world["participant"], "Hello")
    reader = api("participant-read")
    assert reader.get("/notifications").status_code == 200
    problem(reader.post(f"/notifications/{ident}/read"), 403, "insufficient_scope")
    problem(reader.post("/notifications/read-all"), 403, "insufficient_scope")
    problem(api(None).post("/notifications/read-all"), 401, "token_missing")
    problem(api(None).get("/notifications"), 401, "token_missing")
    assert read_at(app, ident) is None


def test_the_inbox_costs_the_same_for_three_notifications_or_thirty(app, world, api, note):
    me = world["participant"]

    def add(n: int) -> None:
        for i in range(n):
            with app.app_context():
                sender = factories.make_user()
                db.session.commit()
                sender_id = sender.id
            note(me, f"Nudge {i}", kind=NotificationKind.NUDGE, sender_id=sender_id,
                 cohort_id=world["cohort"], link="/notifications",
                 at=T0 - timedelta(minutes=len(str(i)) + i))

    def count() -> int:
        assert api("participant").get("/notifications").status_code == 200  # the token noted
        with counting_queries(app) as statements:
            response = api("participant").get("/notifications?limit=100")
        assert response.status_code == 200
        return len(statements)

    add(3)
    few = count()
    add(27)
    assert len(api("participant").get("/notifications?limit=100").get_json()["items"]) == 30
    assert count() == few


def test_a_capped_participant_still_reads_and_marks_notifications(app, world, api, note):
    ident = note(world["participant"], "Keep going", sender_id=world["patron"])
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.grace_minutes, cohort.platform_minutes_per_week = 1, 5
        db.session.add(PlatformDay(user_id=world["participant"],
                                   day=local_date(now_utc(), cohort.timezone), seconds=600,
                                   last_beat=0))
        db.session.commit()
    client = api("participant")
    problem(client.get("/goals"), 403, "platform_cap_reached")  # the cap holds elsewhere
    response = client.get("/notifications")
    assert response.status_code == 200
    assert [i["id"] for i in response.get_json()["items"]] == [ident]
    assert client.post(f"/notifications/{ident}/read").status_code == 200
    assert client.post("/notifications/read-all").get_json() == {"marked": 0}
    with app.app_context():
        assert db.session.scalar(select(Notification.read_at).where(
            Notification.id == ident)) is not None
