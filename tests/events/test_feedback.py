"""Feedback after events: the people who came answer (once each, changeable for two weeks
after the end), are invited once by email, and the cohort's facilitators read the results
without names, per event and per kind of event."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole
from dap.events.models import Event, EventFeedback, EventKind, EventMode, EventStatus
from dap.extensions import db
from dap.jobs import registry
from dap.jobs.runner import run_job
from dap.nudges.models import OutboxMessage
from tests import factories
from tests.conftest import counting_queries, post_form
from tests.events.conftest import T0, answer

#: 20 March 2027, 10:00–12:00 London (GMT): the default event
STARTS = T0 + timedelta(days=5, hours=1)
ENDS = STARTS + timedelta(hours=2)
CLOSES = ENDS + timedelta(days=14)
CHOOSE = "Choose how useful it was, from 1 (not useful) to 5 (very useful)."


def _latest_event_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Event.id).order_by(Event.id.desc()))


def _answers(app, event_id: int) -> dict[int, tuple[int, str, str]]:
    with app.app_context():
        return {f.user_id: (f.usefulness, f.what_worked, f.what_to_change)
                for f in db.session.scalars(select(EventFeedback)
                                            .where(EventFeedback.event_id == event_id))}


def _invitations(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "event_feedback").order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return list(rows)


class Party:
    """An event that took place: who came and how the register marked them."""

    def __init__(self, cohort_id, event_id, attended, partly, walk_in, no_show, facilitator):
        self.cohort_id, self.event_id = cohort_id, event_id
        self.attended, self.partly, self.walk_in, self.no_show = attended, partly, walk_in, no_show
        self.facilitator = facilitator

    @property
    def path(self) -> str:
        return f"/cohorts/{self.cohort_id}/events/{self.event_id}/feedback"

    @property
    def page(self) -> str:
        return f"/cohorts/{self.cohort_id}/events/{self.event_id}"


def mark_register(facilitator, cohort_id, event_id, marks: dict) -> None:
    response = post_form(facilitator, f"/cohorts/{cohort_id}/events/{event_id}/attendance",
                         {f"mark-{client.user_id}": mark for client, mark in marks.items()})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


@pytest.fixture
def party(app, world, schedule, participants, frozen, role_client) -> Party:
    """The default workshop, marked at the door: attended, partly, a walk-in and a no-show
    (the world's participant has no mark). The clock stands at its end."""
    assert schedule().status_code == 303
    event_id = _latest_event_id(app)
    attended, partly, walk_in, no_show = participants(4)
    for client in (attended, partly, no_show):
        answer(client, world["cohort"], event_id, True)
    frozen(STARTS)
    facilitator = role_client("facilitator")
    mark_register(facilitator, world["cohort"], event_id, {
        attended: "attended", partly: "partly", walk_in: "walk_in", no_show: "no_show"})
    frozen(ENDS)
    return Party(world["cohort"], event_id, attended, partly, walk_in, no_show, facilitator)


def give(client, path: str, **fields):
    return post_form(client, path, {"usefulness": "4", "what_worked": "", "what_to_change": "",
                                    **fields})


def _form_fields(page: str) -> list[tuple[str, str]]:
    """What a browser would send from the page's feedback form before anyone picks a level:
    its hidden inputs and its (empty) text areas."""
    form = next(f for f in re.findall(r"<form[^>]*>.*?</form>", page, re.S)
                if 'name="usefulness"' in f)
    hidden = re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="hidden"[^>]*value="([^"]*)"', form)
    hidden += re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)
    areas = [(name, "") for name in re.findall(r'<textarea[^>]*name="([^"]+)"', form)]
    return hidden + areas


# --- answering ----------------------------------------------------------------------------------


def test_someone_who_came_is_prompted_and_answers_through_the_pages_own_form(app, party):
    page = party.attended.get(party.page).get_data(as_text=True)
    assert "How was it? Tell us in a minute" in page
    assert f'href="{party.path}"' in page

    form_page = party.attended.get(party.path)
    assert form_page.status_code == 200
    html = form_page.get_data(as_text=True)
    assert "anonymous" in html
    assert "without your name" in html
    for level, label in enumerate(["Not useful", "A little useful", "Fairly useful", "Useful",
                                   "Very useful"], start=1):
        assert f'value="{level}"' in html
        assert label in html
    fields = dict(_form_fields(html))
    assert set(fields) >= {"csrf_token", "what_worked", "what_to_change"}
    response = party.attended.post(party.path, data={
        **fields, "usefulness": "5", "what_worked": "The hands-on part",
        "what_to_change": "More time for questions"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(party.page)
    assert _answers(app, party.event_id) == {
        party.attended.user_id: (5, "The hands-on part", "More time for questions")}
    page = party.attended.get(party.page).get_data(as_text=True)
    assert "Thank you for your feedback." in page
    assert "How was it? Tell us in a minute" not in page


def test_an_answer_can_be_changed_and_stays_one_per_person(app, party):
    assert give(party.partly, party.path, usefulness="2", what_worked="Slides").status_code == 303
    html = party.partly.get(party.path).get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*value="2"|<input[^>]*value="2"[^>]*checked', html)
    assert "Slides" in html
    assert "Change my feedback" in html
    response = give(party.partly, party.path, usefulness="3", what_to_change="Shorter")
    assert response.status_code == 303
    assert _answers(app, party.event_id) == {party.partly.user_id: (3, "", "Shorter")}
    with app.app_context():
        assert db.session.scalar(select(db.func.count(EventFeedback.id))) == 1


@pytest.mark.parametrize("who", ["attended", "partly", "walk_in"])
def test_everyone_the_register_says_came_may_answer(app, party, who):
    client = getattr(party, who)
    assert give(client, party.path).status_code == 303
    assert set(_answers(app, party.event_id)) == {client.user_id}


@pytest.mark.parametrize("who", ["no_show", "unmarked"])
def test_a_no_show_or_someone_without_a_mark_is_refused(app, party, role_client, who):
    client = party.no_show if who == "no_show" else role_client("participant")
    assert "How was it?" not in client.get(party.page).get_data(as_text=True)
    page = client.get(party.path)
    assert page.status_code == 200
    assert "Feedback is for the people who came." in page.get_data(as_text=True)
    assert 'name="usefulness"' not in page.get_data(as_text=True)
    response = give(client, party.path)
    assert response.status_code == 400
    assert "Feedback is for the people who came." in response.get_data(as_text=True)
    assert _answers(app, party.event_id) == {}


def test_feedback_opens_at_the_end_and_closes_two_weeks_later(app, party, frozen):
    frozen(ENDS - timedelta(minutes=1))
    response = give(party.attended, party.path)
    assert response.status_code == 400
    assert "Feedback opens when the event ends, on 20 March 2027 at 12:00." in (
        response.get_data(as_text=True))
    assert "How was it?" not in party.attended.get(party.page).get_data(as_text=True)
    assert _answers(app, party.event_id) == {}

    frozen(ENDS)
    assert give(party.attended, party.path, usefulness="3").status_code == 303
    frozen(CLOSES - timedelta(seconds=1))
    assert give(party.attended, party.path, usefulness="4").status_code == 303
    frozen(CLOSES)
    response = give(party.attended, party.path, usefulness="1")
    assert response.status_code == 400
    assert "Feedback for this event closed on 3 April 2027 at 13:00, two weeks after it ended." \
        in response.get_data(as_text=True)  # 12:00 GMT is 13:00 BST after the clocks change
    assert _answers(app, party.event_id)[party.attended.user_id][0] == 4
    assert "Thank you for your feedback" not in party.attended.get(party.page).get_data(
        as_text=True)  # the prompt is gone once it closed


@pytest.mark.parametrize("raw", ["0", "6", "-1", "abc", "", "   ", "4.5", "١", "99999999999999",
                                 "4; DROP TABLE event_feedback"])
def test_a_usefulness_that_is_not_1_to_5_is_refused_with_a_message(app, party, raw):
    response = give(party.attended, party.path, usefulness=raw)
    assert response.status_code == 400
    assert CHOOSE in response.get_data(as_text=True)
    assert _answers(app, party.event_id) == {}


def test_a_missing_usefulness_is_refused_with_a_message(app, party):
    response = post_form(party.attended, party.path, {"what_worked": "Everything"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert CHOOSE in body
    assert "Everything" in body  # what was typed is kept
    assert _answers(app, party.event_id) == {}


@pytest.mark.parametrize("name", ["what_worked", "what_to_change"])
def test_written_answers_over_the_limit_are_refused(app, party, name):
    response = give(party.attended, party.path, **{name: "x" * 2001})
    assert response.status_code == 400
    assert "Use at most 2000 characters (this has 2001)." in response.get_data(as_text=True)
    assert _answers(app, party.event_id) == {}
    assert give(party.attended, party.path, **{name: "x" * 2000}).status_code == 303


def test_unicode_and_markup_are_kept_as_text_and_shown_escaped(app, party):
    words = "Très utile 👍 — 李雷 <script>alert(1)</script>"
    assert give(party.attended, party.path, what_worked=words + "\x00").status_code == 303
    assert _answers(app, party.event_id)[party.attended.user_id][1] == words
    body = party.facilitator.get(party.path + "/results").get_data(as_text=True)
    assert "Très utile 👍 — 李雷 &lt;script&gt;" in body
    assert "<script>alert(1)</script>" not in body


def test_without_the_csrf_token_nothing_is_stored(app, party):
    response = party.attended.post(party.path, data={"usefulness": "5"})
    assert response.status_code == 400
    assert _answers(app, party.event_id) == {}


def test_a_cancelled_event_takes_no_feedback(app, party, frozen):
    frozen(STARTS + timedelta(minutes=30))  # the register is marked; cancel before the end
    assert post_form(party.facilitator, party.page + "/cancel", {"reason": ""}).status_code == 303
    frozen(ENDS + timedelta(hours=1))
    response = give(party.attended, party.path)
    assert response.status_code == 400
    assert "This event was cancelled, so there is no feedback to give." in (
        response.get_data(as_text=True))
    assert "How was it?" not in party.attended.get(party.page).get_data(as_text=True)
    assert _answers(app, party.event_id) == {}


def test_an_archived_cohort_takes_no_feedback(app, party):
    with app.app_context():
        db.session.get(Cohort, party.cohort_id).is_archived = True
        db.session.commit()
    response = give(party.attended, party.path)
    assert response.status_code == 400
    assert "This cohort is archived: it takes no more feedback." in response.get_data(as_text=True)
    assert _answers(app, party.event_id) == {}


@pytest.mark.parametrize("role", ["patron", "facilitator", "admin", "outsider"])
def test_only_the_cohorts_participants_have_the_form(app, party, role, login_as, role_client):
    if role == "outsider":
        with app.app_context():
            client = login_as(db.session.scalar(select(User).where(User.name == "Olly Outsider")))
    else:
        client = role_client(role)
    assert client.get(party.path).status_code == 404
    assert give(client, party.path).status_code == 404
    assert _answers(app, party.event_id) == {}


@pytest.fixture
def other_cohort(app, login_as):
    """Another cohort with a participant (signed in) and an event that took place."""
    with app.app_context():
        cohort = factories.make_cohort()
        person = factories.make_user()
        factories.add_member(cohort, person, CohortRole.PARTICIPANT)
        other = Event(cohort_id=cohort.id, kind=EventKind.WORKSHOP, title="Elsewhere",
                      starts_at=STARTS, ends_at=ENDS, mode=EventMode.ONLINE, uid="other@dap")
        db.session.add(other)
        db.session.commit()
        ids = {"cohort": cohort.id, "event": other.id}
        person = db.session.get(User, person.id)
        db.session.expunge_all()
    client = login_as(person)
    return ids, client


def test_another_cohorts_participant_and_event_are_404(app, party, other_cohort):
    ids, outsider = other_cohort
    assert outsider.get(party.path).status_code == 404
    assert give(outsider, party.path).status_code == 404
    elsewhere = f"/cohorts/{party.cohort_id}/events/{ids['event']}/feedback"
    assert party.attended.get(elsewhere).status_code == 404
    assert give(party.attended, elsewhere).status_code == 404
    assert party.facilitator.get(elsewhere + "/results").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(db.func.count(EventFeedback.id))) == 0


# --- results ------------------------------------------------------------------------------------


def test_the_facilitators_see_the_results_without_names(app, party, role_client):
    give(party.attended, party.path, usefulness="5", what_worked="zebra crossing example",
         what_to_change="Nothing")
    give(party.partly, party.path, usefulness="3", what_worked="Apples and pears")
    page = party.facilitator.get(party.page).get_data(as_text=True)
    assert "2 answers from 3 people who came; mean usefulness 4.0 out of 5." in page
    response = party.facilitator.get(party.path + "/results")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "2 from 3 people who came" in body
    assert "4.0 out of 5" in body
    cells = re.findall(r'<th scope="row">(\d) – [^<]+</th><td>(\d+)</td>', body)
    assert cells == [("1", "0"), ("2", "0"), ("3", "1"), ("4", "0"), ("5", "1")]
    assert body.index("Apples and pears") < body.index("zebra crossing example")  # A to Z
    assert "Nothing" in body
    with app.app_context():
        names = [u.name for u in db.session.scalars(select(User).where(
            User.id.in_([party.attended.user_id, party.partly.user_id])))]
    assert not any(name in body for name in names)
    for role in ("participant", "patron"):
        assert role_client(role).get(party.path + "/results").status_code == 404
    assert party.attended.get(party.path + "/results").status_code == 404


def test_results_before_any_answer(party):
    body = party.facilitator.get(party.path + "/results").get_data(as_text=True)
    assert "0 from 3 people who came" in body
    assert "Nothing written yet." in body



def _read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_feedback_per_kind_of_event_and_its_csv(app, party, schedule, frozen):
    give(party.attended, party.path, usefulness="5")
    give(party.partly, party.path, usefulness="2")
    # a kick-off a week later, with a title a spreadsheet would run
    frozen(T0)
    assert schedule(kind="kick_off", title="=HYPERLINK(\"x\")", day="2027-03-27").status_code == 303
    kick_off = _latest_event_id(app)
    frozen(STARTS + timedelta(days=7))
    mark_register(party.facilitator, party.cohort_id, kick_off, {party.walk_in: "walk_in"})
    frozen(ENDS + timedelta(days=7))
    give(party.walk_in, f"/cohorts/{party.cohort_id}/events/{kick_off}/feedback", usefulness="4")

    response = party.facilitator.get(f"/cohorts/{party.cohort_id}/events/feedback")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)</td>'
                      r'<td>(\d+)</td>\s*<td>([^<]+)</td></tr>', body)
    assert rows == [("Kick-off", "1", "1", "1", "4.0"), ("Workshop", "1", "3", "2", "3.5"),
                    ("Conversation", "0", "0", "0", "—"), ("Meet-up", "0", "0", "0", "—"),
                    ("Webinar", "0", "0", "0", "—")]
    assert f"/cohorts/{party.cohort_id}/events/{kick_off}/feedback/results" in body

    exported = party.facilitator.get(f"/cohorts/{party.cohort_id}/events/feedback.csv")
    assert exported.status_code == 200
    assert exported.mimetype == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"]
    assert _read_csv(exported) == [
        {"kind": "Kick-off", "event": "'=HYPERLINK(\"x\")", "starts": "2027-03-27T10:00",
         "came": "1", "answers": "1", "mean_usefulness": "4.0", "answers_1": "0",
         "answers_2": "0", "answers_3": "0", "answers_4": "1", "answers_5": "0"},
        {"kind": "Workshop", "event": "Writing for screens", "starts": "2027-03-20T10:00",
         "came": "3", "answers": "2", "mean_usefulness": "3.5", "answers_1": "0",
         "answers_2": "1", "answers_3": "0", "answers_4": "0", "answers_5": "1"}]


def test_events_still_to_come_and_cancelled_ones_are_left_out_of_the_summary(app, party, schedule,
                                                                              frozen):
    frozen(T0)
    assert schedule(kind="webinar", title="Later", mode="online", venue="",
                    day="2027-03-26").status_code == 303
    frozen(ENDS)
    body = party.facilitator.get(f"/cohorts/{party.cohort_id}/events/feedback").get_data(
        as_text=True)
    assert "Later" not in body
    assert ("Webinar", "0") in re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td>', body)


def test_the_summary_takes_the_same_number_of_queries_however_many_events(app, party, schedule,
                                                                          frozen):
    paths = [f"/cohorts/{party.cohort_id}/events/feedback",
             f"/cohorts/{party.cohort_id}/events/feedback.csv"]

    def count() -> list[int]:
        counts = []
        for path in paths:
            with counting_queries(app) as statements:
                assert party.facilitator.get(path).status_code == 200
            counts.append(len(statements))
        return counts

    party.facilitator.get(paths[0])  # warm up
    few = count()
    frozen(T0)
    for day in ("2027-03-21", "2027-03-22", "2027-03-23"):
        assert schedule(day=day, kind="meet_up").status_code == 303
    frozen(ENDS + timedelta(days=4))
    event_ids = list(range(party.event_id + 1, party.event_id + 4))
    for event_id in event_ids:
        frozen(STARTS + timedelta(days=event_id - party.event_id))
        mark_register(party.facilitator, party.cohort_id, event_id, {party.walk_in: "walk_in"})
        frozen(ENDS + timedelta(days=event_id - party.event_id))
        give(party.walk_in, f"/cohorts/{party.cohort_id}/events/{event_id}/feedback")
    frozen(ENDS + timedelta(days=4))
    assert "Meet-up" in party.facilitator.get(paths[0]).get_data(as_text=True)
    assert count() == few


@pytest.mark.parametrize("suffix", ["/events/feedback", "/events/feedback.csv"])
@pytest.mark.parametrize("role", ["participant", "patron"])
def test_the_summary_is_for_the_facilitators(party, role_client, suffix, role):
    assert role_client(role).get(f"/cohorts/{party.cohort_id}{suffix}").status_code == 404


# --- the invitation -----------------------------------------------------------------------------


def _run_invitations(app) -> str:
    run = run_job(app, registry.job_by_id("event_feedback"), runner="test")
    assert run.status == "ok", run.error
    return run.result


def test_the_job_invites_each_person_who_came_once(app, party, frozen):
    give(party.partly, party.path)  # already answered: not invited
    assert _run_invitations(app) == "queued 2 feedback invitations"
    assert _run_invitations(app) == "queued 0 feedback invitations"
    frozen(ENDS + timedelta(days=3))
    assert _run_invitations(app) == "queued 0 feedback invitations"
    sent = _invitations(app)
    with app.app_context():
        emails = {db.session.get(User, c.user_id).email: c.user_id
                  for c in (party.attended, party.walk_in)}
    assert sorted(m.to_addr for m in sent) == sorted(emails)
    assert {m.dedup_key for m in sent} == {
        f"event:{party.event_id}:feedback:{user_id}" for user_id in emails.values()}
    message = sent[0]
    assert message.subject == "How was Writing for screens?"
    link = f"{app.config['BASE_URL']}/cohorts/{party.cohort_id}/events/{party.event_id}/feedback"
    assert link in message.body_text
    assert f'href="{link}"' in message.body_html
    assert "without your name" in message.body_text
    assert "Saturday 3 April at 13:00" in message.body_text
    assert "Give feedback" in message.body_html


def test_a_second_pass_renders_and_stores_nothing(app, party):
    """People already invited are left out in SQL: the pass does not even try to queue."""
    assert _run_invitations(app) == "queued 3 feedback invitations"
    with counting_queries(app) as statements:
        assert _run_invitations(app) == "queued 0 feedback invitations"
    assert not [s for s in statements if "outbox_messages" in s and s.startswith("INSERT")]


def test_the_job_waits_for_the_end_and_stops_after_two_weeks(app, party, frozen):
    frozen(ENDS - timedelta(minutes=1))
    assert _run_invitations(app) == "queued 0 feedback invitations"
    frozen(CLOSES)
    assert _run_invitations(app) == "queued 0 feedback invitations"
    frozen(CLOSES - timedelta(minutes=1))
    assert _run_invitations(app) == "queued 3 feedback invitations"


def test_the_job_skips_cancelled_events_and_archived_cohorts(app, party, frozen):
    with app.app_context():
        db.session.get(Cohort, party.cohort_id).is_archived = True
        db.session.commit()
    assert _run_invitations(app) == "queued 0 feedback invitations"
    with app.app_context():
        db.session.get(Cohort, party.cohort_id).is_archived = False
        db.session.get(Event, party.event_id).status = EventStatus.CANCELLED
        db.session.commit()
    assert _run_invitations(app) == "queued 0 feedback invitations"
    assert _invitations(app) == []


def test_the_events_page_links_the_facilitators_to_the_feedback(party, role_client):
    link = f'href="/cohorts/{party.cohort_id}/events/feedback"'
    assert link in party.facilitator.get(f"/cohorts/{party.cohort_id}/events").get_data(
        as_text=True)
    assert link not in party.attended.get(f"/cohorts/{party.cohort_id}/events").get_data(
        as_text=True)
