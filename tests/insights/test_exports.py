"""The facilitators' CSV exports (dap.insights.exports, /cohorts/<id>/exports/<name>.csv):
what each holds for a small hand-made cohort, the team and date filters, bad filters, who
may download them, what is never in them, and that they stream: 100,000 check-ins go out
with memory far below the size of the file."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, insert, text

from dap.accounts.models import User
from dap.accounts.privacy import delete_account
from dap.cohorts.models import Cohort, CohortRole, MembershipStatus, Team
from dap.events.models import (
    Attendance,
    AttendanceMark,
    Event,
    EventKind,
    EventMode,
    EventStatus,
    Rsvp,
    RsvpStatus,
)
from dap.extensions import db
from dap.plans.models import CheckIn, Plan, PlanGoal
from dap.support.models import (
    BookingStatus,
    SessionNotes,
    SlotMode,
    SupportBooking,
    SupportSlot,
)
from dap.timecap.models import ActivityKind, WebActivity
from tests import factories
from tests.conftest import FAST_HASH, counting_queries

NOW = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)
#: written where a participant booked a session and in the facilitator's private notes:
#: neither may appear in any export
SECRET_BOOKING_NOTE = "SECRET-BOOKING-NOTE-7f3a"
SECRET_SESSION_NOTE = "SECRET-SESSION-NOTE-91c2"
EXPORT_NAMES = ("checkins", "web-activities", "attendance", "support-bookings")


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment in June 2026, in UTC (Europe/London is UTC+1 then)."""
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


def _event(cohort_id: int, title: str, starts_at: datetime, *, kind=EventKind.WORKSHOP,
           mode=EventMode.IN_PERSON, status=EventStatus.SCHEDULED) -> Event:
    event = Event(cohort_id=cohort_id, kind=kind, title=title, starts_at=starts_at,
                  ends_at=starts_at + timedelta(hours=2), mode=mode, status=status,
                  uid=f"event-{title}-{starts_at.timestamp()}@test")
    db.session.add(event)
    db.session.flush()
    return event


def _slot(cohort_id: int, facilitator_id: int, starts_at: datetime, mode: SlotMode) -> SupportSlot:
    slot = SupportSlot(cohort_id=cohort_id, facilitator_id=facilitator_id, starts_at=starts_at,
                       ends_at=starts_at + timedelta(minutes=30), mode=mode,
                       uid=f"slot-{starts_at.timestamp()}@test")
    db.session.add(slot)
    db.session.flush()
    return slot


def _plan(cohort_id: int, user_id: int, goal_title: str) -> tuple[Plan, PlanGoal]:
    plan = Plan(cohort_id=cohort_id, participant_id=user_id)
    db.session.add(plan)
    db.session.flush()
    goal = PlanGoal(plan_id=plan.id, title=goal_title)
    db.session.add(goal)
    db.session.flush()
    return plan, goal


def _check_in(plan: Plan, goal: PlanGoal, day: date, created_at: datetime, *, by: int,
              progress: int | None = None, minutes: int | None = None, note: str = "") -> None:
    db.session.add(CheckIn(plan_id=plan.id, goal_id=goal.id, local_date=day,
                           created_at=created_at, progress=progress, minutes=minutes,
                           note=note, created_by_id=by))
    db.session.flush()


@pytest.fixture
def story(app, world, frozen):
    """The world's cohort (Europe/London) in June 2026, seen on the 20th at noon:

    - Alex Participant (Customer Services), Bea Policy (Policy), Rory Removed (Customer
      Services, removed from the cohort since) and Dee Deleted (Policy, who deleted her
      account since);
    - check-ins, web activities, events with answers and marks, 1:1 bookings (see below);
    - another cohort with a check-in, an event and a booking of its own.
    """
    frozen(NOW)
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        facilitator = world["facilitator"]
        alex = world["participant"]
        db.session.get(User, alex).email = "alex@example.org"
        customer_services = world["team"]
        policy_team = factories.make_team(cohort.organisation, "Policy")
        bea = factories.make_user(name="Bea Policy", email="bea@example.org")
        rory = factories.make_user(name="Rory Removed", email="rory@example.org")
        dee = factories.make_user(name="Dee Deleted", email="dee@example.org")
        factories.add_member(cohort, bea, CohortRole.PARTICIPANT, policy_team)
        removed = factories.add_member(cohort, rory, CohortRole.PARTICIPANT,
                                       db.session.get(Team, customer_services))
        removed.status, removed.removed_at = MembershipStatus.REMOVED, at(15)
        factories.add_member(cohort, dee, CohortRole.PARTICIPANT, policy_team)

        alex_plan, video = _plan(cohort.id, alex, "Video skills")
        bea_plan, formula = _plan(cohort.id, bea.id, "=SUM(A1)")
        rory_plan, rory_goal = _plan(cohort.id, rory.id, "Podcasts")
        dee_plan, dee_goal = _plan(cohort.id, dee.id, "My own goal")
        # inserted out of date order: the export goes by day, then id
        _check_in(alex_plan, video, date(2026, 6, 1), at(1, 8, 30), by=alex, progress=20,
                  minutes=15, note="First go")
        _check_in(bea_plan, formula, date(2026, 6, 2), at(2, 16), by=facilitator,
                  minutes=30, note="=SUM(A1)")
        _check_in(alex_plan, video, date(2026, 6, 1), at(1, 22, 45), by=alex, progress=35,
                  note="Zoë tried again, “twice”")
        _check_in(rory_plan, rory_goal, date(2026, 6, 5), at(5), by=rory.id, progress=10,
                  note="Before I left")
        _check_in(dee_plan, dee_goal, date(2026, 6, 6), at(6), by=dee.id, progress=50, minutes=20,
                  note="Dee's own words")

        db.session.add_all([
            WebActivity(user_id=alex, cohort_id=cohort.id, kind=ActivityKind.TRIED,
                        title="Canva", url="https://www.canva.com/", minutes=25,
                        goal_id=video.id, note="Made a poster", local_date=date(2026, 6, 3),
                        created_by_id=alex),
            WebActivity(user_id=bea.id, cohort_id=cohort.id, kind=ActivityKind.READ,
                        title="@risk", minutes=10, local_date=date(2026, 6, 4),
                        created_by_id=facilitator),
        ])

        workshop = _event(cohort.id, "Kick-off workshop", at(10))
        webinar = _event(cohort.id, "Evening webinar", at(14, 23, 30), kind=EventKind.WEBINAR,
                         mode=EventMode.ONLINE)  # 00:30 on the 15th in London
        future = _event(cohort.id, "Next month", datetime(2026, 7, 1, 9, tzinfo=UTC))
        cancelled = _event(cohort.id, "Called off", at(12), status=EventStatus.CANCELLED)
        db.session.add_all([
            Rsvp(event_id=workshop.id, user_id=alex, status=RsvpStatus.GOING),
            Rsvp(event_id=workshop.id, user_id=bea.id, status=RsvpStatus.DECLINED),
            Attendance(event_id=workshop.id, user_id=alex, mark=AttendanceMark.ATTENDED),
            Attendance(event_id=workshop.id, user_id=rory.id, mark=AttendanceMark.WALK_IN),
            Rsvp(event_id=webinar.id, user_id=bea.id, status=RsvpStatus.GOING),
            Attendance(event_id=webinar.id, user_id=bea.id, mark=AttendanceMark.NO_SHOW),
            Rsvp(event_id=future.id, user_id=alex, status=RsvpStatus.GOING),
            Rsvp(event_id=cancelled.id, user_id=alex, status=RsvpStatus.GOING),
        ])

        video_call = _slot(cohort.id, facilitator, at(12, 13), SlotMode.VIDEO)
        phone_call = _slot(cohort.id, facilitator, at(18, 8), SlotMode.PHONE)
        kept = SupportBooking(slot_id=video_call.id, participant_id=alex,
                              note=SECRET_BOOKING_NOTE, created_at=at(8, 10))
        dropped = SupportBooking(slot_id=phone_call.id, participant_id=bea.id,
                                 status=BookingStatus.CANCELLED, created_at=at(9, 11),
                                 cancelled_at=at(11, 7, 5), note="Help with " + SECRET_BOOKING_NOTE)
        db.session.add_all([kept, dropped])
        db.session.flush()
        db.session.add(SessionNotes(booking_id=kept.id, body=SECRET_SESSION_NOTE))

        other = factories.make_cohort(cohort.organisation, name="Other cohort")
        factories.add_member(other, db.session.get(User, facilitator), CohortRole.FACILITATOR)
        other_plan, other_goal = _plan(other.id, alex, "Elsewhere")
        _check_in(other_plan, other_goal, date(2026, 6, 3), at(3), by=alex, note="Elsewhere")
        db.session.add(WebActivity(user_id=alex, cohort_id=other.id, kind=ActivityKind.READ,
                                   title="Elsewhere", minutes=5, local_date=date(2026, 6, 3)))
        elsewhere = _event(other.id, "Elsewhere event", at(11))
        db.session.add(Rsvp(event_id=elsewhere.id, user_id=alex, status=RsvpStatus.GOING))
        other_slot = _slot(other.id, facilitator, at(13), SlotMode.PHONE)
        db.session.add(SupportBooking(slot_id=other_slot.id, participant_id=alex))
        db.session.flush()

        delete_account(dee, actor=dee, password=factories.PASSWORD, params=FAST_HASH)
        db.session.commit()
        other_org_team = factories.make_team(factories.make_organisation(), "Policy").id
        db.session.commit()
        return {**world, "bea": bea.id, "policy": policy_team.id, "other": other.id,
                "other_org_team": other_org_team}


def path(story, name: str, query: str = "") -> str:
    return f"/cohorts/{story['cohort']}/exports/{name}.csv{query}"


def read(response) -> list[list[str]]:
    """The rows of a CSV download, after checking its byte-order mark."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())  # a byte-order mark for spreadsheet programs
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


@pytest.fixture
def facilitator(story, role_client):
    return role_client("facilitator")


# --- what each export holds ----------------------------------------------------------------


def test_check_ins_by_day_then_id_with_who_recorded_them(story, facilitator):
    rows = read(facilitator.get(path(story, "checkins")))
    assert rows == [
        ["participant", "email", "team", "membership", "goal", "date", "recorded_at",
         "progress", "minutes", "note", "recorded_by"],
        ["Alex Participant", "alex@example.org", "Customer Services", "active", "Video skills",
         "2026-06-01", "2026-06-01T08:30:00+00:00", "20", "15", "First go", ""],
        ["Alex Participant", "alex@example.org", "Customer Services", "active", "Video skills",
         "2026-06-01", "2026-06-01T22:45:00+00:00", "35", "", "Zoë tried again, “twice”", ""],
        # recorded by the facilitator on Bea's behalf; her formula is text in a spreadsheet
        ["Bea Policy", "bea@example.org", "Policy", "active", "'=SUM(A1)", "2026-06-02",
         "2026-06-02T16:00:00+00:00", "", "30", "'=SUM(A1)", "Sam Facilitator"],
        # removed from the cohort since: the record of the time they took part stays
        ["Rory Removed", "rory@example.org", "Customer Services", "removed", "Podcasts",
         "2026-06-05", "2026-06-05T09:00:00+00:00", "10", "", "Before I left", ""],
        # deleted her account: as the privacy code left it (name, email, words erased)
        ["Deleted user", "", "Policy", "removed", "Goal", "2026-06-06",
         "2026-06-06T09:00:00+00:00", "50", "20", "", ""],
    ]


def test_web_activities(story, facilitator):
    rows = read(facilitator.get(path(story, "web-activities")))
    assert rows == [
        ["participant", "email", "team", "membership", "date", "kind", "title", "url",
         "minutes", "goal", "note", "logged_by"],
        ["Alex Participant", "alex@example.org", "Customer Services", "active", "2026-06-03",
         "Tried a tool", "Canva", "https://www.canva.com/", "25", "Video skills",
         "Made a poster", ""],
        ["Bea Policy", "bea@example.org", "Policy", "active", "2026-06-04", "Read something",
         "'@risk", "", "10", "", "", "Sam Facilitator"],
    ]


def test_attendance_of_the_events_that_took_place(story, facilitator):
    rows = read(facilitator.get(path(story, "attendance")))
    workshop = ["Kick-off workshop", "Workshop", "In person", "2026-06-10T10:00:00+01:00"]
    assert rows == [
        ["event", "kind", "mode", "starts_at", "participant", "team", "membership", "rsvp",
         "attendance"],
        # 09:00 UTC is 10:00 in London in June; people in the order they were added
        [*workshop, "Alex Participant", "Customer Services", "active", "going", "Attended"],
        [*workshop, "Bea Policy", "Policy", "active", "declined", ""],
        [*workshop, "Rory Removed", "Customer Services", "removed", "", "Walk-in"],
        ["Evening webinar", "Webinar", "Online", "2026-06-15T00:30:00+01:00", "Bea Policy",
         "Policy", "active", "going", "No-show"],
    ]  # not the event next month, nor the one called off, nor the other cohort's


def test_bookings_without_any_note(story, facilitator):
    rows = read(facilitator.get(path(story, "support-bookings")))
    assert rows == [
        ["starts_at", "ends_at", "mode", "facilitator", "participant", "team", "membership",
         "status", "booked_at", "cancelled_at"],
        ["2026-06-12T14:00:00+01:00", "2026-06-12T14:30:00+01:00", "Video call",
         "Sam Facilitator", "Alex Participant", "Customer Services", "active", "booked",
         "2026-06-08T10:00:00+00:00", ""],
        ["2026-06-18T09:00:00+01:00", "2026-06-18T09:30:00+01:00", "Phone", "Sam Facilitator",
         "Bea Policy", "Policy", "active", "cancelled", "2026-06-09T11:00:00+00:00",
         "2026-06-11T07:05:00+00:00"],
    ]


def test_no_export_holds_the_private_notes_or_the_booking_notes(story, facilitator):
    bodies = [facilitator.get(path(story, name)).get_data(as_text=True) for name in EXPORT_NAMES]
    bodies.append(facilitator.get(f"/cohorts/{story['cohort']}/baseline/report.csv")
                  .get_data(as_text=True))
    assert "Video call" in bodies[3]  # the session with both notes is there…
    for body in bodies:
        assert SECRET_SESSION_NOTE not in body  # …without the facilitator's private notes
        assert SECRET_BOOKING_NOTE not in body  # …or what the participant asked help with


# --- the download itself ---------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_each_export_streams_a_utf8_csv_attachment(story, facilitator, name):
    response = facilitator.get(path(story, name))
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="dap-cohort-{story["cohort"]}-{name}-2026-06-20.csv"')
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_data().startswith(b"\xef\xbb\xbf")


def test_the_baseline_answers_are_streamed_too(story, facilitator):
    response = facilitator.get(f"/cohorts/{story['cohort']}/baseline/report.csv")
    assert response.is_streamed
    assert read(response)[0][:3] == ["name", "email", "team"]


# --- filters ---------------------------------------------------------------------------------


def test_one_teams_records(story, facilitator):
    team = f"?team={story['policy']}"
    checkins = read(facilitator.get(path(story, "checkins", team)))
    assert [(r[0], r[5]) for r in checkins[1:]] == [("Bea Policy", "2026-06-02"),
                                                   ("Deleted user", "2026-06-06")]
    web = read(facilitator.get(path(story, "web-activities", team)))
    assert [r[0] for r in web[1:]] == ["Bea Policy"]
    attendance = read(facilitator.get(path(story, "attendance", team)))
    assert [(r[0], r[4]) for r in attendance[1:]] == [("Kick-off workshop", "Bea Policy"),
                                                     ("Evening webinar", "Bea Policy")]
    bookings = read(facilitator.get(path(story, "support-bookings", team)))
    assert [r[4] for r in bookings[1:]] == ["Bea Policy"]


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_a_team_of_another_organisation_matches_nobody(story, facilitator, name):
    rows = read(facilitator.get(path(story, name, f"?team={story['other_org_team']}")))
    assert len(rows) == 1  # the header alone


def test_days_are_the_cohorts_local_days_both_ends_included(story, facilitator):
    checkins = read(facilitator.get(path(story, "checkins", "?from=2026-06-01&to=2026-06-01")))
    assert [r[6] for r in checkins[1:]] == ["2026-06-01T08:30:00+00:00",
                                           "2026-06-01T22:45:00+00:00"]
    web = read(facilitator.get(path(story, "web-activities", "?from=2026-06-04")))
    assert [r[6] for r in web[1:]] == ["'@risk"]
    # the webinar starts at 23:30 UTC on the 14th: the 15th in London
    on_15th = read(facilitator.get(path(story, "attendance", "?from=2026-06-15&to=2026-06-15")))
    assert [r[0] for r in on_15th[1:]] == ["Evening webinar"]
    to_14th = read(facilitator.get(path(story, "attendance", "?to=2026-06-14")))
    assert [r[0] for r in to_14th[1:]] == ["Kick-off workshop"] * 3
    bookings = read(facilitator.get(path(story, "support-bookings", "?from=2026-06-13")))
    assert [r[4] for r in bookings[1:]] == ["Bea Policy"]
    both = read(facilitator.get(path(story, "checkins",
                                     f"?team={story['policy']}&from=2026-06-03&to=2026-06-30")))
    assert [r[0] for r in both[1:]] == ["Deleted user"]


def test_empty_filters_are_no_filters(story, facilitator):
    rows = read(facilitator.get(path(story, "checkins", "?team=&from=&to=")))
    assert len(rows) == 6


@pytest.mark.parametrize(("query", "message"), [
    ("?team=abc", "The team must be one of the teams offered."),
    ("?team=-3", "The team must be one of the teams offered."),
    ("?team=0", "The team must be one of the teams offered."),
    ("?team=99999999999999999999", "The team must be one of the teams offered."),
    ("?team=%D9%A3", "The team must be one of the teams offered."),  # Arabic-Indic 3
    ("?from=yesterday", "The “from” date must be a date written YYYY-MM-DD."),
    ("?from=20260601", "The “from” date must be a date written YYYY-MM-DD."),
    ("?to=2026-02-30", "The “to” date must be a date written YYYY-MM-DD."),
    ("?to=2026-06-01T00:00", "The “to” date must be a date written YYYY-MM-DD."),
    ("?from=" + "9" * 5000, "The “from” date must be a date written YYYY-MM-DD."),
    ("?from=0001-01-01", "The “from” date must be between 1900-01-01 and 2999-12-31."),
    ("?to=9999-12-31", "The “to” date must be between 1900-01-01 and 2999-12-31."),
    ("?from=2026-06-10&to=2026-06-01", "The “from” date is after the “to” date."),
])
def test_bad_filters_are_refused_with_the_reason(story, facilitator, query, message):
    response = facilitator.get(path(story, "attendance", query))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


# --- who may ---------------------------------------------------------------------------------


def test_an_unknown_export_is_not_found(story, facilitator):
    assert facilitator.get(path(story, "notes")).status_code == 404
    assert facilitator.get(f"/cohorts/{story['cohort']}/exports/checkins.json").status_code == 404


@pytest.mark.parametrize("role", ["participant", "patron", "outsider"])
def test_members_who_do_not_manage_the_cohort_get_404(app, story, role_client, login_as, role):
    if role == "outsider":
        with app.app_context():
            client = login_as(db.session.get(User, story["outsider"]))
    else:
        client = role_client(role)
    for name in EXPORT_NAMES:
        assert client.get(path(story, name)).status_code == 404
    assert client.get(f"/cohorts/{story['cohort']}/exports").status_code == 404


def test_another_cohorts_manager_gets_404(app, story, login_as):
    with app.app_context():
        stranger = factories.make_user(name="Fran Elsewhere", is_facilitator=True)
        other = factories.make_cohort()
        factories.add_member(other, stranger, CohortRole.FACILITATOR)
        db.session.commit()
        other_id = other.id
        client = login_as(stranger)
    assert client.get(path(story, "checkins")).status_code == 404
    assert client.get(f"/cohorts/{other_id}/exports/checkins.csv").status_code == 200


def test_each_export_reads_only_its_own_cohort(story, facilitator):
    rows = read(facilitator.get(f"/cohorts/{story['other']}/exports/checkins.csv"))
    assert [(r[0], r[4]) for r in rows[1:]] == [("Alex Participant", "Elsewhere")]
    rows = read(facilitator.get(f"/cohorts/{story['other']}/exports/web-activities.csv"))
    assert [r[6] for r in rows[1:]] == ["Elsewhere"]
    rows = read(facilitator.get(f"/cohorts/{story['other']}/exports/attendance.csv"))
    assert [(r[0], r[4]) for r in rows[1:]] == [("Elsewhere event", "Alex Participant")]
    rows = read(facilitator.get(f"/cohorts/{story['other']}/exports/support-bookings.csv"))
    assert [(r[0], r[4]) for r in rows[1:]] == [("2026-06-13T10:00:00+01:00",
                                                "Alex Participant")]


def test_an_admin_may_download(story, role_client):
    assert len(read(role_client("admin").get(path(story, "checkins")))) == 6


# --- the page --------------------------------------------------------------------------------


def test_the_page_lists_every_export_with_the_filters(app, story, facilitator):
    response = facilitator.get(f"/cohorts/{story['cohort']}/exports")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name in EXPORT_NAMES:
        assert f'formaction="/cohorts/{story["cohort"]}/exports/{name}.csv"' in html
    assert f'formaction="/cohorts/{story["cohort"]}/baseline/report.csv"' in html
    # every team with members in the cohort, not the other organisation's "Policy"
    assert f'<option value="{story["team"]}">Customer Services</option>' in html
    assert f'<option value="{story["policy"]}">Policy</option>' in html
    assert f'value="{story["other_org_team"]}"' not in html
    assert '<input type="date" name="from" id="from">' in html
    assert '<input type="date" name="to" id="to">' in html
    roster = 'Download<span class="visually-hidden"> Roster</span>'
    assert (roster in html) == ("insights.roster_csv" in app.view_functions)


def test_the_page_preselects_the_team_it_was_opened_with(story, facilitator):
    page = f"/cohorts/{story['cohort']}/exports"
    html = facilitator.get(f"{page}?team={story['policy']}").get_data(as_text=True)
    assert f'<option value="{story["policy"]}" selected>Policy</option>' in html
    for ignored in ("abc", str(story["other_org_team"])):  # not in the list: all teams
        response = facilitator.get(f"{page}?team={ignored}")
        assert response.status_code == 200
        assert " selected>" not in response.get_data(as_text=True)


# --- streaming: memory stays flat --------------------------------------------------------------

MANY = 100_000


def test_a_hundred_thousand_check_ins_stream_in_flat_memory(app, world, frozen, role_client):
    frozen(NOW)
    with app.app_context():
        plan, goal = _plan(world["cohort"], world["participant"], "Little and often")
        first = date(2026, 1, 1)
        db.session.execute(insert(CheckIn), [
            {"plan_id": plan.id, "goal_id": goal.id, "local_date": first + timedelta(days=i % 170),
             "created_at": NOW - timedelta(minutes=i), "progress": i % 101, "minutes": 1 + i % 600,
             "note": f"Check-in number {i} =not a formula", "created_by_id": world["participant"]}
            for i in range(MANY)])
        db.session.commit()
    client = role_client("facilitator")
    export = f"/cohorts/{world['cohort']}/exports/checkins.csv"
    # Warm: the first run of the statement compiles it into SQLAlchemy's cache for good.
    warm = client.get(export)
    chunks = iter(warm.response)
    assert next(chunks).startswith("\ufeffparticipant,".encode())  # the header alone…
    assert next(chunks).count(b"\n") == 500  # …then the rows, 500 lines a chunk
    warm.close()

    # Measured from the request on: the test client reads the first chunk before it returns.
    lines = size = 0
    tracemalloc.start()
    try:
        with counting_queries(app) as statements:
            response = client.get(export)
            assert response.status_code == 200
            assert response.is_streamed
            for chunk in response.response:
                lines += chunk.count(b"\n")
                size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert lines == MANY + 1  # the header and one line per check-in
    # One SELECT of the check-ins, read in batches: no query per row or per batch.
    assert sum(1 for s in statements if "FROM check_ins" in s) == 1
    # The body is about 16 MB (some 160 bytes a line). Building it whole would hold at
    # least that much at once (the text, and then its UTF-8 bytes as much again), and a list
    # of the rows more: 77 MB when tried. Streamed, memory holds a batch of 1,000 rows (twice
    # over while the next is fetched, as SQLAlchemy turns cursor rows into result rows) and
    # one chunk of 500 lines: measured at about 2 MB on SQLite and on PostgreSQL. A quarter
    # of the body (4 MB) leaves that room to double, and is four times below what any
    # version holding the whole body needs.
    assert size > 10_000_000
    assert peak < size / 4, f"peak {peak:,} bytes for a body of {size:,}"


def test_a_download_in_progress_does_not_hold_up_writers(app, world, frozen, role_client):
    """While a client is still reading an export, others can write: on SQLite the stream
    reads in a plain BEGIN (a snapshot), not the request's BEGIN IMMEDIATE, whose write lock
    would make every writer wait for the last line and then fail."""
    frozen(NOW)
    with app.app_context():
        plan, goal = _plan(world["cohort"], world["participant"], "Little and often")
        db.session.execute(insert(CheckIn), [
            {"plan_id": plan.id, "goal_id": goal.id, "local_date": date(2026, 1, 1),
             "created_at": NOW, "note": f"Check-in {i}"} for i in range(2000)])
        db.session.commit()
        url = db.engine.url
    response = role_client("facilitator").get(f"/cohorts/{world['cohort']}/exports/checkins.csv")
    chunks = iter(response.response)
    next(chunks)  # the header
    assert next(chunks).count(b"\n") == 500  # rows: the query is open, mid-way
    # Another writer, on an engine of its own: on SQLite it fails at once instead of waiting
    # (a busy timeout of zero), and no connection of the app's pool is changed for later tests.
    other_engine = create_engine(url, connect_args={"timeout": 0} if url.drivername.startswith(
        "sqlite") else {})
    try:
        with other_engine.begin() as other:
            other.execute(text("UPDATE users SET name = 'Written meanwhile' WHERE id = :id"),
                          {"id": world["outsider"]})
    finally:
        other_engine.dispose()
    assert b"".join(chunks).count(b"\n") == 1500
    response.close()
    with app.app_context():
        assert db.session.get(User, world["outsider"]).name == "Written meanwhile"
