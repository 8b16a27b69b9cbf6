"""Feedback after events: the form for the people who came, and the results (without names)
for the cohort's facilitators, per event and per kind of event."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from dap import policy
from dap.clock import local_date, now_utc
from dap.core.forms import attempt
from dap.events import feedback
from dap.events.forms import FeedbackForm
from dap.events.models import KIND_LABELS
from dap.timecap.gate import allowed_when_capped

bp = Blueprint("event_feedback", __name__)


def _level(raw: str | None) -> int | None:
    """The radio's value as a level; anything else is None (the service says what to do)."""
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 2 else None


@bp.route("/cohorts/<int:cohort_id>/events/<int:event_id>/feedback", methods=["GET", "POST"])
@policy.signed_in
@allowed_when_capped
def give(cohort_id: int, event_id: int):
    """The form, for the cohort's participants (others: 404). Whoever may not answer
    (yet, or any more) sees why; posting anyway is a 400 with the same sentence."""
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id)
    policy.require_participant(current_user, cohort)
    mine = feedback.feedback_of(event.id, current_user.id)
    if request.method == "POST":
        form = FeedbackForm()
    elif mine is not None:
        form = FeedbackForm(formdata=None, usefulness=str(mine.usefulness),
                            what_worked=mine.what_worked, what_to_change=mine.what_to_change)
    else:
        form = FeedbackForm(formdata=None)
    refusal = feedback.refusal(event, current_user)
    status = 200
    if form.is_submitted():
        status = 400
        if refusal is None and form.validate_on_submit():
            new: list[bool] = []
            if attempt(form, lambda: new.append(feedback.give_feedback(
                    event, current_user, usefulness=_level(form.usefulness.data),
                    what_worked=form.what_worked.data,
                    what_to_change=form.what_to_change.data))):
                flash("Your feedback is in. Thank you!" if new[0]
                      else "Your feedback has been changed.", "success")
                return redirect(url_for("events.show", cohort_id=cohort.id, event_id=event.id),
                                code=303)
    return render_template("events/feedback.html", cohort=cohort, event=event, form=form,
                           mine=mine, refusal=refusal, closes_at=feedback.closes_at(event),
                           kinds=KIND_LABELS), status


@bp.get("/cohorts/<int:cohort_id>/events/<int:event_id>/feedback/results")
@policy.signed_in
@allowed_when_capped
def results(cohort_id: int, event_id: int):
    """One event's feedback, for the cohort's facilitators (others: 404)."""
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id, manage=True)
    return render_template("events/feedback_results.html", cohort=cohort, event=event,
                           results=feedback.event_results(event),
                           labels=feedback.USEFULNESS_LABELS, kinds=KIND_LABELS,
                           is_over=event.ends_at <= now_utc(),
                           closes_at=feedback.closes_at(event))


@bp.get("/cohorts/<int:cohort_id>/events/feedback")
@policy.signed_in
@allowed_when_capped
def summary(cohort_id: int):
    """Feedback per kind of event and per event across the cohort, for its facilitators."""
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    return render_template("events/feedback_summary.html", cohort=cohort,
                           summary=feedback.cohort_feedback(cohort), kinds=KIND_LABELS)


@bp.get("/cohorts/<int:cohort_id>/events/feedback.csv")
@policy.signed_in
@allowed_when_capped
def summary_csv(cohort_id: int):
    """The same, one line per event, as a formula-safe CSV."""
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    text = feedback.cohort_feedback_csv(feedback.cohort_feedback(cohort), timezone=cohort.timezone)
    day = local_date(now_utc(), cohort.timezone).isoformat()
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="dap-event-feedback-cohort-{cohort.id}-{day}.csv"',
        "Cache-Control": "no-store",
    })
