"""Nudges and the inbox: a patron sends a nudge to a participant they are linked to
(``/cohorts/<id>/people/<membership>/nudge``); everyone reads their notifications at
``/notifications``, marks them read and answers nudges (rules in dap.nudges.nudging)."""

from __future__ import annotations

import re
import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import HiddenField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice

from dap import policy
from dap.accounts.models import User
from dap.content.nudges import KINDS, nudge_template, nudge_templates, render_nudge
from dap.core.forms import ConfirmForm, apply_domain_error
from dap.errors import DomainError
from dap.extensions import db, limiter
from dap.nudges import notify, nudging
from dap.nudges.models import Notification, NotificationKind, Reaction
from dap.timecap.gate import allowed_when_capped

bp = Blueprint("nudges", __name__)

PER_PAGE = 30
OWN = "own"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
KIND_LABELS = {"nudge": "Nudge", "cajole": "Cajole", "enthuse": "Enthuse"}


class NudgeForm(FlaskForm):
    choice = RadioField("Message", choices=[], validate_choice=False)
    kind = SelectField("Kind of message", choices=[SelectChoice(k, KIND_LABELS[k]) for k in KINDS],
                       validate_choice=False)
    message = TextAreaField("Your own message",
                            description=f"Up to {nudging.MESSAGE_MAX:,} characters.",
                            render_kw={"rows": 5, "maxlength": nudging.MESSAGE_MAX})
    #: one per form, so a double click sends once
    token = HiddenField()


class ReactionForm(FlaskForm):
    reaction = HiddenField()


def _me() -> User:
    return current_user._get_current_object()


def _send_page(form: NudgeForm, cohort, membership, *, status: int = 200, limit: str = ""):
    me = _me()
    participant = membership.user
    previews = [
        (t, render_nudge(t, first_name=participant.first_name, patron_first_name=me.first_name))
        for t in nudge_templates()
    ]
    return render_template(
        "nudges/send.html", form=form, cohort=cohort, membership=membership,
        participant=participant, previews=previews, kinds=KINDS, kind_labels=KIND_LABELS,
        own=OWN, limit=limit, sent_today=nudging.sent_today(me, participant, cohort),
        daily_limit=nudging.DAILY_LIMIT), status


@bp.route("/cohorts/<int:cohort_id>/people/<int:membership_id>/nudge", methods=["GET", "POST"])
@limiter.limit("60 per hour", methods=["POST"],
               key_func=lambda: f"nudge:{getattr(current_user, 'id', 'anon')}")
@policy.signed_in
def send(cohort_id: int, membership_id: int):
    me = _me()
    cohort, membership = policy.load_patron_participant(me, cohort_id, membership_id)
    form = NudgeForm()
    if request.method == "GET":
        form.token.data = secrets.token_urlsafe(16)
        return _send_page(form, cohort, membership)
    if not form.validate_on_submit():
        return _send_page(form, cohort, membership, status=400)
    choice = form.choice.data or OWN
    template = None
    if choice != OWN:
        template = nudge_template(choice)
        if template is None:
            form.choice.errors = ["Choose one of the messages, or write your own."]
            return _send_page(form, cohort, membership, status=400)
    token = form.token.data if TOKEN_RE.match(form.token.data or "") else secrets.token_urlsafe(16)
    kind = form.kind.data if form.kind.data in KINDS else ""
    try:
        sent = nudging.send_nudge(
            patron=me, participant=membership.user, cohort=cohort, membership=membership,
            kind=NotificationKind(kind) if kind else NotificationKind.GENERAL,
            template=template, message=form.message.data or "", token=token)
    except nudging.NudgeLimitError as error:
        db.session.rollback()
        return _send_page(form, cohort, membership, status=429, limit=error.message)
    except DomainError as error:
        db.session.rollback()
        apply_domain_error(form, error)
        return _send_page(form, cohort, membership, status=400)
    db.session.commit()
    flash(nudging.sent_note(sent, membership.user), "success")
    return redirect(url_for("plans.patron_home"), 303)


@bp.get("/notifications")
@policy.signed_in
@allowed_when_capped  # reading nudges stays open when the platform-time cap is reached
def inbox():
    me = _me()
    page = request.args.get("page", 1, type=int) or 1
    page = min(max(page, 1), 10_000)
    total = db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == me.id)) or 0
    items = db.session.scalars(
        select(Notification).options(joinedload(Notification.sender))
        .where(Notification.user_id == me.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    ).all()
    return render_template("nudges/inbox.html", items=items, page=page, per_page=PER_PAGE,
                           total=total, reactions=nudging.REACTION_LABELS,
                           form=ConfirmForm())


def _back() -> object:
    return redirect(url_for("nudges.inbox"), 303)


@bp.post("/notifications/<int:notification_id>/read")
@policy.signed_in
def mark_read(notification_id: int):
    notification = policy.load_notification(_me(), notification_id)
    notify.mark_read(notification)
    db.session.commit()
    return _back()


@bp.post("/notifications/read-all")
@policy.signed_in
def mark_all_read():
    count = notify.mark_all_read(_me())
    db.session.commit()
    if count:
        flash("All your notifications are marked read.", "success")
    return _back()


@bp.post("/notifications/<int:notification_id>/react")
@policy.signed_in
def react(notification_id: int):
    me = _me()
    notification = policy.load_notification(me, notification_id)
    form = ReactionForm()
    if not form.validate_on_submit() or form.reaction.data not in {r.value for r in Reaction}:
        abort(400, "Choose one of the answers.")
    try:
        nudging.react(notification, reaction=Reaction(form.reaction.data), participant=me)
    except DomainError as error:
        db.session.rollback()
        abort(400, error.message)
    db.session.commit()
    flash("Thanks: your answer is sent." if form.reaction.data != Reaction.NEED_HELP
          else "Your facilitators are told you would like some help.", "success")
    return _back()
