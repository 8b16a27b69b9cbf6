"""Feedback after events: who may answer and when, answering, the scan that invites the
people who came, and the results per event and per kind of event.

Only people who came (marked attended, partly or walk-in on the register) answer, from the
event's end until two weeks after it, once each (an answer can be changed in that time).
Facilitators see the answers without names, so nothing here is written to the audit log,
which they read too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, exists, func, literal, select
from sqlalchemy.orm import contains_eager

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.core.csv import write_csv
from dap.db import insert_for
from dap.errors import DomainError
from dap.events.models import (
    KIND_LABELS,
    PRESENT_MARKS,
    Attendance,
    Event,
    EventFeedback,
    EventKind,
    EventStatus,
)
from dap.extensions import db
from dap.nudges.models import Notification, NotificationKind
from dap.nudges.notify import Message, send
from dap.text import clean_text

#: feedback stays open this long after the event ends
WINDOW = timedelta(days=14)
#: the longest written answer, per question
TEXT_MAX = 2_000
USEFULNESS = range(1, 6)
USEFULNESS_LABELS = {1: "Not useful", 2: "A little useful", 3: "Fairly useful", 4: "Useful",
                     5: "Very useful"}
#: the register's marks of people who came
CAME = PRESENT_MARKS


def closes_at(event: Event) -> datetime:
    """When feedback closes: two weeks after the end (half-open: closed at this instant)."""
    return event.ends_at + WINDOW


def _local(moment: datetime, timezone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(timezone)):%-d %B %Y at %H:%M}"


def came(event: Event, person: User) -> bool:
    """Whether ``person`` is an active participant of the event's cohort whom the register
    marks as having come (attended, partly or walk-in). One query."""
    return db.session.scalar(
        select(Attendance.id)
        .join(Membership, and_(Membership.cohort_id == event.cohort_id,
                               Membership.user_id == Attendance.user_id))
        .where(Attendance.event_id == event.id, Attendance.user_id == person.id,
               Attendance.mark.in_(CAME), Membership.role == CohortRole.PARTICIPANT,
               Membership.status == MembershipStatus.ACTIVE)
    ) is not None


def refusal(event: Event, person: User) -> str | None:
    """Why ``person`` may not give feedback on ``event`` now, in a sentence for them; None
    when they may. The same rule for the form, the event page and ``give_feedback``."""
    timezone = event.cohort.timezone
    if event.cohort.is_archived:
        return "This cohort is archived: it takes no more feedback."
    if event.is_cancelled:
        return "This event was cancelled, so there is no feedback to give."
    now = now_utc()
    if now < event.ends_at:
        return f"Feedback opens when the event ends, on {_local(event.ends_at, timezone)}."
    if now >= closes_at(event):
        return (f"Feedback for this event closed on {_local(closes_at(event), timezone)}, "
                "two weeks after it ended.")
    if not came(event, person):
        return ("Feedback is for the people who came. If you came, ask the facilitator to mark "
                "you on the register.")
    return None


def feedback_of(event_id: int, user_id: int) -> EventFeedback | None:
    """``user_id``'s answer about the event, or None."""
    return db.session.scalar(select(EventFeedback).where(
        EventFeedback.event_id == event_id, EventFeedback.user_id == user_id)
        .execution_options(populate_existing=True))


def give_feedback(event: Event, person: User, *, usefulness: int | None,
                  what_worked: str | None, what_to_change: str | None) -> bool:
    """Store ``person``'s feedback on ``event``, or change the answer they gave. One row per
    person and event, written by one atomic ``INSERT … ON CONFLICT DO UPDATE`` (two
    submissions at once leave one answer). Returns whether it is a new answer. Flushes; the
    caller commits. Not audited: the answer is anonymous to the facilitators.

    :raise DomainError: when they may not answer (see ``refusal``); ``usefulness`` not a
        whole number from 1 to 5 (field ``usefulness``); a written answer longer than
        ``TEXT_MAX`` (fields ``what_worked``, ``what_to_change``).
    """
    reason = refusal(event, person)
    if reason is not None:
        raise DomainError(reason)
    if (usefulness is None or isinstance(usefulness, bool) or not isinstance(usefulness, int)
            or usefulness not in USEFULNESS):
        raise DomainError("Choose how useful it was, from 1 (not useful) to 5 (very useful).",
                          field="usefulness")
    worked = clean_text(what_worked, field="what_worked", max_len=TEXT_MAX,
                        label="what worked")
    change = clean_text(what_to_change, field="what_to_change", max_len=TEXT_MAX,
                        label="what to change")
    is_new = feedback_of(event.id, person.id) is None
    now = now_utc()
    insert = insert_for(db.session)
    stmt = insert(EventFeedback).values(
        event_id=event.id, user_id=person.id, usefulness=usefulness, what_worked=worked,
        what_to_change=change, created_at=now, updated_at=now)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=["event_id", "user_id"],
        set_={"usefulness": usefulness, "what_worked": worked, "what_to_change": change,
              "updated_at": now}))
    db.session.flush()
    return is_new


# --- the invitation -----------------------------------------------------------------------------


def invite_attendees(*, base_url: str) -> int:
    """Queue a feedback invitation (``event_feedback``) to each person who came to an event
    that ended in the last two weeks (not cancelled, cohort not archived), who is still an
    active participant with an email address and has not answered: once each (dedup key
    ``event:<id>:feedback:<user id>``), so running it again queues nothing new. People
    already invited are left out in SQL, so a pass does not render their email again.
    Returns how many emails were queued."""
    now = now_utc()
    key = (literal("event:") + cast(Event.id, String) + literal(":feedback:")
           + cast(Attendance.user_id, String))
    rows = db.session.execute(
        select(Event, User)
        .join(Event.cohort).options(contains_eager(Event.cohort))
        .join(Attendance, Attendance.event_id == Event.id)
        .join(User, User.id == Attendance.user_id)
        .join(Membership, and_(Membership.cohort_id == Event.cohort_id,
                               Membership.user_id == Attendance.user_id))
        .outerjoin(EventFeedback, and_(EventFeedback.event_id == Event.id,
                                       EventFeedback.user_id == Attendance.user_id))
        .where(Event.status == EventStatus.SCHEDULED, Event.ends_at <= now,
               Event.ends_at > now - WINDOW, Cohort.is_archived.is_(False),
               Attendance.mark.in_(CAME), Membership.role == CohortRole.PARTICIPANT,
               Membership.status == MembershipStatus.ACTIVE, User.is_active.is_(True),
               User.email.is_not(None), EventFeedback.id.is_(None),
               ~exists().where(Notification.dedup_key == key))
        .order_by(Event.id, User.id)
    ).all()
    messages = [Message(
        person=person, kind=NotificationKind.EVENT_FEEDBACK, title=f"How was {event.title}?",
        body=("Two minutes of feedback helps the facilitators plan the next one. You can "
              f"answer until {local_day(closes_at(event), event.cohort.timezone)}."),
        link=f"/cohorts/{event.cohort_id}/events/{event.id}/feedback", cohort=event.cohort,
        dedup_key=f"event:{event.id}:feedback:{person.id}", email_template="event_feedback",
        email_context={"event": event, "closes_at": closes_at(event)})
        for event, person in rows]
    return len(send(messages, base_url=base_url))


def local_day(value, timezone: str) -> str:
    """"Tuesday 3 March" in ``timezone``."""
    return f"{value.astimezone(ZoneInfo(timezone)):%A %-d %B}"


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """How many came, and how many answered with each level of usefulness."""

    came: int = 0
    distribution: dict[int, int] = field(default_factory=lambda: dict.fromkeys(USEFULNESS, 0))

    @property
    def answers(self) -> int:
        return sum(self.distribution.values())

    @property
    def mean(self) -> float | None:
        """Mean usefulness of the answers; None without answers."""
        if not self.answers:
            return None
        return sum(level * n for level, n in self.distribution.items()) / self.answers

    def __add__(self, other: Tally) -> Tally:
        return Tally(came=self.came + other.came,
                     distribution={level: self.distribution[level] + other.distribution[level]
                                   for level in USEFULNESS})


def _tallies(*criteria) -> dict[int, Tally]:
    """A tally per event matching ``criteria`` (on ``Event``): two queries, however many
    events there are."""
    came_counts = dict(db.session.execute(
        select(Attendance.event_id, func.count(Attendance.id))
        .join(Event, Event.id == Attendance.event_id)
        .where(*criteria, Attendance.mark.in_(CAME)).group_by(Attendance.event_id)).all())
    levels: dict[int, dict[int, int]] = {}
    for event_id, level, n in db.session.execute(
            select(EventFeedback.event_id, EventFeedback.usefulness, func.count(EventFeedback.id))
            .join(Event, Event.id == EventFeedback.event_id)
            .where(*criteria).group_by(EventFeedback.event_id, EventFeedback.usefulness)):
        levels.setdefault(event_id, dict.fromkeys(USEFULNESS, 0))[level] = n
    return {event_id: Tally(came=came_counts.get(event_id, 0),
                            distribution=levels.get(event_id, dict.fromkeys(USEFULNESS, 0)))
            for event_id in came_counts.keys() | levels.keys()}


def tally(event: Event) -> Tally:
    """The event's tally (two queries)."""
    return _tallies(Event.id == event.id).get(event.id, Tally())


@dataclass(frozen=True)
class Results:
    """An event's feedback without names: the tally, and the written answers of each
    question in alphabetical order (not the order given, and not paired up, so neither
    gives anyone away)."""

    tally: Tally
    what_worked: list[str]
    what_to_change: list[str]


def event_results(event: Event) -> Results:
    """The event's feedback for its facilitators (three queries)."""
    written = db.session.execute(
        select(EventFeedback.what_worked, EventFeedback.what_to_change)
        .where(EventFeedback.event_id == event.id)).all()
    return Results(tally=tally(event),
                   what_worked=sorted((w for w, _ in written if w), key=str.casefold),
                   what_to_change=sorted((c for _, c in written if c), key=str.casefold))


@dataclass(frozen=True)
class EventRow:
    event: Event
    tally: Tally


@dataclass(frozen=True)
class KindRow:
    kind: EventKind
    label: str
    events: int
    tally: Tally


@dataclass(frozen=True)
class CohortFeedback:
    """Feedback across a cohort's events that took place (ended, not cancelled): per kind
    of event (every kind, in the usual order) and per event (newest first)."""

    kinds: list[KindRow]
    events: list[EventRow]


def cohort_feedback(cohort: Cohort) -> CohortFeedback:
    """Feedback per kind of event and per event of ``cohort``: three queries, however many
    events it has."""
    criteria = (Event.cohort_id == cohort.id, Event.status == EventStatus.SCHEDULED,
                Event.ends_at <= now_utc())
    events = db.session.scalars(select(Event).where(*criteria)
                                .order_by(Event.starts_at.desc(), Event.id.desc())).all()
    tallies = _tallies(*criteria)
    rows = [EventRow(event=e, tally=tallies.get(e.id, Tally())) for e in events]
    kinds = []
    for kind, label in KIND_LABELS.items():
        of_kind = [row for row in rows if row.event.kind is kind]
        total = Tally()
        for row in of_kind:
            total += row.tally
        kinds.append(KindRow(kind=kind, label=label, events=len(of_kind), tally=total))
    return CohortFeedback(kinds=kinds, events=rows)


CSV_HEADER = ("kind", "event", "starts", "came", "answers", "mean_usefulness",
              *(f"answers_{level}" for level in USEFULNESS))


def cohort_feedback_csv(summary: CohortFeedback, *, timezone: str) -> str:
    """One line per event of ``summary``: kind, title, start (in ``timezone``), how many
    came, how many answered, the mean usefulness (two decimals) and the answers per level.
    Cells go through ``dap.core.csv`` (formula-safe)."""
    zone = ZoneInfo(timezone)
    return write_csv(
        ((KIND_LABELS[row.event.kind], row.event.title,
          row.event.starts_at.astimezone(zone).replace(tzinfo=None).isoformat(timespec="minutes"),
          row.tally.came, row.tally.answers,
          round(row.tally.mean, 2) if row.tally.mean is not None else None,
          *(row.tally.distribution[level] for level in USEFULNESS))
         for row in summary.events),
        CSV_HEADER)


# --- the event page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """What the event page shows about feedback: for a participant who came, the prompt
    (``may_give``, ``given``); for the cohort's managers, the tally."""

    closes_at: datetime
    may_give: bool = False
    given: bool = False
    tally: Tally | None = None


def panel(event: Event, person: User, *, is_participant: bool, manages: bool) -> Panel | None:
    """The event page's feedback panel, or None (before the end, for cancelled events, for
    people who did not come or once feedback has closed). At most two queries."""
    if event.is_cancelled or now_utc() < event.ends_at:
        return None
    if manages:
        return Panel(closes_at=closes_at(event), tally=tally(event))
    if is_participant and refusal(event, person) is None:
        return Panel(closes_at=closes_at(event), may_give=True,
                     given=feedback_of(event.id, person.id) is not None)
    return None
