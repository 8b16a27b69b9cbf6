"""The month view: a grid of the cohort's local days, weeks from Monday, each event on the
day it starts there; bad months are a 404; two queries however full the month is."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from dap.events.models import Event, EventKind, EventMode, Rsvp, RsvpStatus
from dap.extensions import db
from tests.conftest import counting_queries, post_form
from tests.events.conftest import T0, answer


@dataclass
class Cell:
    date: str = ""
    attrs: dict = field(default_factory=dict)
    text: str = ""
    links: list[str] = field(default_factory=list)
    #: the class of each event's list item, in order
    items: list[str] = field(default_factory=list)
    times: list[str] = field(default_factory=list)  # each event's start, as in datetime=""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _Grid(HTMLParser):
    """The cells of the month table in page order, plus its caption and column headers."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[Cell] = []
        self.headers: list[dict] = []
        self.caption = ""
        self._cell: Cell | None = None
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "month-day" in (attrs.get("class") or ""):
            self._cell = Cell(attrs=attrs)
        elif tag == "caption":
            self._in = "caption"
        elif tag == "th":
            self.headers.append(attrs)
        elif self._cell is not None:
            if tag == "time":
                if self._cell.date:
                    self._cell.times.append(attrs["datetime"])
                else:
                    self._cell.date = attrs["datetime"]
            elif tag == "a":
                self._cell.links.append(attrs["href"])
            elif tag == "li":
                self._cell.items.append(attrs.get("class") or "")

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._cell.text = " ".join(self._cell.text.split())
            self.cells.append(self._cell)
            self._cell = None
        elif tag == "caption":
            self._in = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.text += data
        elif self._in == "caption":
            self.caption += data


def grid(response) -> _Grid:
    assert response.status_code == 200, response.status_code
    parser = _Grid()
    parser.feed(response.get_data(as_text=True))
    return parser


def by_date(parsed: _Grid) -> dict[str, Cell]:
    return {cell.date: cell for cell in parsed.cells}


def month_path(world, m: str | None = None) -> str:
    path = f"/cohorts/{world['cohort']}/events/month"
    return path if m is None else f"{path}?m={m}"


def event_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Event.id).order_by(Event.starts_at, Event.id)))


# --- the grid -----------------------------------------------------------------------------------


def test_the_list_links_to_this_month_which_is_a_table_of_weeks_from_monday(world, role_client):
    client = role_client("participant")
    listing = client.get(f"/cohorts/{world['cohort']}/events").get_data(as_text=True)
    link = re.search(r'href="([^"]+/events/month)">See the events month by month', listing)
    page = client.get(link.group(1))
    parsed = grid(page)
    html = page.get_data(as_text=True)
    assert parsed.caption.strip() == "March 2027"  # T0 is 15 March 2027
    assert [h.get("scope") for h in parsed.headers] == ["col"] * 7
    assert re.findall(r'<th scope="col">.*?(\w+day)</span></th>', html) == [
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    # 1 March 2027 is a Monday; 31 March a Wednesday, so the grid runs to Sunday 4 April
    dates = [cell.date for cell in parsed.cells]
    assert len(dates) == 35
    assert (dates[0], dates[-1]) == ("2027-03-01", "2027-04-04")
    outside = {cell.date for cell in parsed.cells if "is-outside" in cell.classes}
    assert outside == {"2027-04-01", "2027-04-02", "2027-04-03", "2027-04-04"}
    assert f'href="/cohorts/{world["cohort"]}/events"' in html  # back to the list
    assert "No events in March 2027." in html


def test_a_month_starting_midweek_begins_with_the_monday_before(world, role_client):
    parsed = grid(role_client("participant").get(month_path(world, "2027-04")))
    assert parsed.caption.strip() == "April 2027"
    cells = parsed.cells
    assert (cells[0].date, cells[-1].date) == ("2027-03-29", "2027-05-02")  # Thu 1 to Fri 30
    assert [c.date for c in cells if "is-outside" not in c.classes][0] == "2027-04-01"
    assert sum("is-outside" not in c.classes for c in cells) == 30


def test_today_is_marked_once_and_only_in_its_own_month(world, role_client):
    client = role_client("participant")
    current = [c.date for c in grid(client.get(month_path(world))).cells
               if c.attrs.get("aria-current") == "date"]
    assert current == ["2027-03-15"]
    assert not [c for c in grid(client.get(month_path(world, "2027-05"))).cells
                if "aria-current" in c.attrs]


def test_this_month_is_the_cohorts_month_not_utcs(world, role_client, frozen):
    frozen(datetime(2027, 3, 31, 23, 30, tzinfo=UTC))  # 00:30 on 1 April in London (BST)
    parsed = grid(role_client("participant").get(month_path(world)))
    assert parsed.caption.strip() == "April 2027"
    assert [c.date for c in parsed.cells if "aria-current" in c.attrs] == ["2027-04-01"]


def test_previous_and_next_months_are_linked(world, role_client):
    html = role_client("patron").get(month_path(world, "2027-01")).get_data(as_text=True)
    path = month_path(world)
    assert re.search(rf'rel="prev" href="{re.escape(path)}\?m=2026-12">← December 2026', html)
    assert re.search(rf'rel="next" href="{re.escape(path)}\?m=2027-02">February 2027 →', html)
    assert f'href="{path}">This month</a>' in html
    here = role_client("patron").get(path).get_data(as_text=True)
    assert "This month</a>" not in here


# --- events on their local day ------------------------------------------------------------------


def test_each_event_is_a_link_with_its_local_time_and_title(app, world, schedule, role_client):
    assert schedule(title="Writing for screens", day="2027-03-20").status_code == 303
    [event_id] = event_ids(app)
    cells = by_date(grid(role_client("participant").get(month_path(world))))
    cell = cells["2027-03-20"]
    assert cell.links == [f"/cohorts/{world['cohort']}/events/{event_id}"]
    assert "10:00 Writing for screens" in cell.text
    assert "(cancelled)" not in cell.text
    assert "has-events" in cell.classes
    assert not [c for d, c in cells.items() if d != "2027-03-20" and c.links]


def test_an_evening_event_in_utc_is_on_the_next_local_day(app, world, schedule, role_client):
    # British Summer Time: 00:30 local on 10 April is 23:30 UTC on 9 April
    assert schedule(title="Night owls", day="2027-04-10", starts="00:30",
                    ends="01:30").status_code == 303
    # 00:30 on Monday 3 May is 23:30 UTC on Sunday 2 May, the last day of April's grid
    assert schedule(title="Bank holiday", day="2027-05-03", starts="00:30",
                    ends="01:30").status_code == 303
    night, holiday = event_ids(app)
    with app.app_context():
        assert db.session.get(Event, night).starts_at == datetime(2027, 4, 9, 23, 30, tzinfo=UTC)
    client = role_client("participant")
    april = by_date(grid(client.get(month_path(world, "2027-04"))))
    assert "00:30 Night owls" in april["2027-04-10"].text
    assert april["2027-04-09"].links == []
    assert april["2027-05-02"].links == []  # not on the UTC day, nor anywhere in April
    assert not any("Bank holiday" in cell.text for cell in april.values())
    may = by_date(grid(client.get(month_path(world, "2027-05"))))
    assert "00:30 Bank holiday" in may["2027-05-03"].text
    assert may["2027-05-03"].links == [f"/cohorts/{world['cohort']}/events/{holiday}"]


def test_a_series_keeps_its_local_time_across_the_clock_change(app, world, schedule,
                                                               role_client):
    # weekly from Saturday 20 March at 10:00; the UK's clocks go forward on 28 March
    assert schedule(title="Series", repeat="7", count="3").status_code == 303
    client = role_client("participant")
    march = by_date(grid(client.get(month_path(world, "2027-03"))))
    april = by_date(grid(client.get(month_path(world, "2027-04"))))
    assert "10:00 Series" in march["2027-03-20"].text
    assert "10:00 Series" in march["2027-03-27"].text
    assert "10:00 Series" in april["2027-04-03"].text
    # the same 10:00, an hour apart in UTC
    assert march["2027-03-20"].times == ["2027-03-20T10:00:00+00:00"]
    assert april["2027-04-03"].times == ["2027-04-03T09:00:00+00:00"]
    # 3 April is a day of March's grid too (dimmed), with its event
    assert "is-outside" in march["2027-04-03"].classes
    assert "10:00 Series" in march["2027-04-03"].text


def test_events_of_a_day_are_in_order_and_cancelled_ones_say_so(app, world, schedule,
                                                                role_client):
    assert schedule(title="Afternoon", starts="14:00", ends="15:00").status_code == 303
    assert schedule(title="Morning", starts="09:00", ends="10:00").status_code == 303
    afternoon, morning = sorted(event_ids(app))
    facilitator = role_client("facilitator")
    response = post_form(facilitator, f"/cohorts/{world['cohort']}/events/{afternoon}/cancel",
                         {"reason": "Snow."})
    assert response.status_code == 303
    cell = by_date(grid(role_client("participant").get(month_path(world))))["2027-03-20"]
    assert cell.links == [f"/cohorts/{world['cohort']}/events/{morning}",
                          f"/cohorts/{world['cohort']}/events/{afternoon}"]
    assert cell.items == ["", "is-cancelled"]
    assert "09:00 Morning" in cell.text
    assert "14:00 Afternoon (cancelled)" in cell.text


def test_a_participant_sees_what_they_are_going_to_or_waiting_for(app, world, schedule,
                                                                  participants, role_client):
    assert schedule(title="Full", day="2027-03-22", capacity="1").status_code == 303
    assert schedule(title="Roomy", day="2027-03-23").status_code == 303
    assert schedule(title="Not for me", day="2027-03-24").status_code == 303
    full, roomy, not_for_me = event_ids(app)
    first, me = participants(2)
    cohort = world["cohort"]
    answer(first, cohort, full, True)  # takes the only seat
    answer(me, cohort, full, True)  # waitlisted
    answer(me, cohort, roomy, True)
    answer(me, cohort, not_for_me, False)

    mine = by_date(grid(me.get(month_path(world))))
    assert "On the waitlist" in mine["2027-03-22"].text
    assert "You’re going" not in mine["2027-03-22"].text
    assert "You’re going" in mine["2027-03-23"].text
    assert "You’re going" not in mine["2027-03-24"].text
    assert "On the waitlist" not in mine["2027-03-24"].text
    theirs = by_date(grid(first.get(month_path(world))))
    assert "You’re going" in theirs["2027-03-22"].text
    assert "You’re going" not in theirs["2027-03-23"].text  # not someone else's answers
    for role in ("facilitator", "patron"):
        cells = by_date(grid(role_client(role).get(month_path(world)))).values()
        assert not any("You’re going" in c.text or "On the waitlist" in c.text for c in cells)


# --- who and which month ------------------------------------------------------------------------


def test_another_cohorts_month_is_a_404(app, world, role_client):
    from dap.cohorts.models import Cohort
    from tests import factories

    with app.app_context():
        other = factories.make_cohort(db.session.get(Cohort, world["cohort"]).organisation)
        db.session.commit()
        other_id = other.id
    for role in ("participant", "patron", "facilitator"):
        assert role_client(role).get(f"/cohorts/{other_id}/events/month").status_code == 404
    assert role_client("participant").get("/cohorts/999999/events/month").status_code == 404


@pytest.mark.parametrize("m", [
    "2027-13", "2027-00", "abc", "", "0000-01", "99999-01", "2027-1x", "2027-3", "27-03",
    "2027/03", "2027-03-01", " 2027-03", "2027-03\n", "-2027-03", "２０２７-03", "٢٠٢٧-03",
    "2027-03" * 800, "x" * 10_000,
    "2032-04", "2022-02",  # more than five years (60 months) from March 2027
])
def test_a_bad_or_far_off_month_is_a_404(world, role_client, m):
    response = role_client("participant").get(f"/cohorts/{world['cohort']}/events/month",
                                              query_string={"m": m})
    assert response.status_code == 404


def test_five_years_either_way_is_shown_without_a_link_beyond(world, role_client):
    client = role_client("participant")
    latest = client.get(month_path(world, "2032-03")).get_data(as_text=True)
    assert 'rel="prev"' in latest
    assert 'rel="next"' not in latest
    earliest = client.get(month_path(world, "2022-03")).get_data(as_text=True)
    assert 'rel="next"' in earliest
    assert 'rel="prev"' not in earliest


# --- queries ------------------------------------------------------------------------------------


def add_events(app, world, participant_id: int, n: int) -> None:
    """``n`` events in March 2027, the participant going to each (arranged directly: the
    scheduling form is tested elsewhere)."""
    with app.app_context():
        for k in range(n):
            starts = T0 + timedelta(days=k % 16, hours=k % 5)
            made = Event(cohort_id=world["cohort"], kind=EventKind.WORKSHOP, title=f"Event {k}",
                         starts_at=starts, ends_at=starts + timedelta(hours=1),
                         mode=EventMode.ONLINE, uid=f"{uuid.uuid4().hex}@test")
            db.session.add(made)
            db.session.flush()
            db.session.add(Rsvp(event_id=made.id, user_id=participant_id,
                                status=RsvpStatus.GOING))
        db.session.commit()


def statements_for(app, client, path: str) -> int:
    with counting_queries(app) as statements:
        parsed = grid(client.get(path))
    assert parsed.cells
    return len(statements)


def test_the_month_takes_the_same_statements_for_3_or_30_events(app, world, participants):
    [me] = participants(1)
    path = month_path(world, "2027-03")
    add_events(app, world, me.user_id, 3)
    me.get(path)  # warm: the first request of a session may do one-off work
    small = statements_for(app, me, path)
    add_events(app, world, me.user_id, 27)
    large = statements_for(app, me, path)
    page = me.get(path).get_data(as_text=True)
    assert page.count("You’re going") == 30
    assert small == large
