"""A cohort's events: the list, an event's page, scheduling, answering, cancelling.

Workshop pages stay open when a participant has used the week's platform time: events
are the offline half of the blend."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from dap import policy
from dap.accounts.models import User
from dap.clock import local_date, now_utc
from dap.content.render import render_markdown
from dap.core.forms import ConfirmForm, attempt
from dap.core.links import base_url
from dap.events import calendar, feedback, months, next_steps, recaps, services
from dap.events.forms import AnswerForm, CancelForm, EventForm
from dap.events.models import (
    KIND_LABELS,
    MARK_LABELS,
    MODE_LABELS,
    Attendance,
    AttendanceMark,
    CalendarFeed,
    Event,
    EventKind,
    EventMode,
    Rsvp,
    RsvpStatus,
)
from dap.extensions import db, limiter
from dap.timecap.gate import allowed_when_capped

bp = Blueprint("events", __name__)



@bp.get("/cohorts/<int:cohort_id>/events")
@policy.signed_in
@allowed_when_capped
def index(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id)
    events = db.session.scalars(select(Event).where(Event.cohort_id == cohort.id)
                                .order_by(Event.starts_at, Event.id)).all()
    now = now_utc()
    ids = [e.id for e in events]
    mine = {r.event_id: r for r in db.session.scalars(
        select(Rsvp).where(Rsvp.user_id == current_user.id, Rsvp.event_id.in_(ids)))} if ids else {}
    return render_template(
        "events/index.html", cohort=cohort, counts=services.answer_counts(ids), mine=mine,
        upcoming=[e for e in events if e.ends_at > now],
        past=[e for e in reversed(events) if e.ends_at <= now],
        can_schedule=policy.can_edit_cohort(current_user, cohort), kinds=KIND_LABELS)


@bp.get("/cohorts/<int:cohort_id>/events/month")
@policy.signed_in
@allowed_when_capped
def month(cohort_id: int):
    """The month view (``?m=YYYY-MM``, default this month in the cohort's time zone): who
    may see the list may see it. A malformed or far-off month is a 404."""
    cohort = policy.load_cohort(current_user, cohort_id)
    today = local_date(now_utc(), cohort.timezone)
    first = months.parse_month(request.args.get("m"), today=today)
    if first is None:
        abort(404)
    return render_template(
        "events/month.html", cohort=cohort,
        month=months.month_of(cohort, first, viewer_id=current_user.id, today=today),
        is_this_month=first == today.replace(day=1),
        can_schedule=policy.can_edit_cohort(current_user, cohort))


@bp.route("/cohorts/<int:cohort_id>/events/new", methods=["GET", "POST"])
@policy.signed_in
@allowed_when_capped
def new(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    form = EventForm()
    scheduled: list[Event] = []
    invited: list[int] = []
    if form.validate_on_submit():
        def go() -> None:
            scheduled.extend(services.schedule(
                cohort, _details(form), actor=current_user, repeat=int(form.repeat.data or 0),
                count=form.count.data))
            if form.invite.data:
                invited.append(services.invite(scheduled, base_url=base_url()))
        if attempt(form, go):
            many = len(scheduled) > 1
            done = f"Scheduled {len(scheduled)} events." if many else "Event scheduled."
            if invited:
                people = "participant" if invited[0] == 1 else "participants"
                done += f" Invitations are on their way to {invited[0]} {people}."
            flash(done, "success")
            target = (url_for("events.index", cohort_id=cohort.id) if many else
                      url_for("events.show", cohort_id=cohort.id, event_id=scheduled[0].id))
            return redirect(target, code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("events/form.html", cohort=cohort, form=form, event=None), status


def _local(day, time) -> datetime | None:
    return datetime.combine(day, time) if day is not None and time is not None else None


def _details(form: EventForm) -> services.EventDetails:
    return services.EventDetails(
        kind=_choice(EventKind, form.kind.data), title=form.title.data,
        description=form.description.data, starts_local=_local(form.day.data, form.starts.data),
        ends_local=_local(form.day.data, form.ends.data), mode=_choice(EventMode, form.mode.data),
        venue=form.venue.data, address=form.address.data, join_url=form.join_url.data,
        capacity=form.capacity.data, rsvp_deadline_local=form.rsvp_deadline.data)


def _choice(enum_type, raw):
    try:
        return enum_type(raw)
    except ValueError:
        return None


@bp.route("/cohorts/<int:cohort_id>/events/<int:event_id>/edit", methods=["GET", "POST"])
@policy.signed_in
@allowed_when_capped
def edit(cohort_id: int, event_id: int):
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id, edit=True)
    form = EventForm() if request.method == "POST" else EventForm(formdata=None,
                                                                  **_form_data(event))
    # an event is changed one at a time: the series fields are not on the page
    del form.repeat
    del form.count
    if form.validate_on_submit():
        changed: list[bool] = []
        if attempt(form, lambda: changed.append(services.update(
                event, _details(form), actor=current_user, base_url=base_url()))):
            flash("Event changed. Everyone going or waiting has been told."
                  if changed[0] else "Nothing changed.", "success" if changed[0] else "info")
            return redirect(url_for("events.show", cohort_id=cohort.id, event_id=event.id),
                            code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("events/form.html", cohort=cohort, form=form, event=event), status


def _form_data(event: Event) -> dict:
    zone = ZoneInfo(event.cohort.timezone)
    starts, ends = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    deadline = (event.rsvp_deadline.astimezone(zone).replace(tzinfo=None)
                if event.rsvp_deadline else None)
    return {"kind": event.kind.value, "title": event.title, "description": event.description,
            "day": starts.date(), "starts": starts.time(), "ends": ends.time(),
            "mode": event.mode.value, "venue": event.venue, "address": event.address,
            "join_url": event.join_url, "capacity": event.capacity, "rsvp_deadline": deadline}


@bp.get("/cohorts/<int:cohort_id>/events/<int:event_id>")
@policy.signed_in
@allowed_when_capped
def show(cohort_id: int, event_id: int):
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id)
    return _event_page(cohort, event)


def _event_page(cohort, event: Event, *, cancel_form: CancelForm | None = None,
                status: int = 200):
    mine = db.session.scalar(select(Rsvp).where(Rsvp.event_id == event.id,
                                                Rsvp.user_id == current_user.id))
    manages = policy.can_manage_cohort(current_user, cohort)
    going = (db.session.scalars(
        select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.GOING)
        .order_by(Rsvp.updated_at, Rsvp.id)).all() if manages else [])
    waiting = (db.session.scalars(
        select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.WAITLISTED)
        .order_by(Rsvp.waitlisted_at, Rsvp.id)).all() if manages else [])
    now = now_utc()
    return render_template(
        "events/show.html", cohort=cohort, event=event, mine=mine, counts=services.answer_counts([event.id]),
        position=services.waitlist_position(mine) if mine else None,
        can_answer=(policy.can_answer_event(current_user, cohort) and not event.is_cancelled
                    and now < services.answers_close_at(event)),
        is_participant=policy.can_answer_event(current_user, cohort),
        show_join=services.shows_join_link(event, manages=manages, answer=mine),
        manages=manages, can_cancel=(policy.can_edit_cohort(current_user, cohort)
                                     and not event.is_cancelled and event.ends_at > now),
        can_edit=(policy.can_edit_cohort(current_user, cohort) and not event.is_cancelled
                  and event.starts_at > now),
        going=going, waiting=waiting, answer=AnswerForm(), cancel_form=cancel_form or CancelForm(),
        kinds=KIND_LABELS, modes=MODE_LABELS, description=render_markdown(event.description),
        check_in=checkin_views.event_page_panel(cohort, event),
        recap=recaps.panel(event), next_steps=next_steps.for_event(current_user, event),
        feedback=feedback.panel(event, current_user, manages=manages,
                                is_participant=policy.can_answer_event(current_user, cohort)),
    ), status


@bp.post("/cohorts/<int:cohort_id>/events/<int:event_id>/answer")
@policy.signed_in
@allowed_when_capped
def answer(cohort_id: int, event_id: int):
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id)
    if not policy.can_answer_event(current_user, cohort):
        abort(403)
    form = AnswerForm()
    if not form.validate_on_submit() or form.answer.data not in ("yes", "no"):
        abort(400)
    going = form.answer.data == "yes"
    result: list[Rsvp] = []
    if attempt(None, lambda: result.append(services.respond(
            event, current_user, going=going, base_url=base_url()))):
        rsvp = result[0]
        if rsvp.status is RsvpStatus.GOING:
            flash("You’re going. See you there!", "success")
        elif rsvp.status is RsvpStatus.WAITLISTED:
            flash("It’s full, so you’re on the waitlist. If a seat comes free it’s yours, "
                  "and we’ll email you.", "info")
        else:
            flash("Thanks for letting us know you can’t go.", "info")
    return redirect(url_for("events.show", cohort_id=cohort.id, event_id=event.id), code=303)


@bp.post("/cohorts/<int:cohort_id>/events/<int:event_id>/cancel")
@policy.signed_in
@allowed_when_capped
def cancel(cohort_id: int, event_id: int):
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id, edit=True)
    form = CancelForm()
    if not form.validate_on_submit():
        return _event_page(cohort, event, cancel_form=form, status=400)
    if attempt(form, lambda: services.cancel(event, actor=current_user,
                                             reason=form.reason.data, base_url=base_url())):
        flash("Event cancelled. Everyone going or waiting has been told.", "success")
        return redirect(url_for("events.show", cohort_id=cohort.id, event_id=event.id),
                        code=303)
    return _event_page(cohort, event, cancel_form=form, status=400)


# --- calendars ----------------------------------------------------------------------------------

ICS_HEADERS = {"Content-Type": "text/calendar; charset=utf-8", "Cache-Control": "no-store",
               "X-Robots-Tag": "noindex"}


def _link(event: Event) -> str:
    return calendar.event_link(event, base_url())


@bp.get("/cohorts/<int:cohort_id>/events/<int:event_id>/event.ics")
@policy.signed_in
@allowed_when_capped
def event_ics(cohort_id: int, event_id: int):
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id)
    body = calendar.calendar_of([event], links={event.id: _link(event)}, name=event.title)
    return body, 200, {**ICS_HEADERS,
                       "Content-Disposition": f'attachment; filename="event-{event.id}.ics"'}


@bp.route("/calendar", methods=["GET", "POST"])
@policy.signed_in
@allowed_when_capped
def feed():
    """The personal feed: make (or replace) its secret address, shown once."""
    form = ConfirmForm()
    address = None
    if form.validate_on_submit():
        token = calendar.new_feed_token(current_user)
        db.session.commit()
        address = url_for("events.feed_ics", token=token, _external=True)
    elif form.is_submitted():
        abort(400)
    has_feed = db.session.scalar(select(CalendarFeed.id).where(
        CalendarFeed.user_id == current_user.id)) is not None
    return render_template("events/feed.html", form=form, address=address, has_feed=has_feed)


@bp.get("/calendar/<token>.ics")
@policy.public
@limiter.limit("60/minute")
def feed_ics(token: str):
    """A person's feed, opened by its secret address alone (calendar apps sign in to
    nothing). Unknown or replaced addresses are a plain 404."""
    owner = calendar.feed_owner(token)
    if owner is None:
        abort(404)
    body = calendar.feed(owner, base_url=base_url())  # events, and 1:1 sessions
    db.session.commit()  # when it was last used
    return body, 200, ICS_HEADERS


# --- the register -------------------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/events/<int:event_id>/attendance", methods=["GET", "POST"])
@policy.signed_in
@allowed_when_capped
def attendance(cohort_id: int, event_id: int):
    """The register at the door: one row per participant, built for a phone."""
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id, edit=True)
    form = ConfirmForm()
    status = 200
    if form.validate_on_submit():
        marks = _marks_from(request.form)
        if request.form.get("all_going") == "1":
            action = lambda: services.mark_all_going_attended(event, actor=current_user)  # noqa: E731
        else:
            action = lambda: services.mark_attendance(event, marks, actor=current_user)  # noqa: E731
        if attempt(None, action):
            flash("Register saved.", "success")
            return redirect(url_for("events.attendance", cohort_id=cohort.id,
                                    event_id=event.id), code=303)
        status = 400
    elif form.is_submitted():
        abort(400)
    people = db.session.scalars(
        select(User).where(User.id.in_(services.participant_ids(cohort.id)))
        .order_by(User.name, User.id)).all()
    going = set(db.session.scalars(select(Rsvp.user_id).where(
        Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.GOING)))
    rows = db.session.scalars(select(Attendance).where(Attendance.event_id == event.id)).all()
    marks = {a.user_id: a.mark for a in rows}
    return render_template(
        "events/attendance.html", cohort=cohort, event=event, form=form, marks=marks,
        checked_in_themselves={a.user_id for a in rows if a.recorded_by_id == a.user_id},
        going=[p for p in people if p.id in going], others=[p for p in people if p.id not in going],
        labels=MARK_LABELS, is_open=services.register_open(event)), status


def _marks_from(data) -> dict[int, AttendanceMark | None]:
    """``mark-<user id>`` fields: a mark, or empty to clear. Anything else is a 400."""
    marks: dict[int, AttendanceMark | None] = {}
    for key, value in data.items(multi=True):
        if not key.startswith("mark-"):
            continue
        raw_id = key.removeprefix("mark-")
        if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 10):
            abort(400)
        if value == "":
            marks[int(raw_id)] = None
            continue
        try:
            marks[int(raw_id)] = AttendanceMark(value)
        except ValueError:
            abort(400)
    return marks


from dap.events import checkin_views  # noqa: E402 - its routes join this blueprint
