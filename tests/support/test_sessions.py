"""After a 1:1 session: the facilitator's private notes (for the cohort's facilitators alone)
and action points (the participant sees them, shares them with their patrons if they like,
and makes any of them a goal in one press), through the pages' own forms."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from dap.accounts.models import User
from dap.audit.models import AuditEvent
from dap.cohorts.models import Cohort, CohortRole
from dap.extensions import db
from dap.plans import services as plan_services
from dap.plans.models import PlanGoal, Visibility
from dap.support.models import (
    ActionPoint,
    SessionNotes,
    SlotMode,
    SupportBooking,
    SupportSlot,
)
from tests import factories
from tests.accounts.test_privacy import read_export
from tests.conftest import post_form
from tests.support.conftest import T0

#: the first slot of the block starts on Wednesday 17 March 2027, 10:00 UTC
STARTED = T0 + timedelta(days=2, hours=1, minutes=5)


# --- helpers ------------------------------------------------------------------------------------


def _page_form(page: str, label: str) -> tuple[str, MultiDict]:
    """The action and fields of the page's form holding ``label``, as a browser sends them
    (hidden inputs with their values, text areas with what they hold)."""
    form = next(f for f in re.findall(r"<form[^>]*>.*?</form>", page, re.S) if label in f)
    action = unescape(re.search(r'action="([^"]+)"', form).group(1))
    fields = [(name, unescape(value)) for name, value
              in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)]
    fields += [(name, unescape(value)) for name, value
               in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S)]
    return action, MultiDict(fields)


def _submit(client, page_path: str, label: str, **typed):
    """Open ``page_path``, fill in the form holding ``label`` and send it."""
    page = client.get(page_path).get_data(as_text=True)
    action, fields = _page_form(page, label)
    for name, value in typed.items():
        fields[name] = value
    return client.post(action, data=fields)


class Session:
    """A booked 1:1 session: the world's participant has the cohort's first slot."""

    def __init__(self, app, world, slot_id: int, booking_id: int, clients):
        self.app, self.world = app, world
        self.slot_id, self.booking_id = slot_id, booking_id
        self.cohort = world["cohort"]
        self.facilitator = clients("facilitator")
        self.participant = clients("participant")
        self.patron = clients("patron")
        self.slot_path = f"/cohorts/{self.cohort}/support/slots/{slot_id}"
        self.notes_path = f"/cohorts/{self.cohort}/support/bookings/{booking_id}/notes"
        self.points_path = f"/cohorts/{self.cohort}/support/bookings/{booking_id}/action-points"
        self.index_path = f"/cohorts/{self.cohort}/support"
        self.patron_plan = f"/cohorts/{self.cohort}/people/{world['participant_membership']}/plan"

    def point_path(self, point_id: int, action: str) -> str:
        return f"/cohorts/{self.cohort}/support/action-points/{point_id}/{action}"

    def add_point(self, text: str, client=None):
        return _submit(client or self.facilitator, self.slot_path, "Add the action point",
                       text=text)

    def points(self) -> list[ActionPoint]:
        with self.app.app_context():
            rows = list(db.session.scalars(select(ActionPoint).order_by(ActionPoint.id)))
            db.session.expunge_all()
            return rows

    def goals(self) -> list[PlanGoal]:
        with self.app.app_context():
            rows = list(db.session.scalars(select(PlanGoal).order_by(PlanGoal.id)))
            db.session.expunge_all()
            return rows

    def audit(self, prefix: str = "support.") -> list[AuditEvent]:
        with self.app.app_context():
            rows = list(db.session.scalars(select(AuditEvent).where(
                AuditEvent.action.like(prefix + "%")).order_by(AuditEvent.id)))
            db.session.expunge_all()
            return rows


@pytest.fixture
def session(app, world, publish, role_client) -> Session:
    assert publish().status_code == 303
    with app.app_context():
        slot_id = db.session.scalar(select(SupportSlot.id).order_by(SupportSlot.starts_at))
    participant = role_client("participant")
    response = post_form(participant, f"/cohorts/{world['cohort']}/support/slots/{slot_id}/book",
                         {"note": "Spreadsheets, please"})
    assert response.status_code == 303
    with app.app_context():
        booking_id = db.session.scalar(select(SupportBooking.id))
    return Session(app, world, slot_id, booking_id, role_client)


# --- private notes ------------------------------------------------------------------------------


def test_notes_open_once_the_session_has_started(session, frozen):
    page = session.facilitator.get(session.slot_path).get_data(as_text=True)
    assert "Private notes" in page
    assert "You can write notes once the session starts." in page
    early = session.facilitator.get(session.notes_path)
    assert early.status_code == 200
    assert "<textarea" not in early.get_data(as_text=True)
    refused = post_form(session.facilitator, session.notes_path, {"body": "Too soon"})
    assert refused.status_code == 400
    assert "once the session has started" in refused.get_data(as_text=True)
    frozen(STARTED)
    assert "Write notes" in session.facilitator.get(session.slot_path).get_data(as_text=True)
    response = _submit(session.facilitator, session.notes_path, "Save the notes",
                       body="**Went well** ✨ — next: pivot tables")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{session.slot_path}#notes-heading")
    page = session.facilitator.get(session.slot_path).get_data(as_text=True)
    assert "<strong>Went well</strong> ✨ — next: pivot tables" in page
    assert "Edit the notes" in page
    with session.app.app_context():
        notes = db.session.scalar(select(SessionNotes))
        assert notes.booking_id == session.booking_id
        assert notes.updated_by_id == session.world["facilitator"]


def test_notes_are_sanitised_limited_and_emptied(session, frozen):
    frozen(STARTED)
    response = _submit(session.facilitator, session.notes_path, "Save the notes",
                       body="Hello <script>alert('x')</script> [link](javascript:alert(2)) "
                            "<img src=x onerror=alert(3)>")
    assert response.status_code == 303
    page = session.facilitator.get(session.notes_path)
    assert page.headers["Cache-Control"] == "private, no-store"
    assert "&lt;script&gt;" in page.get_data(as_text=True)  # the form gives back what was typed
    rendered = session.facilitator.get(session.slot_path).get_data(as_text=True)
    assert "Hello" in rendered
    assert "<script>alert" not in rendered
    assert "alert('x')" not in rendered
    assert "javascript:" not in rendered
    assert "onerror" not in rendered
    too_long = _submit(session.facilitator, session.notes_path, "Save the notes",
                       body="é" * 10_001)
    assert too_long.status_code == 400
    assert "Use at most 10000 characters (this has 10001)." in too_long.get_data(as_text=True)
    assert _submit(session.facilitator, session.notes_path, "Save the notes",
                   body="ü" * 10_000).status_code == 303
    emptied = _submit(session.facilitator, session.notes_path, "Save the notes", body="   ")
    assert emptied.status_code == 303
    assert "Notes removed." in session.facilitator.get(emptied.headers["Location"]) \
        .get_data(as_text=True)
    with session.app.app_context():
        assert db.session.scalar(select(func.count(SessionNotes.id))) == 0
    assert post_form(session.facilitator, session.notes_path, {}).status_code == 303  # no field
    assert session.facilitator.post(session.notes_path, data={"body": "no token"}) \
        .status_code == 400


def test_nobody_but_the_facilitators_reads_the_notes(session, frozen, participants, login_as,
                                                     app, world):
    frozen(STARTED)
    assert _submit(session.facilitator, session.notes_path, "Save the notes",
                   body="Private: worried about the deadline").status_code == 303
    (other,) = participants(1)
    with app.app_context():
        outsider = login_as(db.session.get(User, world["outsider"]))
    for client in (session.participant, session.patron, other, outsider):
        assert client.get(session.notes_path).status_code == 404
        assert post_form(client, session.notes_path, {"body": "mine now"}).status_code == 404
    participant_page = session.participant.get(session.slot_path).get_data(as_text=True)
    assert "worried about the deadline" not in participant_page
    assert "Private notes" not in participant_page
    assert session.patron.get(session.slot_path).status_code == 404
    assert "worried" not in session.patron.get(session.patron_plan).get_data(as_text=True)
    with app.app_context():
        admin = login_as(db.session.get(User, world["admin"]))
    assert "worried about the deadline" in admin.get(session.notes_path).get_data(as_text=True)
    # nothing of the words in the audit log or the participant's export
    assert all("worried" not in str(e.details) for e in session.audit(""))
    export = session.participant.get("/account/export").data
    document, _ = read_export(export)
    assert "worried" not in str(document)
    with session.app.app_context():
        assert db.session.scalar(select(SessionNotes.body)) == "Private: worried about the deadline"


# --- action points ------------------------------------------------------------------------------


def test_a_facilitator_adds_action_points_the_participant_sees(session):
    # before the session: facilitators may prepare some
    assert session.add_point("Try a pivot table on the budget 📊").status_code == 303
    assert session.add_point("Read <b>one</b> blog post").status_code == 303
    mine = session.participant.get(session.slot_path).get_data(as_text=True)
    assert "Try a pivot table on the budget 📊" in mine
    assert "Read &lt;b&gt;one&lt;/b&gt; blog post" in mine
    assert "Add the action point" not in mine
    listed = session.participant.get(session.index_path).get_data(as_text=True)
    assert "My action points" in listed
    assert "Try a pivot table on the budget 📊" in listed
    assert f'href="{session.slot_path}"' in listed
    events = session.audit("support.action_point")
    assert [e.action for e in events] == ["support.action_point_added"] * 2
    assert events[0].subject_id == session.world["participant"]
    assert "pivot" not in str(events[0].details)
    first = session.points()[0]
    page = session.facilitator.get(session.slot_path).get_data(as_text=True)
    action, fields = _page_form(page, f"/action-points/{first.id}/remove")
    assert session.facilitator.post(action, data=fields).status_code == 303
    assert [p.text for p in session.points()] == ["Read <b>one</b> blog post"]
    assert session.audit("support.action_point_removed")[0].details["action_point"] == first.id
    log = session.facilitator.get(f"/cohorts/{session.cohort}/audit").get_data(as_text=True)
    assert "Added an action point to a 1:1 session" in log
    assert "Removed an action point from a 1:1 session" in log


@pytest.mark.parametrize(("text", "message"), [
    ("", "Enter the action point."),
    ("   \n ", "Enter the action point."),
    ("x" * 301, "Use at most 300 characters (this has 301)."),
])
def test_action_points_must_be_one_to_three_hundred_characters(session, text, message):
    response = session.add_point(text)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert session.points() == []


def test_three_hundred_characters_of_unicode_are_fine(session):
    text = "Ünïcødé ✓ " * 30
    assert session.add_point(text).status_code == 303
    assert [p.text for p in session.points()] == [text.strip()]


def test_only_the_facilitators_add_and_remove_action_points(session, participants):
    assert session.add_point("Set up a reading list").status_code == 303
    (point,) = session.points()
    (other,) = participants(1)
    # the participant sees the booking but may not add or remove: 403
    assert post_form(session.participant, session.points_path, {"text": "Mine"}).status_code == 403
    assert post_form(session.participant, session.point_path(point.id, "remove")).status_code == 403
    for client in (session.patron, other):  # not theirs to see: 404
        assert post_form(client, session.points_path, {"text": "Hi"}).status_code == 404
        assert post_form(client, session.point_path(point.id, "remove")).status_code == 404
        assert post_form(client, session.point_path(point.id, "share"),
                         {"share": "1"}).status_code == 404
        assert post_form(client, session.point_path(point.id, "goal")).status_code == 404
    assert [p.text for p in session.points()] == ["Set up a reading list"]
    assert session.goals() == []


# --- sharing with patrons -----------------------------------------------------------------------


def test_the_participant_shares_action_points_with_their_patrons(session, frozen):
    session.add_point("Post on the team's channel twice a week")
    session.add_point("Ask IT about a second screen")
    frozen(STARTED)
    shared, kept = session.points()
    plan = session.patron.get(session.patron_plan).get_data(as_text=True)
    assert "From 1:1 sessions" not in plan
    response = _submit(session.participant, session.slot_path,
                       f"/action-points/{shared.id}/share")
    assert response.status_code == 303
    page = session.participant.get(session.slot_path).get_data(as_text=True)
    assert '<span class="badge badge-ok">Shared</span> with your patrons' in page
    assert "Stop sharing with my patrons" in page
    plan = session.patron.get(session.patron_plan).get_data(as_text=True)
    assert "From 1:1 sessions" in plan
    assert "Post on the team&#39;s channel twice a week" in plan
    assert "Ask IT about a second screen" not in plan
    # the participant's own plan and other people's views stay as they were
    assert "From 1:1 sessions" not in session.facilitator.get(session.patron_plan) \
        .get_data(as_text=True)
    # sharing is the participant's choice: the facilitator may not (not a managed participant)
    assert post_form(session.facilitator, session.point_path(kept.id, "share"),
                     {"share": "1"}).status_code == 403
    assert post_form(session.participant, session.point_path(kept.id, "share"),
                     {"share": "maybe"}).status_code == 400
    assert session.participant.post(session.point_path(kept.id, "share"),
                                    data={"share": "1"}).status_code == 400  # no token
    response = _submit(session.participant, session.index_path,
                       f"/action-points/{shared.id}/share")  # from the list, back to it
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/support#points-heading")
    assert "From 1:1 sessions" not in session.patron.get(session.patron_plan) \
        .get_data(as_text=True)
    assert session.audit("support.action_point_sh") == []  # their own choice: not audited


# --- making it a goal ---------------------------------------------------------------------------


def test_make_it_a_goal_makes_one_goal_linked_from_the_point(session):
    session.add_point("Start a blog about our service ✍️")
    (point,) = session.points()
    response = _submit(session.participant, session.index_path, "Make it a goal")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/support#points-heading")
    (goal,) = session.goals()
    assert goal.title == "Start a blog about our service ✍️"
    assert goal.library_slug is None
    assert goal.created_by_id == session.world["participant"]
    assert goal.visibility is Visibility.PRIVATE  # the point is not shared with patrons
    assert session.points()[0].goal_id == goal.id
    page = session.participant.get(session.slot_path).get_data(as_text=True)
    assert f'href="/cohorts/{session.cohort}/plan/goals/{goal.id}"' in page
    assert "Make it a goal" not in page
    # pressing again (an old page, a double click) changes nothing
    again = post_form(session.participant, session.point_path(point.id, "goal"))
    assert again.status_code == 303
    assert "already a goal" in session.participant.get(again.headers["Location"]) \
        .get_data(as_text=True)
    assert len(session.goals()) == 1
    assert session.participant.get(f"/cohorts/{session.cohort}/plan/goals/{goal.id}") \
        .status_code == 200
    (made,) = session.audit("support.action_point_goal")
    assert made.details == {"booking": session.booking_id, "action_point": point.id,
                            "goal": goal.id}


def test_a_shared_point_becomes_a_goal_patrons_see_and_a_long_one_is_cut(session):
    long_text = ("Write a short guide " + "for colleagues on sharing " * 20).strip()[:300]
    session.add_point(long_text)
    (point,) = session.points()
    assert post_form(session.participant, session.point_path(point.id, "share"),
                     {"share": "1"}).status_code == 303
    assert post_form(session.participant, session.point_path(point.id, "goal")).status_code == 303
    (goal,) = session.goals()
    assert goal.visibility is Visibility.PATRONS
    assert len(goal.title) <= plan_services.TITLE_MAX
    assert goal.title.endswith("…")
    assert long_text.startswith(goal.title[:-1])
    assert goal.why == long_text


def test_a_paused_plan_still_takes_the_goal(session, app, world):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        person = db.session.get(User, world["participant"])
        plan = plan_services.plan_for(cohort, person)
        plan_services.pause_plan(plan, actor=person, until=T0.date() + timedelta(days=7),
                                 reason="Leave", today=T0.date())
        db.session.commit()
    session.add_point("Tidy my bookmarks")
    (point,) = session.points()
    assert post_form(session.participant, session.point_path(point.id, "goal")).status_code == 303
    assert [g.title for g in session.goals()] == ["Tidy my bookmarks"]


def test_an_archived_cohort_is_read_only(session, app, world):
    session.add_point("Keep a learning log")
    (point,) = session.points()
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    goal = post_form(session.participant, session.point_path(point.id, "goal"))
    assert goal.status_code == 400
    assert "This cohort is archived" in goal.get_data(as_text=True)
    share = post_form(session.participant, session.point_path(point.id, "share"), {"share": "1"})
    assert share.status_code == 400
    assert post_form(session.facilitator, session.points_path, {"text": "More"}).status_code == 403
    assert post_form(session.facilitator, session.point_path(point.id, "remove")) \
        .status_code == 403
    page = session.participant.get(session.slot_path).get_data(as_text=True)
    assert "Keep a learning log" in page
    assert "Make it a goal" not in page
    assert session.goals() == []
    assert not session.points()[0].shared_with_patrons


# --- managed participants -----------------------------------------------------------------------


def test_a_facilitator_makes_a_goal_for_a_managed_participant(session, app, world):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        managed = factories.make_user(name="Morgan Managed", email=None, password="",
                                      is_managed=True)
        membership = factories.add_member(cohort, managed, CohortRole.PARTICIPANT)
        slot = db.session.scalars(select(SupportSlot).order_by(SupportSlot.starts_at)).all()[1]
        facilitator = db.session.get(User, world["facilitator"])
        # booked for them (booking on behalf has its own tests)
        db.session.add(SupportBooking(slot_id=slot.id, participant_id=managed.id,
                                      booked_by_id=facilitator.id))
        db.session.commit()
        slot_id, managed_id, membership_id = slot.id, managed.id, membership.id
    slot_path = f"/cohorts/{session.cohort}/support/slots/{slot_id}"
    assert _submit(session.facilitator, slot_path, "Add the action point",
                   text="Practise video calls with family").status_code == 303
    page = session.facilitator.get(slot_path).get_data(as_text=True)
    assert "Share with their patrons" in page
    response = _submit(session.facilitator, slot_path, "Make it a goal")
    assert response.status_code == 303
    assert "is a goal in Morgan Managed’s plan" in session.facilitator.get(
        response.headers["Location"]).get_data(as_text=True)
    (goal,) = session.goals()
    assert goal.title == "Practise video calls with family"
    assert goal.created_by_id == world["facilitator"]
    with app.app_context():
        assert db.session.get(PlanGoal, goal.id).plan.participant_id == managed_id
    page = session.facilitator.get(slot_path).get_data(as_text=True)
    assert f'href="/cohorts/{session.cohort}/people/{membership_id}/plan/goals/{goal.id}"' in page
    (made,) = session.audit("support.action_point_goal")
    assert made.actor_id == world["facilitator"]
    assert made.subject_id == managed_id
    assert _submit(session.facilitator, slot_path, "Share with their patrons").status_code == 303
    (shared,) = session.audit("support.action_point_shared")
    assert (shared.actor_id, shared.subject_id) == (world["facilitator"], managed_id)
    # not for a participant who has their own access
    session.add_point("Not yours to decide")
    alexs = session.points()[-1]
    assert "Make it a goal" not in session.facilitator.get(session.slot_path).get_data(as_text=True)
    assert post_form(session.facilitator, session.point_path(alexs.id, "goal")).status_code == 403


# --- cancelled bookings and other cohorts -------------------------------------------------------


def test_a_cancelled_booking_takes_no_notes_or_points(session, frozen):
    session.add_point("Prepared before the session")
    (point,) = session.points()
    assert post_form(session.participant, f"{session.slot_path}/cancel").status_code == 303
    refused = post_form(session.facilitator, session.points_path, {"text": "After cancelling"})
    assert refused.status_code == 400
    assert "This booking was cancelled" in refused.get_data(as_text=True)
    for path, data in ((session.point_path(point.id, "goal"), {}),
                       (session.point_path(point.id, "share"), {"share": "1"})):
        response = post_form(session.participant, path, data)
        assert response.status_code == 400
        assert "This booking was cancelled" in response.get_data(as_text=True)
    assert "My action points" not in session.participant.get(session.index_path) \
        .get_data(as_text=True)
    frozen(STARTED)
    notes = post_form(session.facilitator, session.notes_path, {"body": "No show"})
    assert notes.status_code == 400
    assert "This booking was cancelled" in notes.get_data(as_text=True)
    assert len(session.points()) == 1
    assert session.goals() == []


def test_another_cohorts_bookings_and_points_are_404(session, app, world, login_as):
    with app.app_context():
        other = factories.make_cohort()
        facilitator = db.session.get(User, world["facilitator"])
        factories.add_member(other, facilitator, CohortRole.FACILITATOR)
        person = factories.make_user()
        factories.add_member(other, person, CohortRole.PARTICIPANT)
        slot = SupportSlot(cohort_id=other.id, facilitator_id=facilitator.id,
                           starts_at=T0 + timedelta(days=3), ends_at=T0 + timedelta(days=3, hours=1),
                           mode=SlotMode.PHONE, uid="other-cohort@dap-support")
        db.session.add(slot)
        db.session.flush()
        booking = SupportBooking(slot_id=slot.id, participant_id=person.id)
        db.session.add(booking)
        db.session.flush()
        point = ActionPoint(booking_id=booking.id, text="Theirs")
        db.session.add(point)
        db.session.commit()
        booking_id, point_id, other_id = booking.id, point.id, other.id
        person = db.session.get(User, person.id)
    base = f"/cohorts/{session.cohort}/support"
    # the right ids under the wrong cohort: 404 even for a facilitator of both
    assert session.facilitator.get(f"{base}/bookings/{booking_id}/notes").status_code == 404
    assert post_form(session.facilitator, f"{base}/bookings/{booking_id}/action-points",
                     {"text": "x"}).status_code == 404
    assert post_form(session.facilitator, f"{base}/action-points/{point_id}/remove") \
        .status_code == 404
    theirs = login_as(person)
    for action, data in (("share", {"share": "1"}), ("goal", {})):
        assert post_form(theirs, f"{base}/action-points/{point_id}/{action}", data) \
            .status_code == 404
    # and the world's participant cannot reach the other cohort at all
    assert post_form(session.participant, f"/cohorts/{other_id}/support/action-points/"
                     f"{point_id}/goal").status_code == 404
    assert post_form(session.facilitator, f"{base}/action-points/999999/goal").status_code == 404
    with app.app_context():
        assert db.session.get(ActionPoint, point_id).text == "Theirs"


# --- privacy ------------------------------------------------------------------------------------


def test_the_export_has_bookings_and_points_but_never_the_notes(session, frozen):
    session.add_point("Draft three posts")
    frozen(STARTED)
    _submit(session.facilitator, session.notes_path, "Save the notes", body="Secret observation")
    (point,) = session.points()
    post_form(session.participant, session.point_path(point.id, "goal"))
    document, tables = read_export(session.participant.get("/account/export").data)
    (booking,) = tables["support_bookings"]
    assert booking["note"] == "Spreadsheets, please"
    assert booking["facilitator"] == "Sam Facilitator"
    assert booking["status"] == "booked"
    assert booking["booked_by"] == ""  # themselves
    (row,) = tables["support_action_points"]
    assert row["text"] == "Draft three posts"
    assert row["goal"] == "Draft three posts"
    assert row["added_by"] == "Sam Facilitator"
    assert document["support_action_points"][0]["shared_with_patrons"] is False
    assert "Secret observation" not in str(document)
    assert "Secret observation" not in str(tables)


def test_deleting_the_account_erases_what_they_asked_help_with(session, app):
    from tests.factories import PASSWORD

    session.add_point("Kept for the facilitators' records")
    response = post_form(session.participant, "/account/delete", {"password": PASSWORD})
    assert response.status_code == 302
    with app.app_context():
        booking = db.session.get(SupportBooking, session.booking_id)
        assert booking.note == ""
        assert booking.participant.name == "Deleted user"
    assert [p.text for p in session.points()] == ["Kept for the facilitators' records"]


def test_the_export_runs_as_many_queries_however_many_sessions(app, world):
    from dap.accounts.privacy import export_user_data
    from tests.conftest import counting_queries

    def arrange(n: int) -> int:
        with app.app_context():
            cohort = db.session.get(Cohort, world["cohort"])
            person = factories.make_user()
            factories.add_member(cohort, person, CohortRole.PARTICIPANT)
            for i in range(n):
                start = T0 + timedelta(days=1, hours=i, minutes=n)
                slot = SupportSlot(cohort_id=cohort.id, facilitator_id=world["facilitator"],
                                   starts_at=start, ends_at=start + timedelta(minutes=30),
                                   mode=SlotMode.PHONE, uid=f"export-{n}-{i}@dap-support")
                db.session.add(slot)
                db.session.flush()
                booking = SupportBooking(slot_id=slot.id, participant_id=person.id,
                                         note=f"Help {i}", booked_by_id=world["facilitator"])
                db.session.add(booking)
                db.session.flush()
                db.session.add_all([ActionPoint(booking_id=booking.id, text=f"Point {i}.{j}",
                                                created_by_id=world["facilitator"])
                                    for j in range(3)])
                db.session.add(SessionNotes(booking_id=booking.id, body=f"Secret {i}"))
            db.session.commit()
            return person.id

    def queries_for(user_id: int) -> tuple[int, int]:
        with counting_queries(app) as statements, app.app_context():
            data = export_user_data(db.session.get(User, user_id))
        document, _ = read_export(data)
        assert "Secret" not in str(document)
        return len(statements), len(document["support_action_points"])

    few, many = queries_for(arrange(1)), queries_for(arrange(12))
    assert (few[1], many[1]) == (3, 36)
    assert few[0] == many[0] <= 36  # the bound of tests/accounts/test_privacy.py, less BEGIN and the user


def test_the_delete_page_says_what_happens_to_1_1_sessions(role_client):
    page = role_client("participant").get("/account/delete").get_data(as_text=True)
    assert "What you asked help with when booking 1:1 sessions is erased." in page
