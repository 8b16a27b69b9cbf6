"""A booking in the participant's own calendar (an .ics per booking), and booking on behalf
of a managed participant (rules in dap.support.services and dap.support.calendar).

The routes share the support blueprint. The .ics is the participant's alone: anyone else,
facilitators included, gets a 404. Booking on behalf is for the cohort's facilitators and
admins (others: 404), for the cohort's participants without an account.
"""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user

from dap import policy
from dap.cohorts.models import Cohort
from dap.core.forms import attempt
from dap.core.links import base_url
from dap.events.views import ICS_HEADERS
from dap.support import calendar, services
from dap.support.forms import BookForForm
from dap.support.models import SupportBooking, SupportSlot
from dap.support.views import _slot_page, bp
from dap.timecap.gate import allowed_when_capped

SLOT = "/cohorts/<int:cohort_id>/support/slots/<int:slot_id>"


def slot_sections(cohort: Cohort, found: SupportSlot, booking: SupportBooking | None, *,
                  mine: bool, can_manage: bool, book_for_form: BookForForm | None) -> dict:
    """What the slot page needs for the participant's calendar link and, on a free slot,
    the facilitator's "book for someone without an account" form (only when the cohort has
    such participants)."""
    free = can_manage and booking is None
    managed = services.managed_participants(cohort.id) if free else []
    form = book_for_form or BookForForm()
    form.participant.choices = [("", "Choose…")] + [(str(p.id), p.name) for p in managed]
    return {"ics_link": url_for("support.slot_ics", cohort_id=cohort.id, slot_id=found.id)
            if mine else None,
            "book_for_form": form if free and (managed or book_for_form) else None}


@bp.get(f"{SLOT}/session.ics")
@policy.signed_in
@allowed_when_capped
def slot_ics(cohort_id: int, slot_id: int):
    """The signed-in participant's booking of the slot (standing or cancelled) as a
    calendar file."""
    cohort = policy.load_cohort(current_user, cohort_id)
    found = policy.load_slot(cohort, slot_id)
    booking = calendar.booking_of(found, current_user)
    if booking is None:
        abort(404)
    body = calendar.booking_file(booking, base_url=base_url())
    return body, 200, {**ICS_HEADERS,
                       "Content-Disposition": f'attachment; filename="session-{found.id}.ics"'}


def _whole(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else None


@bp.post(f"{SLOT}/book-for")
@policy.signed_in
@allowed_when_capped
def book_for(cohort_id: int, slot_id: int):
    """A facilitator books the slot for a managed participant."""
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    found = policy.load_slot(cohort, slot_id)
    form = BookForForm()
    if form.validate_on_submit() and attempt(form, lambda: services.book_on_behalf(
            found, _whole(form.participant.data), note=form.note.data, actor=current_user,
            base_url=base_url())):
        flash("Booked for them. It is in your calendar feed.", "success")
        return redirect(url_for("support.slot", cohort_id=cohort.id, slot_id=found.id), code=303)
    return _slot_page(cohort, found, book_for_form=form, status=400)
