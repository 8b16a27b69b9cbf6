"""/api/v1/events: the upcoming events of one's cohorts (soonest first, paged by start
time), answering them with the web page's rules (the waitlist, a freed seat passed on,
answering twice, closed and cancelled events), who may answer, join links only for people
going, bad input, a flat query count, and the time cap leaving events open."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort, CohortRole
from dap.events.models import Event, EventKind, EventMode, EventStatus, Rsvp, RsvpStatus
from dap.extensions import db
from dap.nudges.models import OutboxMessage
from dap.timecap.models import PlatformDay
from tests import factories
from tests.api.conftest import Api, make_token, problem
from tests.conftest import counting_queries

#: a Monday
T0 = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_t0(frozen):
    """The clock stands at T0 before the world is made (its cohort runs around T0)."""
    frozen(T0)


def make_event(cohort_id: int, *, starts_in: timedelta = timedelta(days=3),
               title: str = "Writing for screens", capacity: int | None = None,
               join_url: str = "", cancelled: bool = False,
               rsvp_deadline: datetime | None = None) -> int:
    """An event of the cohort, two hours long (call inside an app context; flushed)."""
    starts = now_utc() + starts_in
    event = Event(cohort_id=cohort_id, kind=EventKind.WORKSHOP, title=title, starts_at=starts,
                  ends_at=starts + timedelta(hours=2), mode=EventMode.HYBRID, venue="Room 4",
                  join_url=join_url, capacity=capacity, rsvp_deadline=rsvp_deadline,
                  status=EventStatus.CANCELLED if cancelled else EventStatus.SCHEDULED,
                  uid=f"{uuid.uuid4().hex}@dap")
    db.session.add(event)
    db.session.flush()
    return event.id


@pytest.fixture
def event(app, world):
    """``event(**fields)`` → the id of a new event of the world's cohort (committed)."""

    def make(**fields) -> int:
        with app.app_context():
            ident = make_event(world["cohort"], **fields)
            db.session.commit()
            return ident

    return make


@pytest.fixture
def people(app, world):
    """``people(n)`` → n new participants of the world's cohort, each an Api client with a
    read-write token (``.user_id`` is their id)."""

    def make(n: int, cohort_id: int | None = None) -> list[Api]:
        clients = []
        with app.app_context():
            cohort = db.session.get(Cohort, cohort_id or world["cohort"])
            for _ in range(n):
                user = factories.make_user()
                factories.add_member(cohort, user, CohortRole.PARTICIPANT)
                db.session.commit()
                client = Api(app.test_client(), make_token(user.id))
                client.user_id = user.id
                clients.append(client)
        return clients

    return make


def rsvp(client: Api, event_id: int, going: bool):
    return client.post(f"/events/{event_id}/rsvp", json={"going": going})


def answers(app, event_id: int) -> dict[int, RsvpStatus]:
    with app.app_context():
        return {r.user_id: r.status for r in db.session.scalars(
            select(Rsvp).where(Rsvp.event_id == event_id))}


def promoted_to(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(OutboxMessage.to_addr)
                                         .where(OutboxMessage.kind == "event_promoted")))


def email_of(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).email




# --- the list ---------------------------------------------------------------------------------


def test_upcoming_events_of_my_cohorts_soonest_first(app, world, api, event):
    later = event(starts_in=timedelta(days=9), title="Later")
    sooner = event(starts_in=timedelta(days=2), title="Sooner", capacity=12)
    cancelled = event(starts_in=timedelta(days=5), title="Called off", cancelled=True)
    running = event(starts_in=timedelta(hours=-1), title="Running now")  # not over yet
    event(starts_in=timedelta(days=-3), title="Over")
    with app.app_context():
        elsewhere = make_event(factories.make_cohort().id, title="Another cohort's")
        db.session.commit()

    response = api("participant").get("/events")
    assert response.status_code == 200
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == [running, sooner, cancelled, later]
    assert elsewhere not in [item["id"] for item in body["items"]]
    assert body["next_cursor"] is None
    item = body["items"][1]
    with app.app_context():
        starts = db.session.get(Event, sooner).starts_at
    assert item == {
        "id": sooner, "cohort_id": world["cohort"], "title": "Sooner", "kind": "workshop",
        "starts_at": starts.isoformat().replace("+00:00", "Z"),
        "ends_at": (starts + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
        "mode": "hybrid", "venue": "Room 4", "join_url": None, "capacity": 12,
        "going_count": 0, "cancelled": False, "my_answer": None, "waitlist_position": None,
        "url": f"http://localhost/cohorts/{world['cohort']}/events/{sooner}"}
    assert [i["cancelled"] for i in body["items"]] == [False, False, True, False]
    # patrons and facilitators of the cohort see its events too; someone in no cohort, none
    for role in ("patron", "facilitator"):
        assert len(api(role).get("/events").get_json()["items"]) == 4
    assert api("outsider").get("/events").get_json() == {"items": [], "next_cursor": None}


def test_a_removed_member_no_longer_sees_the_cohorts_events(app, world, api, event):
    event()
    assert len(api("participant").get("/events").get_json()["items"]) == 1
    with app.app_context():
        from dap.cohorts.models import Membership, MembershipStatus

        db.session.get(Membership, world["participant_membership"]).status = (
            MembershipStatus.REMOVED)
        db.session.commit()
    assert api("participant").get("/events").get_json()["items"] == []


def test_the_cohort_filter(app, world, api, event, people):
    mine = event()
    with app.app_context():
        other = factories.make_cohort()
        factories.add_member(other, db.session.get(User, world["participant"]),
                             CohortRole.PARTICIPANT)
        theirs = make_event(other.id, starts_in=timedelta(days=1))
        stranger = factories.make_cohort()
        make_event(stranger.id)
        db.session.commit()
        other_id, stranger_id = other.id, stranger.id
    client = api("participant")
    assert [i["id"] for i in client.get("/events").get_json()["items"]] == [theirs, mine]
    assert [i["id"] for i in client.get(f"/events?cohort_id={world['cohort']}")
            .get_json()["items"]] == [mine]
    assert [i["id"] for i in client.get(f"/events?cohort_id={other_id}")
            .get_json()["items"]] == [theirs]
    # a cohort I am not in: nothing of it, not an error
    assert client.get(f"/events?cohort_id={stranger_id}").get_json()["items"] == []


@pytest.mark.parametrize("query", ["cohort_id=0", "cohort_id=-1", "cohort_id=abc",
                                   "cohort_id=99999999999", "cohort_id=", "limit=0",
                                   "limit=101", "limit=ten", "colour=blue",
                                   "cursor=" + "x" * 201])
def test_bad_query_parameters_are_422(api, query):
    body = problem(api("participant").get(f"/events?{query}"), 422, "validation_failed")
    assert body["errors"][0]["field"] == query.split("=")[0]


def test_pages_follow_the_start_time_and_never_repeat(app, world, api, event):
    ids = [event(starts_in=timedelta(days=d)) for d in (4, 1, 3, 3, 2)]  # two start together
    expected = [ids[1], ids[4], ids[2], ids[3], ids[0]]
    client = api("participant")
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get("/events?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        if pages == 1:  # an event added before the cursor does not shift the next page
            event(starts_in=timedelta(hours=12))
    assert seen == expected
    assert pages == 3


@pytest.mark.parametrize("cursor", [
    "not-a-cursor", "12", "12_", "_12", "-5_3", "1.5_3", "1_2_3", "12345678901234567_1",
    "1_12345678901", "١٢_3", "12_3 ", " 12_3", "12%003",
])
def test_a_cursor_outside_the_document_is_422(api, event, cursor):
    event()
    body = problem(api("participant").get("/events", query_string={"cursor": cursor}), 422,
                   "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["cursor"]


def test_every_cursor_the_document_allows_is_a_page(app, api, event):
    first, second = event(starts_in=timedelta(days=1)), event(starts_in=timedelta(days=2))
    client = api("participant")

    def ids(cursor: str) -> list[int]:
        response = client.get("/events", query_string={"cursor": cursor})
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("0_0") == [first, second]  # before everything
    assert ids("9999999999999999_9999999999") == []  # after everything
    with app.app_context():
        starts = db.session.get(Event, first).starts_at
    at = int((starts - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000
    assert ids(f"{at}_0") == [first, second]
    assert ids(f"{at}_{first}") == [second]
    assert ids(f"{at}_9999999999") == [second]  # at its start, after every id
    page = client.get("/events?limit=1").get_json()
    assert [i["id"] for i in page["items"]] == [first]
    assert ids(page["next_cursor"]) == [second]


# --- answering --------------------------------------------------------------------------------


def test_a_full_event_waitlists_and_a_freed_seat_goes_to_the_first_waiting(app, event,
                                                                            people):
    event_id = event(capacity=2)
    first, second, third, fourth = people(4)
    assert rsvp(first, event_id, True).get_json()["my_answer"] == "going"
    body = rsvp(second, event_id, True).get_json()
    assert (body["my_answer"], body["going_count"], body["waitlist_position"]) == (
        "going", 2, None)
    body = rsvp(third, event_id, True).get_json()
    assert (body["my_answer"], body["going_count"], body["waitlist_position"]) == (
        "waitlisted", 2, 1)
    assert rsvp(fourth, event_id, True).get_json()["waitlist_position"] == 2
    assert answers(app, event_id) == {
        first.user_id: RsvpStatus.GOING, second.user_id: RsvpStatus.GOING,
        third.user_id: RsvpStatus.WAITLISTED, fourth.user_id: RsvpStatus.WAITLISTED}

    given_up = rsvp(first, event_id, False)
    assert given_up.status_code == 200
    assert given_up.get_json()["my_answer"] == "declined"
    assert given_up.get_json()["going_count"] == 2  # the seat went on at once
    assert answers(app, event_id)[third.user_id] is RsvpStatus.GOING
    assert promoted_to(app) == [email_of(app, third.user_id)]
    [item] = third.get("/events").get_json()["items"]
    assert (item["my_answer"], item["waitlist_position"]) == ("going", None)
    [item] = fourth.get("/events").get_json()["items"]
    assert (item["my_answer"], item["waitlist_position"]) == ("waitlisted", 1)
    # leaving the waitlist frees no seat and tells no one
    assert rsvp(fourth, event_id, False).get_json()["my_answer"] == "declined"
    assert promoted_to(app) == [email_of(app, third.user_id)]


def test_answering_twice_changes_nothing(app, event, people):
    event_id = event(capacity=1)
    me, other = people(2)
    first = rsvp(me, event_id, True).get_json()
    with app.app_context():
        before = db.session.scalar(select(Rsvp).where(Rsvp.user_id == me.user_id))
        stamp = (before.id, before.updated_at)
    for _ in range(2):
        again = rsvp(me, event_id, True)
        assert again.status_code == 200
        assert again.get_json() == first
    with app.app_context():
        rows = db.session.scalars(select(Rsvp).where(Rsvp.event_id == event_id)).all()
        assert [(r.id, r.updated_at) for r in rows] == [stamp]
    # waiting twice keeps one's place
    assert rsvp(other, event_id, True).get_json()["waitlist_position"] == 1
    assert rsvp(other, event_id, True).get_json()["waitlist_position"] == 1
    # and "not going" twice is one answer
    assert rsvp(other, event_id, False).get_json()["my_answer"] == "declined"
    assert rsvp(other, event_id, False).get_json()["my_answer"] == "declined"
    assert answers(app, event_id) == {me.user_id: RsvpStatus.GOING,
                                      other.user_id: RsvpStatus.DECLINED}


def test_an_answer_through_the_api_shows_on_the_event_page(world, api, event, role_client):
    event_id = event()
    page_url = f"/cohorts/{world['cohort']}/events/{event_id}"
    web = role_client("participant")
    assert "You’re going." not in web.get(page_url).get_data(as_text=True)
    assert rsvp(api("participant"), event_id, True).status_code == 200
    page = web.get(page_url).get_data(as_text=True)
    assert "You’re going." in page
    assert "Going</dt><dd>1" in page
    assert rsvp(api("participant"), event_id, False).status_code == 200
    assert "You said you can’t go." in web.get(page_url).get_data(as_text=True)


def test_the_join_link_only_for_people_going_and_those_running_it(world, api, event, people):
    link = "https://meet.example.org/writing"
    event_id = event(join_url=link)

    def join_url(client) -> str | None:
        [item] = [i for i in client.get("/events").get_json()["items"] if i["id"] == event_id]
        return item["join_url"]

    me = api("participant")
    assert join_url(me) is None
    assert rsvp(me, event_id, True).get_json()["join_url"] == link
    assert join_url(me) == link
    assert join_url(api("patron")) is None
    assert join_url(api("facilitator")) == link
    assert rsvp(me, event_id, False).get_json()["join_url"] is None
    # waiting is not going
    full = event(join_url=link, capacity=1)
    taker, waiter = people(2)
    assert rsvp(taker, full, True).get_json()["join_url"] == link
    assert rsvp(waiter, full, True).get_json()["join_url"] is None


def test_a_cancelled_event_shows_no_join_link_and_takes_no_answers(app, world, api, event):
    link = "https://meet.example.org/writing"
    event_id = event(join_url=link)
    me = api("participant")
    assert rsvp(me, event_id, True).status_code == 200
    with app.app_context():
        db.session.get(Event, event_id).status = EventStatus.CANCELLED
        db.session.commit()
    [item] = me.get("/events").get_json()["items"]
    assert (item["cancelled"], item["join_url"], item["my_answer"]) == (True, None, "going")
    assert api("facilitator").get("/events").get_json()["items"][0]["join_url"] is None
    body = problem(rsvp(me, event_id, False), 409, "conflict")
    assert "cancelled" in body["detail"]
    assert answers(app, event_id) == {world["participant"]: RsvpStatus.GOING}


def test_answers_close_at_the_deadline_and_at_the_start(app, world, api, event, frozen):
    deadline = event(starts_in=timedelta(days=3), rsvp_deadline=T0 + timedelta(days=1))
    soon = event(starts_in=timedelta(hours=2))
    me = api("participant")
    frozen(T0 + timedelta(days=1))
    body = problem(rsvp(me, deadline, True), 409, "conflict")
    assert "closed" in body["detail"]
    frozen(T0 + timedelta(hours=2, minutes=1))  # started, not over: listed, but closed
    assert soon in [i["id"] for i in me.get("/events").get_json()["items"]]
    problem(rsvp(me, soon, True), 409, "conflict")
    assert answers(app, deadline) == {}
    assert answers(app, soon) == {}


@pytest.mark.parametrize("role", ["patron", "facilitator", "admin"])
def test_people_who_see_the_event_but_are_not_participants_get_403(app, api, event, role):
    event_id = event()
    problem(rsvp(api(role), event_id, True), 403, "not_a_participant")
    assert answers(app, event_id) == {}


def test_events_out_of_reach_are_404(app, world, api, event):
    event_id = event()
    problem(rsvp(api("outsider"), event_id, True), 404, "not_found")
    with app.app_context():
        other = make_event(factories.make_cohort().id)
        db.session.commit()
    me = api("participant")
    problem(rsvp(me, other, True), 404, "not_found")  # another cohort's event
    problem(rsvp(me, 999_999, True), 404, "not_found")
    problem(rsvp(me, 2_147_483_648, True), 404, "not_found")
    problem(rsvp(me, 10**30, True), 404, "not_found")
    # a participant of another cohort answers its events, never this one's
    with app.app_context():
        cohort = db.session.get(Event, other).cohort
        factories.add_member(cohort, db.session.get(User, world["outsider"]),
                             CohortRole.PARTICIPANT)
        db.session.commit()
    outsider = api("outsider")
    problem(rsvp(outsider, event_id, True), 404, "not_found")
    assert rsvp(outsider, other, True).status_code == 200
    assert answers(app, event_id) == {}
    assert answers(app, other) == {world["outsider"]: RsvpStatus.GOING}


def test_a_read_token_cannot_answer(app, world, api, event):
    event_id = event()
    problem(rsvp(api("participant-read"), event_id, True), 403, "insufficient_scope")
    problem(rsvp(api(None), event_id, True), 401, "token_missing")
    assert answers(app, event_id) == {}
    assert api("participant-read").get("/events").status_code == 200


@pytest.mark.parametrize(("payload", "field"), [
    ({"going": "yes"}, "going"), ({"going": 1}, "going"), ({"going": None}, "going"),
    ({"going": "true"}, "going"), ({}, "going"), ({"going": True, "note": "hi"}, "note"),
    ({"going": [True]}, "going"), ([True], "body"), ("yes", "body"),
])
def test_bad_answers_are_422(app, api, event, payload, field):
    event_id = event()
    body = problem(api("participant").post(f"/events/{event_id}/rsvp", json=payload), 422,
                   "validation_failed")
    assert [e["field"] for e in body["errors"]] == [field]
    assert answers(app, event_id) == {}


def test_a_missing_or_unreadable_body(app, api, event):
    event_id = event()
    client = api("participant")
    problem(client.post(f"/events/{event_id}/rsvp"), 415, "unsupported_media_type")
    problem(client.post(f"/events/{event_id}/rsvp", data="",
                        headers={"Content-Type": "application/json"}), 400, "invalid_json")
    problem(client.post(f"/events/{event_id}/rsvp", data='{"going": tr',
                        headers={"Content-Type": "application/json"}), 400, "invalid_json")
    problem(client.post(f"/events/{event_id}/rsvp", data={"going": "true"}), 415,
            "unsupported_media_type")
    assert answers(app, event_id) == {}


def test_unicode_and_a_huge_body(app, api, event):
    event_id = event()
    client = api("participant")
    problem(client.post(f"/events/{event_id}/rsvp", json={"going": "✓"}), 422,
            "validation_failed")
    huge = client.post(f"/events/{event_id}/rsvp", data='{"going": true, "x": "'
                       + "a" * 70_000 + '"}', headers={"Content-Type": "application/json"})
    problem(huge, 413, "too_large")
    assert answers(app, event_id) == {}


# --- cost and the cap -------------------------------------------------------------------------


def _list_queries(app, client) -> int:
    assert client.get("/events").status_code == 200  # the token's use noted (once a minute)
    with counting_queries(app) as statements:
        response = client.get("/events?limit=100")
    assert response.status_code == 200
    return len(statements)


def test_the_list_costs_the_same_for_two_events_or_twenty(app, world, api, event, people):
    me = api("participant")
    others = people(3)

    def add(n: int) -> None:
        for _ in range(n):
            full = event(capacity=1, join_url="https://meet.example.org/x")
            open_one = event()
            assert rsvp(others[0], full, True).status_code == 200
            assert rsvp(me, full, True).get_json()["my_answer"] == "waitlisted"
            assert rsvp(others[1], open_one, True).status_code == 200
            assert rsvp(me, open_one, True).get_json()["my_answer"] == "going"

    add(1)
    few = _list_queries(app, me)
    add(9)
    many = _list_queries(app, me)
    assert len(me.get("/events?limit=100").get_json()["items"]) == 20
    assert many == few, (few, many)


def _cap(app, world) -> None:
    """The world's participant has used this week's platform time."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.grace_minutes, cohort.platform_minutes_per_week = 1, 5
        db.session.add(PlatformDay(user_id=world["participant"],
                                   day=local_date(now_utc(), cohort.timezone), seconds=600,
                                   last_beat=0))
        db.session.commit()


def test_a_capped_participant_still_reads_and_answers_events(app, world, api, event):
    event_id = event()
    _cap(app, world)
    me = api("participant")
    problem(me.get("/goals"), 403, "platform_cap_reached")  # the cap holds elsewhere
    response = me.get("/events")
    assert response.status_code == 200
    assert [i["id"] for i in response.get_json()["items"]] == [event_id]
    assert rsvp(me, event_id, True).get_json()["my_answer"] == "going"
