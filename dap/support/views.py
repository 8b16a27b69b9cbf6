"""1:1 support pages: a cohort's slots (book, cancel, wait for one), publishing
availability, a slot's page, and the facilitator's agenda across cohorts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from dap import policy
from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.core.forms import ConfirmForm, attempt
from dap.core.links import base_url
from dap.extensions import db
from dap.support import services
from dap.support.forms import AvailabilityForm, BookForm, CancelBookingForm
from dap.support.models import (
    MODE_LABELS,
    BookingStatus,
    SlotMode,
    SlotStatus,
    SupportBooking,
    SupportSlot,
)
from dap.timecap.gate import allowed_when_capped

bp = Blueprint("support", __name__)

#: how far ahead the 1:1 page lists slots (the agenda goes further)
AHEAD = timedelta(days=28)
#: sessions that have taken place are listed for this long (notes and action points)
RECENT = timedelta(days=60)
PAST_MAX = 50



def _slots_with_bookings(where, *, order=(SupportSlot.starts_at, SupportSlot.id)
                         ) -> list[tuple[SupportSlot, SupportBooking | None]]:
    """Slots matching ``where`` with their active booking and its participant (one
    query)."""
    rows = db.session.execute(
        select(SupportSlot, SupportBooking)
        .outerjoin(SupportBooking, (SupportBooking.slot_id == SupportSlot.id)
                   & (SupportBooking.status == BookingStatus.BOOKED))
        .options(joinedload(SupportSlot.cohort), joinedload(SupportBooking.participant))
        .where(*where).order_by(*order)).all()
    return [(slot, booking) for slot, booking in rows]


def _by_day(rows, timezone: str) -> list[tuple[date, list]]:
    zone = ZoneInfo(timezone)
    days: dict[date, list] = defaultdict(list)
    for row in rows:
        days[row[0].starts_at.astimezone(zone).date()].append(row)
    return sorted(days.items())


@bp.get("/cohorts/<int:cohort_id>/support")
@policy.signed_in
@allowed_when_capped
def index(cohort_id: int):
    """Participants: free slots to book, their bookings, the waitlist. Facilitators: every
    slot to come, with who booked it."""
    cohort = policy.load_cohort(current_user, cohort_id)
    manages = policy.can_manage_cohort(current_user, cohort)
    participant = policy.can_answer_event(current_user, cohort)
    if not (manages or participant):
        abort(404)  # patrons have no business with the facilitators' diaries
    now = now_utc()
    upcoming = _slots_with_bookings([SupportSlot.cohort_id == cohort.id,
                                     SupportSlot.status == SlotStatus.OPEN,
                                     SupportSlot.ends_at > now, SupportSlot.starts_at < now + AHEAD])
    mine = (_slots_with_bookings([SupportSlot.cohort_id == cohort.id, SupportSlot.ends_at > now,
                                  SupportBooking.participant_id == current_user.id])
            if participant else [])
    free = [(s, b) for s, b in upcoming if b is None and services.books_until(s) > now]
    recent = [SupportSlot.cohort_id == cohort.id, SupportSlot.ends_at <= now,
              SupportSlot.ends_at > now - RECENT, SupportBooking.id.is_not(None)]
    if not manages:
        recent.append(SupportBooking.participant_id == current_user.id)
    past = _slots_with_bookings(recent, order=(SupportSlot.starts_at.desc(), SupportSlot.id))
    return render_template(
        "support/index.html", cohort=cohort, manages=manages, participant=participant,
        past=past[:PAST_MAX],
        can_publish=policy.can_edit_cohort(current_user, cohort),
        days=_by_day(upcoming if manages else free, cohort.timezone), mine=mine,
        limit=cohort.support_bookings_max,
        waiting=services.waiting(cohort.id, current_user.id) if participant else None,
        confirm=ConfirmForm(), modes=MODE_LABELS, now=now,
        **(session_views.my_points(cohort) if participant else {"my_points": []}))


@bp.route("/cohorts/<int:cohort_id>/support/new", methods=["GET", "POST"])
@policy.signed_in
@allowed_when_capped
def publish(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    form = AvailabilityForm()
    published: list[SupportSlot] = []
    if form.validate_on_submit():
        mode = _choice(SlotMode, form.mode.data)
        availability = services.Availability(
            day=form.day.data, starts=form.starts.data, ends=form.ends.data, mode=mode,
            place=form.place.data, join_url=form.join_url.data,
            slot_minutes=form.slot_minutes.data, buffer_minutes=form.buffer_minutes.data,
            book_until_minutes=form.book_until_minutes.data,
            cancel_until_minutes=form.cancel_until_minutes.data)
        if attempt(form, lambda: published.extend(services.publish(
                cohort, availability, actor=current_user, base_url=base_url()))):
            count = len(published)
            flash(f"Published {count} slot{'s' if count != 1 else ''}.", "success")
            return redirect(url_for("support.index", cohort_id=cohort.id), code=303)
    return render_template("support/publish.html", cohort=cohort, form=form), \
        400 if form.is_submitted() else 200


def _choice(enum_type, raw):
    try:
        return enum_type(raw)
    except ValueError:
        return None


@bp.get("/cohorts/<int:cohort_id>/support/slots/<int:slot_id>")
@policy.signed_in
@allowed_when_capped
def slot(cohort_id: int, slot_id: int):
    cohort = policy.load_cohort(current_user, cohort_id)
    found = policy.load_slot(cohort, slot_id)
    return _slot_page(cohort, found)


def _slot_page(cohort: Cohort, found: SupportSlot, *, book_form: BookForm | None = None,
               cancel_form: CancelBookingForm | None = None, point_form=None,
               book_for_form=None, status: int = 200):
    manages = policy.can_manage_cohort(current_user, cohort)
    participant = policy.can_answer_event(current_user, cohort)
    if not manages and not participant:
        abort(404)  # patrons have no business with the facilitators' diaries
    booking = services.active_booking(found.id)
    mine = booking is not None and booking.participant_id == current_user.id
    taken = booking is not None and not mine
    if taken and not manages:
        booking = None  # someone else's booking: the slot only reads "taken"
    now = now_utc()
    can_manage = (policy.can_edit_cohort(current_user, cohort) and not found.is_withdrawn
                  and found.starts_at > now)
    return render_template(
        "support/slot.html", cohort=cohort, slot=found, booking=booking, mine=mine,
        taken=taken, manages=manages, participant=participant,
        can_book=(participant and booking is None and not taken and not found.is_withdrawn
                  and now < services.books_until(found)),
        can_cancel=mine and now < services.cancels_until(found),
        can_manage=can_manage,
        book_form=book_form or BookForm(), cancel_form=cancel_form or CancelBookingForm(),
        confirm=ConfirmForm(), modes=MODE_LABELS,
        books_until=services.books_until(found), cancels_until=services.cancels_until(found),
        **session_views.slot_sections(cohort, booking, manages=manages, mine=mine,
                                      point_form=point_form),
        **booking_views.slot_sections(cohort, found, booking, mine=mine, can_manage=can_manage,
                                      book_for_form=book_for_form),
    ), status


@bp.post("/cohorts/<int:cohort_id>/support/slots/<int:slot_id>/book")
@policy.signed_in
@allowed_when_capped
def book(cohort_id: int, slot_id: int):
    cohort = policy.load_cohort(current_user, cohort_id)
    found = policy.load_slot(cohort, slot_id)
    if not policy.can_answer_event(current_user, cohort):
        abort(403)
    form = BookForm()
    if form.validate_on_submit() and attempt(form, lambda: services.book(
            found, current_user, note=form.note.data, actor=current_user,
            base_url=base_url())):
        flash("Booked. It is in your calendar feed, and your facilitator can see your note.",
              "success")
        return redirect(url_for("support.slot", cohort_id=cohort.id, slot_id=found.id), code=303)
    return _slot_page(cohort, found, book_form=form, status=400)


@bp.post("/cohorts/<int:cohort_id>/support/slots/<int:slot_id>/cancel")
@policy.signed_in
@allowed_when_capped
def cancel(cohort_id: int, slot_id: int):
    """Cancel the slot's booking: the participant their own, a facilitator anyone's (with
    a message)."""
    cohort = policy.load_cohort(current_user, cohort_id)
    found = policy.load_slot(cohort, slot_id)
    booking = services.active_booking(found.id)
    facilitator = policy.can_edit_cohort(current_user, cohort)
    if booking is None or not (facilitator or booking.participant_id == current_user.id):
        abort(404)
    form = CancelBookingForm()
    as_facilitator = facilitator and booking.participant_id != current_user.id
    if form.validate_on_submit() and attempt(form, lambda: services.cancel_booking(
            booking, actor=current_user, as_facilitator=as_facilitator,
            message=form.message.data, base_url=base_url())):
        flash("Booking cancelled." + (" They have been told." if as_facilitator else ""),
              "success")
        return redirect(url_for("support.index", cohort_id=cohort.id), code=303)
    return _slot_page(cohort, found, cancel_form=form, status=400)


@bp.post("/cohorts/<int:cohort_id>/support/slots/<int:slot_id>/withdraw")
@policy.signed_in
@allowed_when_capped
def withdraw(cohort_id: int, slot_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    found = policy.load_slot(cohort, slot_id)
    form = CancelBookingForm()
    if form.validate_on_submit() and attempt(form, lambda: services.withdraw(
            found, actor=current_user, message=form.message.data, base_url=base_url())):
        flash("Slot withdrawn.", "success")
        return redirect(url_for("support.index", cohort_id=cohort.id), code=303)
    return _slot_page(cohort, found, cancel_form=form, status=400)


@bp.post("/cohorts/<int:cohort_id>/support/waitlist")
@policy.signed_in
@allowed_when_capped
def waitlist(cohort_id: int):
    """Join the waitlist (``join=1``) or leave it."""
    cohort = policy.load_cohort(current_user, cohort_id)
    if not policy.can_answer_event(current_user, cohort):
        abort(403)
    if not ConfirmForm().validate_on_submit() or request.form.get("join") not in ("0", "1"):
        abort(400)
    if request.form["join"] == "1":
        if attempt(None, lambda: services.join_waitlist(cohort, current_user)):
            flash("We will email you when a slot is free.", "success")
    elif attempt(None, lambda: services.leave_waitlist(cohort, current_user)):
        flash("You are off the waitlist.", "info")
    return redirect(url_for("support.index", cohort_id=cohort.id), code=303)


# --- the facilitator's agenda -------------------------------------------------------------------

AGENDA_VIEWS = ("day", "week")


def _agenda_day(raw: str | None, timezone: str) -> date:
    today = now_utc().astimezone(ZoneInfo(timezone)).date()
    if not raw:
        return today
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None or abs((day - today).days) > 5 * 366:
        abort(404)
    return day


@bp.get("/support/agenda")
@policy.facilitator
@allowed_when_capped
def agenda():
    """Every 1:1 slot of the signed-in facilitator across their cohorts, a day or a week
    at a time, in their own time zone."""
    view = request.args.get("view", "week")
    if view not in AGENDA_VIEWS:
        abort(404)
    timezone = current_user.timezone
    zone = ZoneInfo(timezone)
    day = _agenda_day(request.args.get("day"), timezone)
    first = day - timedelta(days=day.weekday()) if view == "week" else day
    days = [first + timedelta(days=n) for n in range(7 if view == "week" else 1)]
    start = datetime.combine(days[0], time(0), tzinfo=zone)
    end = datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=zone)
    rows = _slots_with_bookings([SupportSlot.facilitator_id == current_user.id,
                                 SupportSlot.status == SlotStatus.OPEN,
                                 SupportSlot.starts_at < end, SupportSlot.ends_at > start])
    by_day = dict(_by_day(rows, timezone))
    step = timedelta(days=7 if view == "week" else 1)
    return render_template(
        "support/agenda.html", view=view, day=day, days=days, by_day=by_day,
        previous=first - step, next=first + step, timezone=timezone, modes=MODE_LABELS,
        booked=sum(1 for _, b in rows if b is not None), total=len(rows))


from dap.support import booking_views, session_views  # noqa: E402 - their routes join this blueprint
