"""Patron nudges and the inbox, through HTTP: sending from templates and as free text, the
daily limit in the cohort's time zone, who may send, reading, reactions and "need help"."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from dap.accounts.models import User
from dap.audit.models import AuditEvent
from dap.cohorts.models import Cohort, CohortRole, Membership, PatronLink
from dap.content.nudges import KINDS, nudge_templates
from dap.extensions import db
from dap.nudges.models import (
    EmailState,
    Notification,
    NotificationKind,
    OutboxMessage,
    Reaction,
)
from tests import factories
from tests.conftest import counting_queries, post_form

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def nudge_path(world) -> str:
    return f"/cohorts/{world['cohort']}/people/{world['participant_membership']}/nudge"


def send(client, world, **data):
    """Open the form (for its one-off token) and send it."""
    page = client.get(nudge_path(world))
    assert page.status_code == 200
    match = re.search(r'name="token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert match, "the form carries a token"
    return post_form(client, nudge_path(world), {"token": match.group(1), **data})


def notifications(app, **where) -> list[Notification]:
    with app.app_context():
        stmt = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(Notification, name) == value)
        rows = db.session.scalars(stmt).all()
        db.session.expunge_all()
        return rows


def user(app, world, role) -> User:
    with app.app_context():
        return db.session.get(User, world[role])


@pytest.fixture
def patron(world, role_client):
    return role_client("patron")


@pytest.fixture
def participant(world, role_client):
    return role_client("participant")


def test_patron_sends_each_kind_from_a_template(app, world, patron):
    with app.app_context():
        chosen = {kind: nudge_templates(kind)[0] for kind in KINDS}
    page = patron.get(nudge_path(world)).get_data(as_text=True)
    for template in chosen.values():
        assert template.title.replace("'", "&#39;") in page
    assert "Hi Alex," in page  # the preview is rendered with the participant's name
    for kind, template in chosen.items():
        response = send(patron, world, choice=template.slug)
        assert response.status_code == 303, kind
    rows = notifications(app, user_id=world["participant"])
    assert [r.kind.value for r in rows] == list(KINDS)
    assert [r.title for r in rows] == [t.title for t in chosen.values()]
    assert all("{first_name}" not in r.body and r.sender_id == world["patron"] for r in rows)
    with app.app_context():
        mails = db.session.scalars(select(OutboxMessage)).all()
        # The cohort allows two emails a day: the third nudge waits for the digest.
        assert len(mails) == 2
        assert [r.email_state for r in rows] == [EmailState.QUEUED, EmailState.QUEUED,
                                                 EmailState.DIGEST]
        assert [m.kind for m in mails] == list(KINDS)[:2]
        assert "Alex" in mails[0].body_text
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "nudge.sent")).all()
        assert len(events) == 3
        for event, row in zip(events, rows, strict=True):
            assert event.subject_id == world["participant"]
            assert row.body not in str(event.details)
            assert "body" not in event.details


@pytest.mark.parametrize("kind", KINDS)
def test_patron_sends_free_text_of_each_kind(app, world, patron, kind):
    text = "Bravo, Zoë! 🎉 Ça va? 你好 — <b>keep going</b>"
    response = send(patron, world, choice="own", kind=kind, message=text)
    assert response.status_code == 303
    [row] = notifications(app, user_id=world["participant"])
    assert (row.kind.value, row.body, row.title) == (kind, text, "A message from Pat Patron")


def test_inbox_shows_unicode_escaped(app, world, patron, participant):
    send(patron, world, choice="own", kind="enthuse", message="Zoë 🎉 <script>x</script>")
    page = participant.get("/notifications").get_data(as_text=True)
    assert "Zoë 🎉 &lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x" not in page


@pytest.mark.parametrize("message", ["", "   ", "x" * 10_000])
def test_empty_or_too_long_free_text_is_refused(app, world, patron, message):
    response = send(patron, world, choice="own", kind="nudge", message=message)
    assert response.status_code == 400
    assert notifications(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_thousand_characters_is_allowed(app, world, patron):
    assert send(patron, world, choice="own", kind="nudge", message="é" * 1000).status_code == 303


def test_unknown_template_is_refused(app, world, patron):
    assert send(patron, world, choice="no-such-template").status_code == 400
    assert notifications(app) == []


def test_the_same_form_sent_twice_sends_once(app, world, patron):
    page = patron.get(nudge_path(world)).get_data(as_text=True)
    token = re.search(r'name="token"[^>]*value="([^"]+)"', page).group(1)
    data = {"token": token, "choice": "own", "kind": "nudge", "message": "Hello"}
    assert post_form(patron, nudge_path(world), data).status_code == 303
    assert post_form(patron, nudge_path(world), data).status_code == 303
    assert len(notifications(app)) == 1


def test_fourth_nudge_in_a_day_is_refused_and_the_next_day_allowed(app, world, frozen,
                                                                   login_as):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).timezone = "America/New_York"
        db.session.commit()
    frozen(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))  # 22:00 on the 23rd in New York
    patron = login_as(user(app, world, "patron"))
    for _ in range(3):
        assert send(patron, world, choice="own", kind="nudge", message="Go!").status_code == 303
    refused = send(patron, world, choice="own", kind="nudge", message="Go!")
    assert refused.status_code == 429
    assert "already sent Alex 3 nudges today" in refused.get_data(as_text=True)
    assert len(notifications(app)) == 3
    frozen(datetime(2026, 11, 24, 5, 30, tzinfo=UTC))  # 00:30 on the 24th in New York
    assert send(patron, world, choice="own", kind="nudge", message="Go!").status_code == 303
    assert len(notifications(app)) == 4


def test_patron_not_linked_gets_404(app, world, login_as):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        other = factories.make_user(name="Nora Notlinked")
        factories.add_member(cohort, other, CohortRole.PATRON)
        db.session.commit()
        client = login_as(other)
    assert client.get(nudge_path(world)).status_code == 404
    assert post_form(client, nudge_path(world), {"choice": "own", "kind": "nudge",
                                                 "message": "Hi"}).status_code == 404
    assert notifications(app) == []


def test_ended_link_gets_404(app, world, patron):
    with app.app_context():
        link = db.session.get(PatronLink, world["patron_link"])
        link.ended_at = T0
        db.session.commit()
    assert patron.get(nudge_path(world)).status_code == 404
    assert post_form(patron, nudge_path(world), {"choice": "own", "kind": "nudge",
                                                 "message": "Hi"}).status_code == 404


def test_patron_home_links_to_the_form(world, patron):
    assert nudge_path(world) in patron.get("/patron").get_data(as_text=True)


def test_inbox_unread_count_and_marking_read(app, world, patron, participant):
    send(patron, world, choice="own", kind="nudge", message="First")
    send(patron, world, choice="own", kind="cajole", message="Second")
    page = participant.get("/notifications").get_data(as_text=True)
    assert page.index("Second") < page.index("First")  # newest first
    assert "2<span class=\"visually-hidden\"> unread" in page
    first, second = notifications(app)
    assert post_form(participant, f"/notifications/{first.id}/read").status_code == 303
    page = participant.get("/notifications").get_data(as_text=True)
    assert "1<span class=\"visually-hidden\"> unread" in page
    assert post_form(participant, "/notifications/read-all").status_code == 303
    assert "visually-hidden\"> unread" not in participant.get("/").get_data(as_text=True)
    assert all(n.read_at is not None for n in notifications(app))


def test_inbox_pages_by_thirty(app, world, participant):
    with app.app_context():
        for i in range(31):
            db.session.add(Notification(user_id=world["participant"], kind=NotificationKind.GENERAL,
                                        title=f"Note {i:02d}", body="", dedup_key=f"t:{i}",
                                        created_at=datetime(2026, 1, 1, 0, i, tzinfo=UTC)))
        db.session.commit()
    first = participant.get("/notifications").get_data(as_text=True)
    assert "Note 30" in first
    assert "Note 01" in first
    assert "Note 00" not in first
    assert "Note 00" in participant.get("/notifications?page=2").get_data(as_text=True)


def test_unread_count_costs_one_statement_per_page(app, world, participant):
    participant.get("/account")
    with counting_queries(app) as statements:
        assert participant.get("/account").status_code == 200
    assert len([s for s in statements if "notifications" in s]) == 1


def test_reactions_are_stored_and_changeable(app, world, patron, participant):
    send(patron, world, choice="own", kind="enthuse", message="Well done")
    [row] = notifications(app)
    path = f"/notifications/{row.id}/react"
    assert post_form(participant, path, {"reaction": "thumbs_up"}).status_code == 303
    assert notifications(app)[0].reaction is Reaction.THUMBS_UP
    assert post_form(participant, path, {"reaction": "on_it"}).status_code == 303
    [row] = notifications(app)
    assert row.reaction is Reaction.ON_IT
    assert row.read_at is not None
    assert post_form(participant, path, {"reaction": "love"}).status_code == 400
    assert "You answered: On it" in participant.get("/notifications").get_data(as_text=True)


def test_need_help_reaches_each_facilitator_once(app, world, patron, participant, login_as):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        second = factories.make_user(name="Fran Facilitator")
        factories.add_member(cohort, second, CohortRole.FACILITATOR)
        db.session.commit()
        second_id = second.id
        membership_id = db.session.scalar(select(Membership.id).where(
            Membership.user_id == world["participant"]))
    send(patron, world, choice="own", kind="cajole", message="Come on")
    [nudge] = notifications(app)
    path = f"/notifications/{nudge.id}/react"
    for reaction in ("need_help", "on_it", "need_help"):
        assert post_form(participant, path, {"reaction": reaction}).status_code == 303
    helps = notifications(app, kind=NotificationKind.NEED_HELP)
    assert sorted(h.user_id for h in helps) == sorted([world["facilitator"], second_id])
    assert all(h.link == f"/cohorts/{world['cohort']}/people/{membership_id}/plan" for h in helps)
    # facilitators cannot react to a need_help notification, and the patron is not told
    facilitator = login_as(user(app, world, "facilitator"))
    mine = next(h for h in helps if h.user_id == world["facilitator"])
    assert post_form(facilitator, f"/notifications/{mine.id}/react",
                     {"reaction": "on_it"}).status_code == 400
    assert "would like some help" in facilitator.get("/notifications").get_data(as_text=True)
    assert notifications(app, user_id=world["patron"]) == []


def test_other_peoples_notifications_are_404(app, world, patron, participant):
    send(patron, world, choice="own", kind="nudge", message="Hello")
    [row] = notifications(app)
    assert post_form(patron, f"/notifications/{row.id}/read").status_code == 404
    assert post_form(patron, f"/notifications/{row.id}/react",
                     {"reaction": "thumbs_up"}).status_code == 404
    assert "Hello" not in patron.get("/notifications").get_data(as_text=True)
    [row] = notifications(app)
    assert row.read_at is None
    assert row.reaction is None


def test_posts_without_csrf_are_400(app, world, patron, participant):
    response = patron.post(nudge_path(world), data={"choice": "own", "kind": "nudge",
                                                    "message": "Hi"})
    assert response.status_code == 400
    assert participant.post("/notifications/read-all").status_code == 400
    assert notifications(app) == []


def test_export_holds_received_and_sent_nudges(app, world, patron, participant):
    send(patron, world, choice="own", kind="enthuse", message="Brilliant work, Zoë")
    for client, direction in ((participant, "received"), (patron, "sent")):
        archive = zipfile.ZipFile(io.BytesIO(client.get("/account/export").data))
        rows = json.loads(archive.read("data.json"))["notifications"]
        assert [(r["direction"], r["body"]) for r in rows] == [(direction, "Brilliant work, Zoë")]
        assert "Brilliant work" in archive.read("notifications.csv").decode()


def test_deleting_an_account_erases_its_notifications_and_nudge_words(app, world, patron,
                                                                        participant):
    send(patron, world, choice="own", kind="nudge", message="Secret plans")
    with app.app_context():
        db.session.add(Notification(user_id=world["patron"], kind=NotificationKind.GENERAL,
                                    title="For the patron", body="", dedup_key="t:patron"))
        db.session.commit()
    assert post_form(patron, "/account/delete",
                     {"password": factories.PASSWORD}).status_code in (302, 303)
    [row] = notifications(app)
    assert (row.user_id, row.title, row.body) == (world["participant"], "A message", "")
