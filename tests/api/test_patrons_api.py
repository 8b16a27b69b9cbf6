"""/api/v1/participants: for a patron, the people they look after as the patron home shows
them (dap.plans.patrons.overview): goals without the "only me" ones, the latest check-in day,
streak, activity and silence, pauses, this week's time; ended links, removed members and
other patrons' people left out; an empty list for anyone patron to nobody; a query count
that does not grow with the number of people."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from dap.accounts.models import User
from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.events.models import Event, EventKind, EventMode, Rsvp, RsvpStatus
from dap.extensions import db
from dap.plans import services
from dap.plans.models import Visibility
from dap.timecap.models import ActivityKind, PlatformDay, WebActivity
from tests import factories
from tests.conftest import counting_queries, post_form

#: a Wednesday
T0 = datetime(2027, 3, 17, 11, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_t0(frozen):
    """The clock stands at T0 before the world is made (its cohort runs around T0)."""
    frozen(T0)


def person(name: str, cohort_id: int, *, patron: int | None, joined_days_ago: int = 0,
           managed: bool = False) -> tuple[int, int]:
    """A new participant of the cohort, linked to ``patron`` when given: (user id,
    membership id). Inside an app context."""
    cohort = db.session.get(Cohort, cohort_id)
    user = factories.make_user(name=name)
    user.is_managed = managed
    membership = factories.add_member(cohort, user, CohortRole.PARTICIPANT)
    membership.joined_at = now_utc() - timedelta(days=joined_days_ago)
    if patron is not None:
        factories.link_patron(cohort, db.session.get(User, patron), user)
    db.session.flush()
    return user.id, membership.id


def goal(user_id: int, cohort_id: int, title: str, *, visibility=Visibility.PATRONS,
         done: bool = False, minutes: int | None = None) -> int:
    participant = db.session.get(User, user_id)
    plan = services.plan_for(db.session.get(Cohort, cohort_id), participant)
    made = services.write_goal(plan, actor=participant, title=title, visibility=visibility)
    if minutes is not None:
        services.check_in(made, actor=participant, progress=None, minutes=minutes, note="")
    if done:
        services.complete_goal(made, actor=participant, reflection="Did it.", evidence=[])
    return made.id


def items(api, role: str = "patron") -> list[dict]:
    response = api(role).get("/participants")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def test_a_patron_gets_their_participant_as_the_patron_home_shows_them(app, world, api,
                                                                       frozen, role_client):
    pid, cid = world["participant"], world["cohort"]
    frozen(T0 - timedelta(days=2))  # Monday: a check-in
    with app.app_context():
        goal(pid, cid, "Post on the intranet weekly", minutes=20)
        goal(pid, cid, "Start a team blog", visibility=Visibility.COHORT, done=True)
        goal(pid, cid, "Secret diary of doubts", visibility=Visibility.PRIVATE)
        goal(pid, cid, "Quietly finished thing", visibility=Visibility.PRIVATE, done=True)
        plan = services.plan_for(db.session.get(Cohort, cid), db.session.get(User, pid))
        plan.days_per_week = 1
        db.session.commit()
    frozen(T0)  # Wednesday: web time, the latest activity, and time on DAP
    with app.app_context():
        db.session.add(WebActivity(user_id=pid, cohort_id=cid, kind=ActivityKind.READ,
                                   title="An article", minutes=15,
                                   local_date=date(2027, 3, 17)))
        db.session.add(PlatformDay(user_id=pid, day=date(2027, 3, 17), seconds=7 * 60 + 5,
                                   last_beat=0))
        db.session.commit()

    assert items(api) == [{
        "participant_id": pid, "participant_name": "Alex Participant", "cohort_id": cid,
        "cohort_name": items(api)[0]["cohort_name"], "cohort_archived": False,
        "goals_active": 1, "goals_done": 1,  # never the "only me" goals
        "streak_weeks": 1, "last_check_in_day": "2027-03-15",
        "last_activity_at": "2027-03-17T11:00:00Z", "last_activity_channel": "web",
        "silent_days": None, "paused": False, "paused_until": None,
        "platform_minutes_this_week": 7, "web_minutes_this_week": 35,
        "url": f"http://localhost/cohorts/{cid}/people/"
               f"{world['participant_membership']}/plan"}]
    with app.app_context():
        assert items(api)[0]["cohort_name"] == db.session.get(Cohort, cid).name
    # the patron home says the same
    page = role_client("patron").get("/patron").get_data(as_text=True)
    assert "1 active · 1 done" in page
    assert "7 min on DAP · 35 min on the web" in page


def test_silence_and_pauses(app, world, api):
    with app.app_context():
        person("Quentin Quiet", world["cohort"], patron=world["patron"], joined_days_ago=15)
        paused_id, _ = person("Paula Paused", world["cohort"], patron=world["patron"],
                              joined_days_ago=15)
        paused = db.session.get(User, paused_id)
        plan = services.plan_for(db.session.get(Cohort, world["cohort"]), paused)
        services.pause_plan(plan, actor=paused, until=date(2027, 3, 27), reason="Annual leave")
        db.session.commit()
    found = {item["participant_name"]: item for item in items(api)}
    assert list(found) == ["Alex Participant", "Paula Paused", "Quentin Quiet"]  # by name
    quiet, paula = found["Quentin Quiet"], found["Paula Paused"]
    assert (quiet["silent_days"], quiet["paused"], quiet["last_activity_at"],
            quiet["last_check_in_day"], quiet["goals_active"]) == (15, False, None, None, 0)
    assert (paula["silent_days"], paula["paused"], paula["paused_until"]) == (
        None, True, "2027-03-27")
    assert "Annual leave" not in str(paula)  # the reason stays with the participant


def test_a_supported_digital_participant_has_no_platform_minutes(app, world, api):
    with app.app_context():
        person("Sid Supported", world["cohort"], patron=world["patron"], managed=True)
        db.session.commit()
    found = {item["participant_name"]: item for item in items(api)}
    assert found["Sid Supported"]["platform_minutes_this_week"] is None
    assert found["Alex Participant"]["platform_minutes_this_week"] == 0


def test_ended_links_removed_members_and_others_people_are_left_out(app, world, api,
                                                                   role_client):
    with app.app_context():
        other_patron = factories.make_user(name="Olive Otherpatron")
        factories.add_member(db.session.get(Cohort, world["cohort"]), other_patron,
                             CohortRole.PATRON)
        person("Theo Theirs", world["cohort"], patron=other_patron.id)
        _, removed = person("Rita Removed", world["cohort"], patron=world["patron"])
        db.session.get(Membership, removed).status = MembershipStatus.REMOVED
        db.session.commit()
    assert [item["participant_name"] for item in items(api)] == ["Alex Participant"]
    ended = post_form(role_client("facilitator"),
                      f"/cohorts/{world['cohort']}/patron-links/{world['patron_link']}/end")
    assert ended.status_code == 303
    assert items(api) == []


def test_people_across_cohorts_with_unicode_names(app, world, api):
    with app.app_context():
        org = db.session.get(Cohort, world["cohort"]).organisation
        cohort = factories.make_cohort(org, name="Équipe Café ☕", timezone="America/New_York")
        factories.add_member(cohort, db.session.get(User, world["patron"]), CohortRole.PATRON)
        zoe, _ = person("Zoë Ångström-Núñez 李雷 <b>", cohort.id, patron=world["patron"])
        db.session.commit()
        cohort_id = cohort.id
    assert [(i["participant_id"], i["participant_name"], i["cohort_id"], i["cohort_name"])
            for i in items(api)][1:] == [
        (zoe, "Zoë Ångström-Núñez 李雷 <b>", cohort_id, "Équipe Café ☕")]


@pytest.mark.parametrize("role", ["participant", "facilitator", "admin", "outsider"])
def test_someone_patron_to_nobody_gets_an_empty_list(world, api, role):
    response = api(role).get("/participants")
    assert response.status_code == 200
    assert response.get_json() == {"items": []}


def test_tokens(api):
    assert api("patron-read").get("/participants").status_code == 200
    response = api(None).get("/participants")
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_missing"
    assert api("patron").post("/participants", json={}).status_code == 405


def test_a_capped_participant_who_is_a_patron_elsewhere_is_sent_out_as_on_the_web(
        app, world, api):
    """/patron is not among the pages open while capped; the API keeps the same rule."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.grace_minutes, cohort.platform_minutes_per_week = 1, 5
        elsewhere = factories.make_cohort(cohort.organisation)
        factories.add_member(elsewhere, db.session.get(User, world["participant"]),
                             CohortRole.PATRON)
        person("Pia Protegee", elsewhere.id, patron=world["participant"])
        db.session.add(PlatformDay(user_id=world["participant"],
                                   day=local_date(now_utc(), cohort.timezone), seconds=600,
                                   last_beat=0))
        db.session.commit()
    response = api("participant").get("/participants")
    assert response.status_code == 403
    assert response.get_json()["code"] == "platform_cap_reached"


def _more_people(app, world, count: int) -> None:
    """``count`` more participants for the world's patron, half in a second cohort, each with
    goals (one kept to themselves), a check-in, web and platform time and an event."""
    with app.app_context():
        second = db.session.scalar(db.select(Cohort).where(Cohort.name == "Second cohort"))
        if second is None:
            org = db.session.get(Cohort, world["cohort"]).organisation
            second = factories.make_cohort(org, name="Second cohort",
                                           timezone="America/New_York")
            factories.add_member(second, db.session.get(User, world["patron"]),
                                 CohortRole.PATRON)
        for n in range(count):
            cohort_id = world["cohort"] if n % 2 else second.id
            pid, _ = person(f"Person {uuid.uuid4().hex[:6]}", cohort_id,
                            patron=world["patron"], joined_days_ago=n)
            goal(pid, cohort_id, "Shared goal", minutes=10)
            goal(pid, cohort_id, "Kept to myself", visibility=Visibility.PRIVATE, done=True)
            db.session.add(WebActivity(user_id=pid, cohort_id=cohort_id,
                                       kind=ActivityKind.READ, title="An article", minutes=15,
                                       local_date=local_date(now_utc(), "Europe/London")))
            db.session.add(PlatformDay(user_id=pid, day=local_date(now_utc(), "Europe/London"),
                                       seconds=300, last_beat=0))
            starts = now_utc() + timedelta(days=2 + n)
            event = Event(cohort_id=cohort_id, kind=EventKind.WORKSHOP, title="Workshop",
                          starts_at=starts, ends_at=starts + timedelta(hours=2),
                          mode=EventMode.ONLINE, uid=f"{uuid.uuid4().hex}@dap")
            db.session.add(event)
            db.session.flush()
            db.session.add(Rsvp(event_id=event.id, user_id=pid, status=RsvpStatus.GOING))
        db.session.commit()


def test_the_number_of_queries_does_not_grow_with_the_number_of_people(app, world, api):
    patron = api("patron")
    counts = {}
    for total in (2, 12):
        _more_people(app, world, total - len(items(api)))  # also notes the token's use
        with counting_queries(app) as statements:
            response = patron.get("/participants")
        found = response.get_json()["items"]
        assert len(found) == total
        assert all(item["goals_done"] == 0 for item in found)  # "Kept to myself"
        assert sum(item["last_check_in_day"] is not None for item in found) == total - 1
        counts[total] = len(statements)
    assert counts[2] == counts[12], counts
