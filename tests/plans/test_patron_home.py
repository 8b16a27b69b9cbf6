"""The patron home (/patron) through HTTP: the people someone is patron to, across cohorts,
with goals they may see, activity and silence, streak, this week's time and what is coming
up; the box on a participant's plan; and a query count that does not grow with the number
of people."""

from __future__ import annotations

import html
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from dap.accounts.models import User
from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus, PatronLink
from dap.events.models import Event, EventKind, EventMode, Rsvp, RsvpStatus
from dap.extensions import db
from dap.plans import services
from dap.plans.models import Visibility
from dap.support.models import SlotMode, SupportBooking, SupportSlot
from dap.timecap.models import ActivityKind, PlatformDay, WebActivity
from tests import factories
from tests.conftest import counting_queries, post_form

EMPTY = "You are not patron to anyone yet."
BOX = "This week and coming up"


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _main(page: str) -> str:
    """The page's main content (the header names the signed-in person)."""
    return page.split('<main', 1)[1].split('</main>', 1)[0]


def _plan_url(world, membership_id: int | None = None) -> str:
    return (f"/cohorts/{world['cohort']}/people/"
            f"{membership_id or world['participant_membership']}/plan")


def _person(name: str, cohort_id: int, *, patron: int | None, joined_days_ago: int = 0
            ) -> tuple[int, int]:
    """A new participant of the cohort (linked to ``patron`` when given): (user id,
    membership id). Call inside an app context."""
    cohort = db.session.get(Cohort, cohort_id)
    user = factories.make_user(name=name)
    membership = factories.add_member(cohort, user, CohortRole.PARTICIPANT)
    membership.joined_at = now_utc() - timedelta(days=joined_days_ago)
    if patron is not None:
        factories.link_patron(cohort, db.session.get(User, patron), user)
    db.session.flush()
    return user.id, membership.id


def _goal(user_id: int, cohort_id: int, title: str, *, visibility=Visibility.PATRONS,
          done: bool = False, minutes: int | None = None) -> int:
    """A goal written into the person's plan (done, or checked in on with ``minutes``)."""
    person = db.session.get(User, user_id)
    plan = services.plan_for(db.session.get(Cohort, cohort_id), person)
    goal = services.write_goal(plan, actor=person, title=title, visibility=visibility)
    if done:
        services.complete_goal(goal, actor=person, reflection="Did it.", evidence=[])
    if minutes is not None:
        services.check_in(goal, actor=person, progress=None, minutes=minutes, note="")
    return goal.id


def _going(user_id: int, cohort_id: int, title: str, starts_in: timedelta, *,
           status: RsvpStatus = RsvpStatus.GOING) -> None:
    starts = now_utc() + starts_in
    event = Event(cohort_id=cohort_id, kind=EventKind.WORKSHOP, title=title, starts_at=starts,
                  ends_at=starts + timedelta(hours=2), mode=EventMode.IN_PERSON,
                  uid=f"{uuid.uuid4().hex}@dap")
    db.session.add(event)
    db.session.flush()
    db.session.add(Rsvp(event_id=event.id, user_id=user_id, status=status))


def _booked(user_id: int, cohort_id: int, facilitator_id: int, starts_in: timedelta,
            note: str = "") -> SupportSlot:
    starts = (now_utc() + starts_in).replace(second=0, microsecond=0)
    slot = SupportSlot(cohort_id=cohort_id, facilitator_id=facilitator_id, starts_at=starts,
                       ends_at=starts + timedelta(minutes=30), mode=SlotMode.PHONE,
                       uid=f"{uuid.uuid4().hex}@dap-support")
    db.session.add(slot)
    db.session.flush()
    db.session.add(SupportBooking(slot_id=slot.id, participant_id=user_id, note=note))
    return slot


def test_a_patron_sees_their_participant_without_only_me_goals(app, world, role_client):
    with app.app_context():
        pid, cid = world["participant"], world["cohort"]
        _goal(pid, cid, "Post on the intranet weekly", minutes=20)
        _goal(pid, cid, "Start a team blog", visibility=Visibility.COHORT, done=True)
        _goal(pid, cid, "Secret diary of doubts", visibility=Visibility.PRIVATE)
        _goal(pid, cid, "Quietly finished thing", visibility=Visibility.PRIVATE, done=True)
        plan = services.plan_for(db.session.get(Cohort, cid), db.session.get(User, pid))
        plan.days_per_week = 1
        db.session.add(PlatformDay(user_id=pid, day=local_date(now_utc(), "Europe/London"),
                                   seconds=15 * 60 + 20, last_beat=0))
        db.session.commit()
    patron = role_client("patron")
    page = _text(patron.get("/patron"))
    assert "Alex Participant" in page
    assert f'href="{_plan_url(world)}"' in page
    assert "1 active · 1 done" in page  # the "only me" goals are not counted
    assert "Secret diary" not in page
    assert "Quietly finished" not in page
    assert "1 week" in page  # the streak: this week's target (one day) is met
    assert "· check-in" in page
    assert "15 min on DAP · 20 min on the web" in page
    assert "silent for" not in page
    assert EMPTY not in page
    # the detail page: the same rules, and the box
    detail = _text(patron.get(_plan_url(world)))
    assert "Post on the intranet weekly" in detail
    assert "Secret diary" not in detail
    assert BOX in detail
    assert "15 min on DAP · 20 min on the web" in detail


def test_a_silent_participant_has_a_badge_and_a_paused_one_does_not(app, world, role_client):
    with app.app_context():
        _person("Quentin Quiet", world["cohort"], patron=world["patron"], joined_days_ago=15)
        paused_id, _ = _person("Paula Paused", world["cohort"], patron=world["patron"],
                               joined_days_ago=15)
        person = db.session.get(User, paused_id)
        plan = services.plan_for(db.session.get(Cohort, world["cohort"]), person)
        services.pause_plan(plan, actor=person, until=local_date(now_utc(), "Europe/London")
                            + timedelta(days=10), reason="Annual leave")
        db.session.commit()
    page = _text(role_client("patron").get("/patron"))
    assert page.count("silent for") == 1
    assert "silent for 15 days" in page
    quentin = page[page.index("Quentin Quiet"):]
    assert "none yet" in quentin[:quentin.index("</li>")]
    paula = page[page.index("Paula Paused"):]
    paula = paula[:paula.index("</li>")]
    assert "paused until" in paula
    assert "silent" not in paula
    assert "Annual leave" not in page


def test_ended_links_removed_members_and_others_participants_are_not_shown(app, world,
                                                                           role_client):
    with app.app_context():
        other_patron = factories.make_user(name="Olive Otherpatron")
        factories.add_member(db.session.get(Cohort, world["cohort"]), other_patron,
                             CohortRole.PATRON)
        _person("Theo Theirs", world["cohort"], patron=other_patron.id)
        _, removed = _person("Rita Removed", world["cohort"], patron=world["patron"])
        db.session.get(Membership, removed).status = MembershipStatus.REMOVED
        db.session.commit()
    patron = role_client("patron")
    page = _text(patron.get("/patron"))
    assert "Alex Participant" in page
    assert "Theo Theirs" not in page
    assert "Rita Removed" not in page
    ended = post_form(role_client("facilitator"),
                      f"/cohorts/{world['cohort']}/patron-links/{world['patron_link']}/end")
    assert ended.status_code == 303
    page = _text(patron.get("/patron"))
    assert "Alex Participant" not in page
    assert EMPTY in page
    assert patron.get(_plan_url(world)).status_code == 404


@pytest.mark.parametrize("role", ["participant", "facilitator", "admin"])
def test_someone_patron_to_nobody_sees_the_empty_page(world, role_client, role):
    page = _text(role_client(role).get("/patron"))
    assert EMPTY in page
    assert "Alex Participant" not in _main(page)
    assert 'href="/patron"' not in page  # no menu link: they are not a patron anywhere


def test_the_page_is_linked_from_the_menu_and_the_dashboard(world, role_client):
    patron = role_client("patron")
    assert 'aria-current="page">Patron home</a>' in _text(patron.get("/patron"))
    dashboard = _text(patron.get("/"))
    assert dashboard.count('href="/patron"') == 2  # the menu and "People you are patron to"


def test_unicode_names_and_cohorts_show_as_written(app, world, role_client):
    with app.app_context():
        org = db.session.get(Cohort, world["cohort"]).organisation
        cohort = factories.make_cohort(org, name="Équipe Café ☕")
        patron = db.session.get(User, world["patron"])
        factories.add_member(cohort, patron, CohortRole.PATRON)
        _person("Zoë Ångström-Núñez 李雷 <b>", cohort.id, patron=patron.id)
        db.session.commit()
    page = _text(role_client("patron").get("/patron"))
    assert html.escape("Zoë Ångström-Núñez 李雷 <b>") in page
    assert "<b>" not in _main(page)
    assert "Équipe Café ☕" in page
    # by name, whatever the cohort: Alex before Zoë
    assert page.index("Alex Participant") < page.index("Zoë")


def test_next_event_and_1to1_show_the_day_never_the_note(app, world, role_client):
    with app.app_context():
        pid, cid = world["participant"], world["cohort"]
        _going(pid, cid, "Declined briefing", timedelta(days=1), status=RsvpStatus.DECLINED)
        _going(pid, cid, "Writing for screens", timedelta(days=3))
        _going(pid, cid, "Later workshop", timedelta(days=9))
        slot = _booked(pid, cid, world["facilitator"], timedelta(days=5, hours=3),
                       note="Worried about my manager")
        db.session.commit()
        day = local_date(slot.starts_at, "Europe/London")
        clock = slot.starts_at.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M")
    patron = role_client("patron")
    for page in (_text(patron.get("/patron")), _text(patron.get(_plan_url(world)))):
        assert "Writing for screens" in page
        assert "Declined briefing" not in page
        assert "Later workshop" not in page
        assert day.strftime("%a %-d %b") in page
        assert f'datetime="{day.isoformat()}"' in page
        assert "Worried about my manager" not in page
        assert clock not in page  # the day of the 1:1, not its time


def test_a_cancelled_1to1_is_not_shown(app, world, role_client):
    with app.app_context():
        slot = _booked(world["participant"], world["cohort"], world["facilitator"],
                       timedelta(days=2))
        db.session.flush()
        booking = db.session.scalar(db.select(SupportBooking).where(
            SupportBooking.slot_id == slot.id))
        booking.status = booking.status.CANCELLED
        db.session.commit()
    assert "none booked" in _text(role_client("patron").get("/patron"))


def test_the_box_is_on_someone_elses_plan_only(world, role_client):
    own = _text(role_client("participant").get(f"/cohorts/{world['cohort']}/plan"))
    assert BOX not in own
    assert BOX in _text(role_client("facilitator").get(_plan_url(world)))


def _patron_of_many(app, world, count: int) -> None:
    """``count`` more participants for the world's patron, half in a second cohort, each
    with goals, a check-in, web time, platform time, an event and a 1:1."""
    with app.app_context():
        second = db.session.scalar(db.select(Cohort).where(Cohort.name == "Second cohort"))
        if second is None:
            org = db.session.get(Cohort, world["cohort"]).organisation
            second = factories.make_cohort(org, name="Second cohort", timezone="America/New_York")
            factories.add_member(second, db.session.get(User, world["patron"]), CohortRole.PATRON)
        for n in range(count):
            cohort_id = world["cohort"] if n % 2 else second.id
            pid, _ = _person(f"Person {uuid.uuid4().hex[:6]}", cohort_id,
                             patron=world["patron"], joined_days_ago=n)
            _goal(pid, cohort_id, "Shared goal", minutes=10)
            _goal(pid, cohort_id, "Kept to myself", visibility=Visibility.PRIVATE, done=True)
            db.session.add(WebActivity(user_id=pid, cohort_id=cohort_id, kind=ActivityKind.READ,
                                       title="An article", minutes=15,
                                       local_date=local_date(now_utc(), "Europe/London")))
            db.session.add(PlatformDay(user_id=pid, day=local_date(now_utc(), "Europe/London"),
                                       seconds=300, last_beat=0))
            _going(pid, cohort_id, "Workshop", timedelta(days=2 + n))
            _booked(pid, cohort_id, world["facilitator"], timedelta(days=3, minutes=40 * n))
        db.session.commit()


def test_the_number_of_queries_does_not_grow_with_the_number_of_people(app, world,
                                                                        role_client):
    patron = role_client("patron")
    counts = {}
    for total in (2, 12):
        with app.app_context():
            have = db.session.scalar(db.select(db.func.count(PatronLink.id)).where(
                PatronLink.patron_id == world["patron"]))
        _patron_of_many(app, world, total - have)
        patron.get("/patron")  # warm: anything a first request loads once
        with counting_queries(app) as statements:
            page = _text(patron.get("/patron"))
        assert page.count('class="card"') == total
        assert page.count("Kept to myself") == 0
        counts[total] = len(statements)
    assert counts[2] == counts[12], counts
