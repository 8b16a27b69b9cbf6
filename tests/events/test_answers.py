"""Answering an event: going, can't go, the waitlist in order, a freed seat passed on with
an email, closed answers, cancellations — and two people taking the last seat at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dap.events.models import Event, Rsvp, RsvpStatus
from dap.extensions import db
from dap.nudges.models import OutboxMessage
from tests.concurrency import at_once, worker_app
from tests.conftest import post_form
from tests.events.conftest import T0, answer


def _event_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Event.id).order_by(Event.id.desc()))


def _answers(app, event_id: int) -> dict[int, RsvpStatus]:
    with app.app_context():
        return {r.user_id: r.status for r in db.session.scalars(
            select(Rsvp).where(Rsvp.event_id == event_id))}


def _mail(app, kind: str) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(OutboxMessage.to_addr)
                                         .where(OutboxMessage.kind == kind)))


def _email_of(app, user_id: int) -> str:
    from dap.accounts.models import User

    with app.app_context():
        return db.session.get(User, user_id).email


def test_a_full_event_waitlists_in_order_and_a_freed_seat_goes_to_the_first_waiting(
        app, world, schedule, participants):
    assert schedule(capacity="2").status_code == 303
    event_id = _event_id(app)
    first, second, third, fourth = participants(4)
    for client in (first, second, third, fourth):
        assert answer(client, world["cohort"], event_id, True).status_code == 303
    assert _answers(app, event_id) == {
        first.user_id: RsvpStatus.GOING, second.user_id: RsvpStatus.GOING,
        third.user_id: RsvpStatus.WAITLISTED, fourth.user_id: RsvpStatus.WAITLISTED}
    page = third.get(f"/cohorts/{world['cohort']}/events/{event_id}").get_data(as_text=True)
    assert "on the waitlist</strong>, number 1" in page
    assert "number 2" in fourth.get(f"/cohorts/{world['cohort']}/events/{event_id}").get_data(
        as_text=True)

    assert answer(first, world["cohort"], event_id, False).status_code == 303
    answers = _answers(app, event_id)
    assert answers[first.user_id] is RsvpStatus.DECLINED
    assert answers[third.user_id] is RsvpStatus.GOING
    assert answers[fourth.user_id] is RsvpStatus.WAITLISTED
    assert _mail(app, "event_promoted") == [_email_of(app, third.user_id)]
    # leaving the waitlist frees nothing and tells no one
    assert answer(fourth, world["cohort"], event_id, False).status_code == 303
    assert _mail(app, "event_promoted") == [_email_of(app, third.user_id)]


def test_answering_twice_keeps_one_answer(app, world, schedule, participants):
    assert schedule(capacity="1").status_code == 303
    event_id = _event_id(app)
    [me] = participants(1)
    for _ in range(3):
        assert answer(me, world["cohort"], event_id, True).status_code == 303
    with app.app_context():
        rows = db.session.scalars(select(Rsvp).where(Rsvp.event_id == event_id)).all()
    assert [(r.user_id, r.status) for r in rows] == [(me.user_id, RsvpStatus.GOING)]


def test_the_join_link_shows_only_to_people_going(app, world, schedule, participants,
                                                  role_client):
    assert schedule(mode="hybrid", join_url="https://meet.example.org/abc").status_code == 303
    event_id = _event_id(app)
    path = f"/cohorts/{world['cohort']}/events/{event_id}"
    [me] = participants(1)
    assert "meet.example.org/abc" not in me.get(path).get_data(as_text=True)
    assert "meet.example.org/abc" not in role_client("patron").get(path).get_data(as_text=True)
    answer(me, world["cohort"], event_id, True)
    assert "meet.example.org/abc" in me.get(path).get_data(as_text=True)
    assert "meet.example.org/abc" in role_client("facilitator").get(path).get_data(as_text=True)


def test_answers_close_at_the_deadline(app, world, schedule, participants, frozen):
    assert schedule(rsvp_deadline="2027-03-18T17:00").status_code == 303
    event_id = _event_id(app)
    [me] = participants(1)
    frozen(T0 + timedelta(days=3, hours=8, seconds=1))  # 18 March, 17:00:01
    response = answer(me, world["cohort"], event_id, True)
    assert response.status_code == 303
    assert "Answers for this event have closed." in me.get(
        response.headers["Location"]).get_data(as_text=True)
    assert _answers(app, event_id) == {}


def test_no_answers_once_it_has_started(app, world, schedule, participants, frozen):
    assert schedule().status_code == 303
    event_id = _event_id(app)
    [me] = participants(1)
    frozen(T0 + timedelta(days=5, hours=1))  # 20 March, 10:00
    answer(me, world["cohort"], event_id, True)
    assert _answers(app, event_id) == {}


@pytest.mark.parametrize("role", ["patron", "facilitator"])
def test_only_participants_answer(app, world, schedule, role, role_client):
    assert schedule().status_code == 303
    event_id = _event_id(app)
    response = answer(role_client(role), world["cohort"], event_id, True)
    assert response.status_code == 403
    assert _answers(app, event_id) == {}


def test_an_outsider_or_another_cohorts_participant_gets_404(app, world, schedule, login_as):
    from dap.accounts.models import User
    from dap.cohorts.models import CohortRole
    from tests import factories

    assert schedule().status_code == 303
    event_id = _event_id(app)
    with app.app_context():
        other = factories.make_cohort()
        stranger = factories.make_user()
        factories.add_member(other, stranger, CohortRole.PARTICIPANT)
        db.session.commit()
        other_id = other.id
        people = [db.session.get(User, stranger.id), db.session.get(User, world["outsider"])]
        db.session.expunge_all()
    stranger_client, outsider_client = (login_as(person) for person in people)
    assert answer(stranger_client, world["cohort"], event_id, True).status_code == 404
    assert answer(stranger_client, other_id, event_id, True).status_code == 404
    assert answer(outsider_client, world["cohort"], event_id, True).status_code == 404
    assert _answers(app, event_id) == {}


def test_a_bad_answer_or_a_missing_token_is_400(app, world, schedule, participants):
    assert schedule().status_code == 303
    event_id = _event_id(app)
    [me] = participants(1)
    path = f"/cohorts/{world['cohort']}/events/{event_id}/answer"
    assert post_form(me, path, {"answer": "maybe"}).status_code == 400
    assert me.post(path, data={"answer": "yes"}).status_code == 400
    assert _answers(app, event_id) == {}


def test_cancelling_tells_everyone_going_or_waiting_once(app, world, schedule, participants,
                                                         role_client):
    assert schedule(capacity="1").status_code == 303
    event_id = _event_id(app)
    going, waiting, declined = participants(3)
    answer(going, world["cohort"], event_id, True)
    answer(waiting, world["cohort"], event_id, True)
    answer(declined, world["cohort"], event_id, False)
    facilitator = role_client("facilitator")
    path = f"/cohorts/{world['cohort']}/events/{event_id}"
    response = post_form(facilitator, f"{path}/cancel", {"reason": "The room flooded."})
    assert response.status_code == 303
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert (event.is_cancelled, event.sequence, event.cancel_reason) == (
            True, 1, "The room flooded.")
    assert _mail(app, "event_cancelled") == sorted(
        [_email_of(app, going.user_id), _email_of(app, waiting.user_id)])
    assert post_form(facilitator, f"{path}/cancel", {"reason": ""}).status_code == 400
    assert len(_mail(app, "event_cancelled")) == 2
    # no answers to a cancelled event
    late = participants(1)[0]
    answer(late, world["cohort"], event_id, True)
    assert late.user_id not in _answers(app, event_id)
    assert "This event was cancelled." in late.get(path).get_data(as_text=True)


def test_only_the_cohorts_facilitators_cancel(app, world, schedule, role_client):
    assert schedule().status_code == 303
    event_id = _event_id(app)
    path = f"/cohorts/{world['cohort']}/events/{event_id}/cancel"
    for role in ("participant", "patron"):
        assert post_form(role_client(role), path, {"reason": ""}).status_code == 404
    with app.app_context():
        assert not db.session.get(Event, event_id).is_cancelled


# --- two people, one seat -------------------------------------------------------------------


def _take_a_seat(database_url: str, event_id: int, user_id: int, at: float, barrier,
                 results) -> None:
    from dap.accounts.models import User
    from dap.events import services

    with worker_app(database_url, at):
        event = db.session.get(Event, event_id)
        person = db.session.get(User, user_id)
        db.session.commit()
        barrier.wait()
        rsvp = services.respond(event, person, going=True, base_url="http://x")
        results.put(rsvp.status.value)
        db.session.commit()


def test_two_people_answering_for_the_last_seat_at_once_get_one_seat(
        app, world, schedule, participants, database_url):
    assert schedule(capacity="1").status_code == 303
    event_id = _event_id(app)
    first, second = participants(2)
    assert at_once(_take_a_seat, [(database_url, event_id, client.user_id, T0.timestamp())
                                  for client in (first, second)]) == ["going", "waitlisted"]
    assert sorted(_answers(app, event_id).values()) == [RsvpStatus.GOING, RsvpStatus.WAITLISTED]


def test_the_dashboard_lists_what_is_coming_up_with_my_answer(app, world, schedule,
                                                              participants, role_client):
    assert schedule(title="Kick-off party", kind="kick_off").status_code == 303
    kick_off = _event_id(app)
    assert schedule(title="Second workshop", day="2027-03-25").status_code == 303
    cancelled = _event_id(app)
    assert schedule(title="Fourth workshop", day="2027-03-26").status_code == 303
    post_form(role_client("facilitator"),
              f"/cohorts/{world['cohort']}/events/{cancelled}/cancel", {"reason": ""})
    [me] = participants(1)
    answer(me, world["cohort"], kick_off, True)
    page = me.get("/").get_data(as_text=True)
    assert page.index("Kick-off party") < page.index("Fourth workshop")
    assert "Second workshop" not in page  # cancelled
    assert "You’re going" in page
    assert "Kick-off party" in role_client("patron").get("/").get_data(as_text=True)
    assert "Coming up" not in role_client("outsider").get("/").get_data(as_text=True)


def test_the_pages_own_buttons_answer(app, world, schedule, participants):
    """Submit the event page's forms as a browser would: every input they hold, as is."""
    import re

    assert schedule().status_code == 303
    event_id = _event_id(app)
    [me] = participants(1)
    path = f"/cohorts/{world['cohort']}/events/{event_id}"

    def press(label: str):
        page = me.get(path).get_data(as_text=True)
        form = next(f for f in re.findall(r"<form[^>]*>.*?</form>", page, re.S) if label in f)
        action = re.search(r'action="([^"]+)"', form).group(1)
        fields = [(m[0], m[1]) for m in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                                                    form)]
        from werkzeug.datastructures import MultiDict

        return me.post(action, data=MultiDict(fields))

    assert press("I’m going").status_code == 303
    assert _answers(app, event_id) == {me.user_id: RsvpStatus.GOING}
    assert press("Give up my seat").status_code == 303
    assert _answers(app, event_id) == {me.user_id: RsvpStatus.DECLINED}
