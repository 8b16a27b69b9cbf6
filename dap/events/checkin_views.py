"""Self check-in (rules in dap.events.checkin): the facilitator's screen with a QR code and
a code that change every minute, the script's feed of the current code, and the page where a
participant checks in with it.

The routes share the events blueprint; the register's rule applies to the screen (the
cohort's managers, while the register is open)."""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user

from dap import policy
from dap.core.forms import attempt
from dap.events import checkin
from dap.events.forms import CheckInForm
from dap.events.models import MARK_LABELS, AttendanceMark, Event
from dap.events.services import register_open
from dap.events.views import bp
from dap.extensions import limiter
from dap.timecap.gate import allowed_when_capped

NO_STORE = {"Cache-Control": "no-store"}
PATH = "/cohorts/<int:cohort_id>/events/<int:event_id>/check-in"


def _secret_key() -> str:
    return current_app.config["SECRET_KEY"]


def _per_person() -> str:
    """Rate-limit key: the signed-in account, else the caller's address."""
    if current_user.is_authenticated:
        return f"check-in:{current_user.id}"
    return f"check-in:{get_remote_address()}"


def _check_in_url(event: Event, code: str) -> str:
    """The address the QR code holds (absolute: a phone's camera opens it)."""
    path = url_for("events.check_in", cohort_id=event.cohort_id, event_id=event.id, code=code)
    return current_app.config["BASE_URL"] + path


def _live(event: Event) -> dict:
    """What the screen shows this minute."""
    code = checkin.current_code(event, secret_key=_secret_key())
    url = _check_in_url(event, code)
    present, by_themselves = checkin.checked_in_counts(event)
    return {"code": code, "display": checkin.display(code), "url": url, "svg": checkin.qr_svg(url),
            "present": present, "by_themselves": by_themselves,
            "seconds_left": checkin.seconds_left()}


# --- the facilitator's screen -------------------------------------------------------------------


@bp.get(PATH + "/show")
@policy.signed_in
@allowed_when_capped
def check_in_show(cohort_id: int, event_id: int):
    """The code to put on a screen: a QR code and the same code in large type."""
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id, edit=True)
    return render_template("events/check_in_show.html", cohort=cohort, event=event,
                           live=_live(event) if register_open(event) else None,
                           max_age=checkin.MAX_AGE_MINUTES), 200, NO_STORE


@bp.get(PATH + "/code")
@policy.signed_in_json
@allowed_when_capped
def check_in_code(cohort_id: int, event_id: int):
    """The screen's script asks for the current code (JSON); ``open`` false once the
    register has closed."""
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id, edit=True)
    if not register_open(event):
        return jsonify(open=False), 200, NO_STORE
    live = _live(event)
    return jsonify(open=True, **{**live, "svg": str(live["svg"])}), 200, NO_STORE


# --- participants -------------------------------------------------------------------------------


@bp.route(PATH, methods=["GET", "POST"])
# Codes cannot be brute-forced (2^40 of them, four good at a time), and these keep scripts
# from trying: per person, and per address far above a room of people on one network.
@limiter.limit("10 per minute;60 per hour", key_func=_per_person, methods=["POST"])
@limiter.limit("200 per minute", methods=["POST"])
@policy.signed_in
@allowed_when_capped
def check_in(cohort_id: int, event_id: int):
    """Check in with the code: the QR code opens this page with ``?code=``, and a button
    sends it (a GET changes nothing)."""
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id)
    if not policy.can_answer_event(current_user, cohort):
        abort(403)  # the cohort's facilitators and patrons: the register is not theirs to sign
    if request.method == "POST":
        form = CheckInForm()
        if not form.validate_on_submit():
            abort(400)
        done: list[checkin.CheckIn] = []
        if attempt(form, lambda: done.append(checkin.check_in(
                event, current_user, form.code.data, secret_key=_secret_key()))):
            _say(done[0])
            return redirect(url_for("events.show", cohort_id=cohort.id, event_id=event.id),
                            code=303)
        status = 400
    else:
        raw = request.args.get("code", "")
        form = CheckInForm(code=raw if len(raw) <= checkin.INPUT_MAX else "")
        status = 200
    return render_template(
        "events/check_in.html", cohort=cohort, event=event, form=form,
        mark=checkin.mark_of(event, current_user), is_open=register_open(event),
        show_closed=status == 200,  # after a refused POST the flashed error says it
        labels=MARK_LABELS, from_qr=bool(request.args.get("code"))), status, NO_STORE


def event_page_panel(cohort, event: Event) -> dict | None:
    """The "Check in" box of the event's page: for the cohort's participants while the
    register is open; their mark once they have one, else a form to type the code."""
    if not (policy.can_answer_event(current_user, cohort) and register_open(event)):
        return None
    return {"mark": checkin.mark_of(event, current_user), "labels": MARK_LABELS,
            "form": CheckInForm(formdata=None)}


def _say(result: checkin.CheckIn) -> None:
    mark = result.attendance.mark
    if mark is AttendanceMark.NO_SHOW:
        flash("The register has you down as not there: please have a word with the "
              "facilitator.", "info")
    elif result.is_new:
        flash("You’re checked in. Welcome!", "success")
    else:
        flash("You’re checked in.", "info")
