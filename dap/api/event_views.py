"""Events: the upcoming events of my cohorts, and answering them, through the event
services the web pages use (``dap.events.services.respond``: the seat lock, the waitlist,
the freed seat passed on with an email).

Scope: the events of cohorts where the token owner is an active member, any role. Answering
is for the cohort's participants, as on the event's page: someone who may see the event but
not answer it gets 403 ``not_a_participant``; an event they may not see is a 404. Events are
the offline half of the blend, so these stay open when the time cap is reached.

Paging here is by start time, soonest first (``keyset_page``: a cursor on a time and an id,
so an event added or moved meanwhile never shifts the next page; the notifications use it
too, newest first, as the inbox page orders them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import abort, url_for
from flask_login import current_user
from sqlalchemy import Select, and_, false, or_, select, true
from sqlalchemy.orm import contains_eager

from dap import policy
from dap.api import schemas
from dap.api.problems import ApiError
from dap.api.routing import operation
from dap.clock import now_utc
from dap.cohorts.models import Cohort, Membership, MembershipStatus
from dap.core.links import base_url
from dap.events import services
from dap.events.models import Event, Rsvp, RsvpStatus
from dap.extensions import db

# --- keyset paging on (a time, an id) ---------------------------------------------------------
#
# The cursor is "<microseconds since 1970>_<id>" of the last item of the page before
# (``schemas.KEYSET_CURSOR``). As with ``dap.api.pagination``, every cursor the document
# allows is a valid one, so a cursor is never an error.

_ID_MAX = 2_147_483_647
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def encode_cursor(at: datetime, last_id: int) -> str:
    return f"{(at - _EPOCH) // _MICRO}_{last_id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The time and id in a cursor that matches ``schemas.KEYSET_CURSOR``."""
    micros, _, number = cursor.partition("_")
    return _EPOCH + int(micros) * _MICRO, int(number)


def keyset_page(stmt: Select, at_column: Any, id_column: Any, *, descending: bool, limit: int,
                cursor: str | None, at_of: Any) -> tuple[list[Any], str | None]:
    """One page of ``stmt``'s rows ordered by ``(at_column, id_column)`` (ascending, or
    newest first with ``descending``) and the next page's cursor, or None. ``at_of(row)``
    gives a row's time and ``row.id`` its id (for the cursor)."""
    if cursor:
        at, last_id = decode_cursor(cursor)
        # an id beyond every database id (never bound: PostgreSQL would overflow on it)
        beyond = last_id > _ID_MAX
        if descending:
            tie = true() if beyond else id_column < last_id
            stmt = stmt.where(or_(at_column < at, and_(at_column == at, tie)))
        else:
            tie = false() if beyond else id_column > last_id
            stmt = stmt.where(or_(at_column > at, and_(at_column == at, tie)))
    order = (at_column.desc(), id_column.desc()) if descending else (at_column, id_column)
    rows = list(db.session.scalars(stmt.order_by(*order).limit(limit + 1)))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(at_of(rows[-1]), rows[-1].id)
    return rows, None


# --- events as the API shows them ------------------------------------------------------------


def _my_answers(event_ids: list[int]) -> dict[int, Rsvp]:
    """Event id → my answer (one query)."""
    if not event_ids:
        return {}
    return {r.event_id: r for r in db.session.scalars(
        select(Rsvp).where(Rsvp.user_id == current_user.id, Rsvp.event_id.in_(event_ids)))}


def events_out(events: list[Event]) -> list[schemas.Event]:
    """The API's view of ``events``: four queries for the page (seats, my answers, waitlist
    places, and whether I run each cohort, once per cohort), whatever the number of events."""
    ids = [e.id for e in events]
    counts = services.answer_counts(ids)
    mine = _my_answers(ids)
    places = services.waitlist_positions(list(mine.values()))
    manages = {cohort_id: policy.can_manage_cohort(current_user, cohort) for cohort_id, cohort
               in {e.cohort_id: e.cohort for e in events}.items()}
    out = []
    for event in events:
        answer = mine.get(event.id)
        show_join = services.shows_join_link(event, manages=manages[event.cohort_id],
                                             answer=answer)
        out.append(schemas.Event(
            id=event.id, cohort_id=event.cohort_id, title=event.title, kind=event.kind.value,
            starts_at=event.starts_at, ends_at=event.ends_at, mode=event.mode.value,
            venue=event.venue, join_url=event.join_url if show_join else None,
            capacity=event.capacity, going_count=counts[event.id].get(RsvpStatus.GOING, 0),
            cancelled=event.is_cancelled,
            my_answer=answer.status.value if answer is not None else None,
            waitlist_position=places.get(answer.id) if answer is not None else None,
            url=url_for("events.show", cohort_id=event.cohort_id, event_id=event.id,
                        _external=True)))
    return out


# --- the operations ---------------------------------------------------------------------------


@operation("GET", "/events", summary="Upcoming events of my cohorts", tag="events",
           query=schemas.EventQuery, answer=schemas.EventList, capped_ok=True,
           description="Events not yet over (cancelled ones included, marked `cancelled`) of "
                       "the cohorts where I am an active member, soonest first. `join_url` "
                       "is given only to people going and to the cohort's facilitators. "
                       "Open while the time cap is reached: events are offline learning.")
def list_events(query: schemas.EventQuery):
    stmt = (select(Event)
            .join(Membership, and_(Membership.cohort_id == Event.cohort_id,
                                   Membership.user_id == current_user.id,
                                   Membership.status == MembershipStatus.ACTIVE))
            .join(Cohort, Cohort.id == Event.cohort_id).options(contains_eager(Event.cohort))
            .where(Event.ends_at > now_utc()))
    if query.cohort_id:
        stmt = stmt.where(Event.cohort_id == query.cohort_id)
    events, cursor = keyset_page(stmt, Event.starts_at, Event.id, descending=False,
                                 limit=query.limit, cursor=query.cursor,
                                 at_of=lambda e: e.starts_at)
    return schemas.EventList(items=events_out(events), next_cursor=cursor)


@operation("POST", "/events/<int:event_id>/rsvp", summary="Answer an event: going or not",
           tag="events", scope="read-write", body=schemas.EventAnswer, answer=schemas.Event,
           errors=(409,), capped_ok=True,
           description="Only the cohort's participants answer (403 `not_a_participant` for "
                       "its patrons and facilitators). Going takes a seat, or the next place "
                       "on the waitlist when the event is full; not going gives a seat up, "
                       "and the first person waiting gets it (and an email). Answering the "
                       "same twice changes nothing. 409 when the event is cancelled or "
                       "answers have closed (at the answer deadline, or the start).")
def answer_event(event_id: int, body: schemas.EventAnswer):
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    cohort, event = policy.load_cohort_event(current_user, event.cohort_id, event.id)
    if not policy.can_answer_event(current_user, cohort):
        raise ApiError(403, "not_a_participant", "Only the cohort's participants answer its "
                       "events.")
    services.respond(event, current_user._get_current_object(), going=body.going,
                     base_url=base_url())
    return events_out([event])[0]
