"""Events and privacy: a person's export holds their answers, attendance, feedback, recap
notes and photos (the files too); deleting the account erases what they wrote and added,
and the calendar entries of emails to them."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

from sqlalchemy import select

from dap.accounts.privacy import export_user_data
from dap.events.models import Event, EventFeedback, EventInvitation, EventPhoto, RecapNote
from dap.extensions import db
from dap.nudges.models import OutboxMessage
from tests import factories
from tests.accounts.test_privacy import read_export
from tests.conftest import counting_queries, post_form
from tests.events.conftest import T0
from tests.events.test_recaps import image_bytes, stored_files, upload

DURING = T0 + timedelta(days=5, hours=1, minutes=30)
AFTER = T0 + timedelta(days=5, hours=4)


def _a_participant_who_did_everything(app, world, schedule, role_client, frozen):
    assert schedule(invite="y").status_code == 303
    with app.app_context():
        event_id = db.session.scalar(select(Event.id))
    participant = role_client("participant")
    post_form(participant, f"/cohorts/{world['cohort']}/events/{event_id}/answer",
              {"answer": "yes"})
    frozen(DURING)
    post_form(role_client("facilitator"),
              f"/cohorts/{world['cohort']}/events/{event_id}/attendance",
              {f"mark-{world['participant']}": "attended"})
    assert post_form(participant, f"/cohorts/{world['cohort']}/events/{event_id}/recap/notes",
                     {"body": "I made my first spreadsheet chart"}).status_code == 303
    assert upload(participant, world, event_id, [(image_bytes("PNG"), "me.png")],
                  caption="My chart").status_code == 303
    frozen(AFTER)
    assert post_form(participant, f"/cohorts/{world['cohort']}/events/{event_id}/feedback",
                     {"usefulness": "4", "what_worked": "Doing it together",
                      "what_to_change": "More time"}).status_code == 303
    return event_id, participant


def test_the_export_holds_my_events_and_my_photos(app, world, schedule, role_client, frozen):
    event_id, participant = _a_participant_who_did_everything(app, world, schedule,
                                                              role_client, frozen)
    data = participant.get("/account/export").data
    document, tables = read_export(data)
    assert [r["answer"] for r in tables["event_answers"]] == ["going"]
    assert tables["event_attendance"][0]["mark"] == "attended"
    assert tables["event_feedback"][0]["what_worked"] == "Doing it together"
    assert tables["event_recap_notes"][0]["notes"] == "I made my first spreadsheet chart"
    (photo,) = document["event_photos"]
    assert photo["caption"] == "My chart"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read(photo["file"]).startswith(b"\x89PNG")


def test_the_export_query_count_does_not_grow_with_events(app, world, schedule, role_client,
                                                          frozen):
    event_id, _ = _a_participant_who_did_everything(app, world, schedule, role_client, frozen)
    from dap.accounts.models import User

    def queries() -> int:
        with counting_queries(app) as statements, app.app_context():
            export_user_data(db.session.get(User, world["participant"]))
        return len(statements)

    before = queries()
    participant = role_client("participant")
    assert upload(participant, world, event_id, [(image_bytes("JPEG"), "a.jpg"),
                                                 (image_bytes("WEBP"), "b.webp")]
                  ).status_code == 303
    assert queries() == before


def test_deleting_the_account_erases_what_i_wrote_and_added(app, world, schedule, role_client,
                                                           frozen):
    event_id, participant = _a_participant_who_did_everything(app, world, schedule,
                                                              role_client, frozen)
    assert stored_files(app)
    with app.app_context():
        other = factories.make_user()
        from dap.cohorts.models import Cohort, CohortRole

        factories.add_member(db.session.get(Cohort, world["cohort"]), other,
                             CohortRole.PARTICIPANT)
        db.session.add(RecapNote(event_id=event_id, author_id=other.id, body="Someone else's"))
        db.session.commit()
    response = post_form(participant, "/account/delete", {"password": factories.PASSWORD})
    assert response.headers["Location"] == "/account/deleted"
    with app.app_context():
        assert db.session.scalars(select(EventPhoto)).all() == []
        assert [n.body for n in db.session.scalars(select(RecapNote))] == ["Someone else's"]
        feedback = db.session.scalars(select(EventFeedback)).one()
        assert (feedback.usefulness, feedback.what_worked, feedback.what_to_change) == (4, "", "")
        assert db.session.scalars(select(EventInvitation).where(
            EventInvitation.user_id == world["participant"])).all() == []
        invitation = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "event_invitation")).one()
        assert (invitation.to_addr, invitation.calendar_ics) == ("", "")
    assert stored_files(app) == []
