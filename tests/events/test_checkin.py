"""Self check-in: the facilitator's screen shows a code that changes every minute (and a QR
code of the check-in address); participants check themselves in with it. Codes are good for
a few minutes, only for their event, only while the register is open; a mark on the register
is kept; the screen and its feed are the cohort's managers' only."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from dap.audit.models import AuditEvent
from dap.events import checkin
from dap.events.models import Attendance, AttendanceMark, Event
from dap.extensions import db
from tests.conftest import post_form
from tests.events.conftest import T0, answer

#: 20 March 2027, 10:00 London (GMT): the default event's start, on a minute's boundary
STARTS = T0 + timedelta(days=5, hours=1)
CODE_RE = re.compile(r"^[2-9A-HJ-NP-Z]{8}$")


def _event_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Event.id).order_by(Event.id.desc()))


def _rows(app, event_id: int) -> dict[int, tuple[AttendanceMark, int | None]]:
    with app.app_context():
        return {a.user_id: (a.mark, a.recorded_by_id) for a in db.session.scalars(
            select(Attendance).where(Attendance.event_id == event_id))}


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


class Door:
    """An event at its start: two participants going, one who did not answer."""

    def __init__(self, app, world, event_id, facilitator, people):
        self.app, self.world, self.event_id = app, world, event_id
        self.facilitator = facilitator
        self.going, self.also_going, self.not_answered = people
        self.base = f"/cohorts/{world['cohort']}/events/{event_id}"
        self.path = self.base + "/check-in"

    def code(self) -> str:
        """The code, read off the facilitator's screen."""
        page = self.facilitator.get(self.path + "/show").get_data(as_text=True)
        display = re.search(r'data-live="display">([^<]+)<', page).group(1)
        return display.replace(" ", "")

    def check_in(self, client, code):
        return post_form(client, self.path, {"code": code})


@pytest.fixture
def door(app, world, schedule, participants, frozen, role_client) -> Door:
    assert schedule().status_code == 303
    event_id = _event_id(app)
    people = participants(3)
    answer(people[0], world["cohort"], event_id, True)
    answer(people[1], world["cohort"], event_id, True)
    frozen(STARTS)
    return Door(app, world, event_id, role_client("facilitator"), people)


def _page_form(page: str, label: str) -> tuple[str, MultiDict]:
    """The action and inputs of the page's form holding ``label``, as a browser sends them."""
    form = next(f for f in re.findall(r"<form[^>]*>.*?</form>", page, re.S) if label in f)
    action = unescape(re.search(r'action="([^"]+)"', form).group(1))
    fields = re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)
    return action, MultiDict([(name, unescape(value)) for name, value in fields])


# --- the facilitator's screen -------------------------------------------------------------------


def test_the_screen_shows_a_qr_code_of_the_check_in_address_and_the_code(app, door):
    response = door.facilitator.get(door.path + "/show")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    code = door.code()
    assert CODE_RE.match(code)
    assert f"{code[:4]} {code[4:]}" in page  # large type, for people who cannot scan
    url = f"{app.config['BASE_URL']}{door.path}?code={code}"
    assert str(checkin.qr_svg(url)) in page  # the QR code holds the check-in address
    # inline, nothing fetched from elsewhere; refreshed by a script of our own, or without it
    assert '<svg viewBox="0 0' in page
    sources = re.findall(r'src="([^"]+)"', page)
    assert "/static/js/checkin.js" in sources
    # (and offline.js, on every signed-in page: docs/OFFLINE.md)
    assert set(sources) <= {"/static/js/checkin.js", "/static/js/offline.js"}
    assert re.search(r'<noscript><meta http-equiv="refresh" content="(\d+)"></noscript>', page)
    assert 'data-url="' + door.path + '/code"' in page
    script = door.facilitator.get("/static/js/checkin.js")
    script.close()  # static files are streamed from an open file
    assert script.status_code == 200
    assert "<strong data-live=\"present\">0</strong> checked in" in page


def test_the_code_changes_every_minute_and_the_feed_gives_the_new_one(app, door, frozen):
    feed = door.facilitator.get(door.path + "/code")
    assert feed.status_code == 200
    assert feed.headers["Cache-Control"] == "no-store"
    live = feed.get_json()
    assert live["open"] is True
    assert live["code"] == door.code()
    assert live["display"] == f"{live['code'][:4]} {live['code'][4:]}"
    assert live["url"] == f"{app.config['BASE_URL']}{door.path}?code={live['code']}"
    assert live["svg"] == str(checkin.qr_svg(live["url"]))
    assert live["seconds_left"] == 60
    frozen(STARTS + timedelta(seconds=45))
    assert door.facilitator.get(door.path + "/code").get_json()["seconds_left"] == 15
    codes = set()
    for minute in range(10):
        frozen(STARTS + timedelta(minutes=minute, seconds=30))
        codes.add(door.facilitator.get(door.path + "/code").get_json()["code"])
    assert len(codes) == 10
    assert all(CODE_RE.match(code) for code in codes)


def test_the_screen_counts_who_is_checked_in(app, door):
    door.check_in(door.going, door.code())
    post_form(door.facilitator, door.base + "/attendance",
              {f"mark-{door.also_going.user_id}": "no_show",
               f"mark-{door.not_answered.user_id}": "walk_in"})
    live = door.facilitator.get(door.path + "/code").get_json()
    assert (live["present"], live["by_themselves"]) == (2, 1)


@pytest.mark.parametrize("role", ["participant", "patron"])
def test_only_the_cohorts_managers_see_the_screen(door, role, role_client):
    client = role_client(role)
    assert client.get(door.path + "/show").status_code == 404
    assert client.get(door.path + "/code").status_code == 404
    assert door.going.get(door.path + "/show").status_code == 404


def test_the_register_links_to_the_screen_and_shows_who_checked_in_themselves(app, door):
    assert door.check_in(door.going, door.code()).status_code == 303
    post_form(door.facilitator, door.base + "/attendance",
              {f"mark-{door.also_going.user_id}": "attended"})
    page = door.facilitator.get(door.base + "/attendance").get_data(as_text=True)
    assert f'href="{door.path}/show"' in page
    rows = {m[0]: m[1] for m in re.findall(
        r'<label for="mark-(\d+)">(.*?)</label>', page, re.S)}
    assert "(checked in themselves)" in rows[str(door.going.user_id)]
    assert "(checked in themselves)" not in rows[str(door.also_going.user_id)]


# --- checking in --------------------------------------------------------------------------------


def test_someone_going_checks_in_from_the_qr_code_and_is_marked_attended(app, door):
    code = door.code()
    page = door.going.get(f"{door.path}?code={code}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    action, fields = _page_form(page.get_data(as_text=True), "Check me in")
    assert fields["code"] == code  # the QR code's, ready to send
    response = door.going.post(action, data=fields)
    assert response.status_code == 303
    assert response.headers["Location"] == door.base
    assert "You’re checked in. Welcome!" in _text(door.going.get(door.base))
    assert _rows(app, door.event_id) == {
        door.going.user_id: (AttendanceMark.ATTENDED, door.going.user_id)}
    with app.app_context():
        logged = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "event.checked_in"))
        assert logged.actor_id == door.going.user_id
        assert logged.details == {"event": door.event_id, "mark": "attended"}


def test_someone_not_going_types_the_code_on_the_event_page_and_is_a_walk_in(app, door):
    page = door.not_answered.get(door.base).get_data(as_text=True)
    assert '<h2 id="check-in-heading">Check in</h2>' in page
    action, fields = _page_form(page, "Check me in")
    fields["code"] = door.code()
    assert door.not_answered.post(action, data=fields).status_code == 303
    assert _rows(app, door.event_id) == {
        door.not_answered.user_id: (AttendanceMark.WALK_IN, door.not_answered.user_id)}
    after = _text(door.not_answered.get(door.base))
    assert "You’re checked in." in after
    assert "Check me in" not in after


def test_checking_in_twice_changes_nothing(app, door, frozen):
    code = door.code()
    assert door.check_in(door.going, code).status_code == 303
    with app.app_context():
        first = db.session.scalar(select(Attendance.recorded_at))
    frozen(STARTS + timedelta(minutes=1))
    response = door.check_in(door.going, door.code())
    assert response.status_code == 303
    assert "You’re checked in." in _text(door.going.get(door.base))
    with app.app_context():
        assert db.session.scalar(select(Attendance.recorded_at)) == first
        assert len(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "event.checked_in")).all()) == 1
    page = _text(door.going.get(f"{door.path}?code={code}"))
    assert "You’re checked in." in page
    assert "Check me in" not in page


def test_a_double_tap_that_races_past_the_first_check_in_changes_nothing(app, door, monkeypatch):
    """Two requests at once both find no mark; the second insert meets the unique
    constraint, and that person is simply checked in."""
    code = door.code()
    assert door.check_in(door.going, code).status_code == 303
    real = checkin.mark_of
    calls: list[int] = []

    def first_sees_nothing(event, person):
        calls.append(1)
        return None if len(calls) == 1 else real(event, person)

    monkeypatch.setattr(checkin, "mark_of", first_sees_nothing)
    response = door.check_in(door.going, code)
    assert response.status_code == 303
    assert len(calls) == 2  # the race was run, then the row that won was read
    monkeypatch.undo()
    assert "You’re checked in." in _text(door.going.get(door.base))
    assert _rows(app, door.event_id) == {
        door.going.user_id: (AttendanceMark.ATTENDED, door.going.user_id)}
    with app.app_context():
        assert len(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "event.checked_in")).all()) == 1


@pytest.mark.parametrize(("mark", "message"), [
    ("partly", "You’re checked in."),
    ("no_show", "The register has you down as not there: please have a word with the facilitator."),
])
def test_a_mark_the_facilitator_made_is_kept(app, door, mark, message):
    post_form(door.facilitator, door.base + "/attendance", {f"mark-{door.going.user_id}": mark})
    facilitator_id = door.world["facilitator"]
    assert door.check_in(door.going, door.code()).status_code == 303
    assert message in _text(door.going.get(door.base))
    assert _rows(app, door.event_id) == {
        door.going.user_id: (AttendanceMark(mark), facilitator_id)}


@pytest.mark.parametrize("later", [timedelta(seconds=59), timedelta(minutes=1),
                                   timedelta(minutes=3), timedelta(minutes=3, seconds=59)])
def test_a_code_stays_good_for_three_minutes_after_its_minute(app, door, frozen, later):
    code = door.code()
    frozen(STARTS + later)
    assert door.check_in(door.going, code).status_code == 303
    assert door.going.user_id in _rows(app, door.event_id)


@pytest.mark.parametrize("later", [timedelta(minutes=4), timedelta(minutes=5), timedelta(days=1)])
def test_an_old_code_is_refused(app, door, frozen, later):
    code = door.code()
    frozen(STARTS + later)
    response = door.check_in(door.going, code)
    assert response.status_code == 400
    assert checkin.WRONG_CODE in _text(response)
    assert _rows(app, door.event_id) == {}


def test_next_minutes_code_is_not_good_yet(app, door, frozen):
    frozen(STARTS + timedelta(minutes=1))
    code = door.code()
    frozen(STARTS + timedelta(seconds=59))
    assert door.check_in(door.going, code).status_code == 400


@pytest.mark.parametrize("typed", [
    lambda code: code.lower(),
    lambda code: f"  {code[:4]} {code[4:]} ",
    lambda code: f"{code[:4]}-{code[4:].lower()}",
])
def test_a_code_is_read_in_any_case_with_spaces_or_a_dash(app, door, typed):
    assert door.check_in(door.going, typed(door.code())).status_code == 303
    assert door.going.user_id in _rows(app, door.event_id)


@pytest.mark.parametrize(("typed", "message"), [
    ("", "Enter the code on the facilitator’s screen."),
    ("   ", "Enter the code on the facilitator’s screen."),
    ("wrong", checkin.WRONG_CODE),
    ("X" * 10_000, checkin.WRONG_CODE),
    ("ÄBÇDÉFGH", checkin.WRONG_CODE),
    ("😀" * 8, checkin.WRONG_CODE),
    ("ABCD\x00EFG", checkin.WRONG_CODE),
    ("O0I1O0I1", checkin.WRONG_CODE),  # look-alikes are not in the alphabet
    ("2345678", checkin.WRONG_CODE),  # one short
    ("234567892", checkin.WRONG_CODE),  # one long
])
def test_bad_codes_are_refused_with_a_message(app, door, typed, message):
    response = door.check_in(door.going, typed)
    assert response.status_code == 400
    page = _text(response)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert _rows(app, door.event_id) == {}


def test_a_wrong_code_of_the_right_shape_is_refused(app, door):
    code = door.code()
    wrong = ("3" if code[0] == "2" else "2") + code[1:]
    assert door.check_in(door.going, wrong).status_code == 400
    assert _rows(app, door.event_id) == {}


def test_another_events_code_does_not_fit(app, door, schedule):
    assert schedule(title="Another one", starts="10:30").status_code == 303
    other_id = _event_id(app)
    assert other_id != door.event_id
    other = Door(app, door.world, other_id, door.facilitator,
                 (door.going, door.also_going, door.not_answered))
    response = door.check_in(door.going, other.code())
    assert response.status_code == 400
    assert checkin.WRONG_CODE in _text(response)
    assert _rows(app, door.event_id) == {}


def test_the_code_depends_on_the_secret_key_the_event_and_the_minute(app, door):
    with app.app_context():
        event = db.session.get(Event, door.event_id)
        minute = checkin.minute_of(STARTS)
        code = checkin.code_for(event, minute, secret_key="one")
        assert code == checkin.code_for(event, minute, secret_key="one")
        assert code != checkin.code_for(event, minute, secret_key="two")
        assert code != checkin.code_for(event, minute + 1, secret_key="one")
        event.uid = "another@dap"
        assert code != checkin.code_for(event, minute, secret_key="one")


def test_a_page_with_a_huge_code_in_its_address_does_not_repeat_it(door):
    page = door.going.get(door.path + "?code=" + "A" * 10_000)
    assert page.status_code == 200
    assert "A" * 100 not in page.get_data(as_text=True)


@pytest.mark.parametrize("role", ["facilitator", "patron", "admin"])
def test_only_participants_check_in(app, door, role, role_client):
    client = role_client(role)
    assert client.get(door.path).status_code == 403
    assert door.check_in(client, door.code()).status_code == 403
    assert _rows(app, door.event_id) == {}
    assert '<h2 id="check-in-heading">' not in client.get(door.base).get_data(as_text=True)


def test_an_outsider_or_another_cohorts_participant_gets_404(app, door, login_as):
    from dap.accounts.models import User
    from dap.cohorts.models import CohortRole
    from tests import factories

    with app.app_context():
        other = factories.make_cohort()
        stranger = factories.make_user()
        factories.add_member(other, stranger, CohortRole.PARTICIPANT)
        db.session.commit()
        other_id = other.id
        people = [db.session.get(User, stranger.id), db.session.get(User, door.world["outsider"])]
        db.session.expunge_all()
    stranger_client, outsider_client = (login_as(person) for person in people)
    code = door.code()
    assert door.check_in(stranger_client, code).status_code == 404
    assert post_form(stranger_client, f"/cohorts/{other_id}/events/{door.event_id}/check-in",
                     {"code": code}).status_code == 404
    assert door.check_in(outsider_client, code).status_code == 404
    assert stranger_client.get(f"{door.path}?code={code}").status_code == 404
    assert _rows(app, door.event_id) == {}


def test_a_cancelled_event_takes_no_check_ins(app, door, frozen):
    code = door.code()
    frozen(STARTS - timedelta(hours=2))
    assert post_form(door.facilitator, door.base + "/cancel", {"reason": ""}).status_code == 303
    frozen(STARTS)
    response = door.check_in(door.going, code)
    assert response.status_code == 400
    assert "This event was cancelled: there is nothing to check in to." in _text(response)
    assert _rows(app, door.event_id) == {}
    screen = _text(door.facilitator.get(door.path + "/show"))
    assert "This event was cancelled" in screen
    assert "<svg" not in screen
    assert door.facilitator.get(door.path + "/code").get_json() == {"open": False}
    assert "Check me in" not in _text(door.going.get(door.base))


@pytest.mark.parametrize("when", [STARTS - timedelta(hours=1, seconds=1),
                                  STARTS + timedelta(hours=2, days=14, seconds=1)])
def test_no_check_ins_before_the_register_opens_or_after_it_closes(app, door, frozen, when):
    frozen(STARTS - timedelta(hours=1))  # the register has just opened: a code is shown
    code = door.code()
    frozen(when)
    response = door.check_in(door.going, code)
    assert response.status_code == 400
    assert "Check-in opens an hour before the start and closes two weeks after the end." \
        in _text(response)
    assert _rows(app, door.event_id) == {}
    screen = _text(door.facilitator.get(door.path + "/show"))
    assert "Self check-in is open while the register is" in screen
    assert "<svg" not in screen
    assert door.facilitator.get(door.path + "/code").get_json() == {"open": False}
    assert '<h2 id="check-in-heading">' not in door.going.get(door.base).get_data(as_text=True)


def test_check_in_opens_with_the_register(app, door, frozen):
    frozen(STARTS - timedelta(hours=1))
    assert door.check_in(door.going, door.code()).status_code == 303
    assert door.going.user_id in _rows(app, door.event_id)


def test_a_check_in_without_its_csrf_token_is_400(app, door):
    response = door.going.post(door.path, data={"code": door.code()})
    assert response.status_code == 400
    assert _rows(app, door.event_id) == {}


def test_signed_out_people_sign_in_and_come_back_to_the_same_address(app, door):
    from tests import factories

    code = door.code()
    client = app.test_client()
    response = client.get(f"{door.path}?code={code}")
    assert response.status_code == 302
    login = response.headers["Location"]
    assert login.startswith("/login?next=")
    with app.app_context():
        from dap.accounts.models import User

        email = db.session.get(User, door.going.user_id).email
    signed_in = post_form(client, login, {"email": email, "password": factories.PASSWORD})
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == f"{door.path}?code={code}"
    page = client.get(signed_in.headers["Location"]).get_data(as_text=True)
    action, fields = _page_form(page, "Check me in")
    assert client.post(action, data=fields).status_code == 303
    assert door.going.user_id in _rows(app, door.event_id)


def test_guessing_is_rate_limited(app, door):
    for _ in range(10):
        assert door.check_in(door.going, "ABCDEFGH").status_code == 400
    assert door.check_in(door.going, door.code()).status_code == 429
    assert _rows(app, door.event_id) == {}
    # someone else on the same network is not held up
    assert door.check_in(door.also_going, door.code()).status_code == 303
