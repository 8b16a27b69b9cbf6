"""What DAP emails a person: their preferences (``/account/emails``), the one-click
unsubscribe every governed email links to (``/unsubscribe/<token>``, no sign-in), and the
admins' view of the outbox (``/admin/outbox``: what is waiting, retrying or failed, and why).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from dap import policy
from dap.audit.services import record
from dap.clock import now_utc
from dap.core.forms import ConfirmForm
from dap.errors import DomainError
from dap.extensions import csrf, db, limiter
from dap.nudges import preferences
from dap.nudges.models import OutboxMessage, OutboxStatus
from dap.nudges.preferences import CATEGORIES, CHOICE_LABELS, Category, Delivery
from dap.timecap.gate import allowed_when_capped

bp = Blueprint("emails", __name__)

OUTBOX_PAGE = 50


def _preferences_form(categories: list[Category], current: dict[Category, Delivery]):
    """A form with one choice per category shown to this person."""

    class PreferencesForm(FlaskForm):
        pass

    for category in categories:
        info = CATEGORIES[category]
        setattr(PreferencesForm, category.value, RadioField(
            info.label, description=info.description, default=current[category].value,
            choices=[SelectChoice(d.value, CHOICE_LABELS[d]) for d in info.choices]))
    return PreferencesForm()


@bp.route("/account/emails", methods=["GET", "POST"])
@policy.signed_in
@allowed_when_capped  # account pages stay open when the platform-time cap is reached
def preferences_page():
    me = current_user._get_current_object()
    audiences = preferences.audiences_of(me)
    categories = [c for c, info in CATEGORIES.items() if info.audience in audiences]
    current = preferences.preferences_of(me)
    form = _preferences_form(categories, current)
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("nudges/preferences.html", form=form,
                                   categories=categories), 400
        wanted = {c: Delivery(form[c.value].data) for c in categories}
        try:
            changed = preferences.update_preferences(me, wanted)
        except DomainError as error:
            db.session.rollback()
            form[error.field].errors = [error.message] if error.field in form else []
            return render_template("nudges/preferences.html", form=form,
                                   categories=categories), 400
        db.session.commit()
        flash("Your email choices are saved." if changed else "Nothing changed.", "success")
        return redirect(url_for("emails.preferences_page"), 303)
    return render_template("nudges/preferences.html", form=form, categories=categories)


def _target(token: str) -> preferences.Unsubscribe | None:
    return preferences.read_unsubscribe_token(token,
                                              secret_key=current_app.config["SECRET_KEY"])


@bp.get("/unsubscribe/<token>")
@policy.public
@limiter.limit("60 per minute")
def unsubscribe(token: str):
    target = _target(token)
    if target is None:
        return render_template("nudges/unsubscribe_invalid.html"), 400
    already = preferences.preferences_of(target.user)
    done = (all(d is Delivery.OFF for d in already.values()) if target.category is Category.ALL
            else already[target.category] is Delivery.OFF)
    return render_template("nudges/unsubscribe.html", target=target, done=done,
                           label=preferences.label_of(target.category), form=ConfirmForm())


@bp.post("/unsubscribe/<token>")
@policy.public
@csrf.exempt  # RFC 8058: mail programs POST here without a form; the signed token is the key
@limiter.limit("60 per minute")
def unsubscribe_confirm(token: str):
    target = _target(token)
    if target is None:
        return render_template("nudges/unsubscribe_invalid.html"), 400
    preferences.unsubscribe(target)
    db.session.commit()
    if request.form.get("List-Unsubscribe") == "One-Click":
        return "Unsubscribed.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("nudges/unsubscribe.html", target=target, done=True, just_now=True,
                           label=preferences.label_of(target.category), form=None)


@bp.get("/admin/outbox")
@policy.admin
def outbox():
    counts = dict(db.session.execute(
        select(OutboxMessage.status, func.count(OutboxMessage.id))
        .group_by(OutboxMessage.status)).all())
    troubled = db.session.scalars(
        select(OutboxMessage)
        .where((OutboxMessage.status == OutboxStatus.FAILED)
               | ((OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.attempts > 0)))
        .order_by(OutboxMessage.status, OutboxMessage.next_attempt_at.desc(),
                  OutboxMessage.id.desc())
        .limit(OUTBOX_PAGE)).all()
    return render_template("nudges/outbox.html", counts=counts, troubled=troubled,
                           statuses=list(OutboxStatus), form=ConfirmForm(),
                           max_attempts=current_app.config["MAIL_MAX_ATTEMPTS"])


@bp.post("/admin/outbox/<int:message_id>/retry")
@policy.admin
def retry(message_id: int):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if message.status is not OutboxStatus.FAILED:
        flash("Only failed emails can be tried again.", "error")
        return redirect(url_for("emails.outbox"), 303)
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = now_utc()
    record("outbox.retried", actor=current_user._get_current_object(),
           outbox_id=message.id, kind=message.kind)
    db.session.commit()
    flash("The email will be tried again within a minute, with a fresh set of retries.",
          "success")
    return redirect(url_for("emails.outbox"), 303)
