"""A cohort's webhooks, for its managers: subscribe a tool, read the delivery log, ping,
turn on and off, rotate the secret, delete, send a failed delivery again. Archived cohorts
are read-only (their POSTs get 403)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from dap import policy
from dap.core.forms import ConfirmForm, apply_domain_error, attempt
from dap.errors import DomainError
from dap.extensions import db, limiter
from dap.webhooks import delivery as sending
from dap.webhooks import services
from dap.webhooks.forms import WebhookForm
from dap.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

bp = Blueprint("webhooks", __name__)

#: a page holding a signing secret is kept by neither the browser nor a proxy
NO_STORE = {"Cache-Control": "no-store"}


def _allow_http() -> bool:
    return bool(current_app.config["WEBHOOKS_ALLOW_HTTP"])


def _subscription(cohort, subscription_id: int) -> WebhookSubscription:
    subscription = services.get_subscription(cohort, subscription_id)
    if subscription is None:
        abort(404)
    return subscription


def _for_change(cohort_id: int, subscription_id: int):
    """The cohort (managed, not archived: 404, 403) and its subscription (404), for a POST
    carrying nothing but its CSRF token."""
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    subscription = _subscription(cohort, subscription_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return cohort, subscription


def _back(cohort_id: int, subscription_id: int):
    return redirect(url_for("webhooks.show", cohort_id=cohort_id,
                            subscription_id=subscription_id), code=303)


def _index_page(cohort, form: WebhookForm, status: int = 200):
    return render_template("webhooks/index.html", cohort=cohort, form=form,
                           subscriptions=services.subscriptions_of(cohort),
                           event_types=services.EVENT_TYPES,
                           max_per_cohort=services.MAX_PER_COHORT), status


@bp.route("/cohorts/<int:cohort_id>/webhooks", methods=["GET", "POST"])
@policy.signed_in
def index(cohort_id: int):
    if request.method == "GET":
        cohort = policy.load_cohort(current_user, cohort_id, manage=True)
        return _index_page(cohort, WebhookForm(formdata=None))
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            subscription = services.create_subscription(
                cohort, url=form.url.data or "", events=list(form.events.data or []),
                actor=current_user, allow_http=_allow_http())
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash("Webhook added. Copy its secret into your tool so it can check that "
                  "payloads come from DAP, then send a test ping.", "success")
            return _back(cohort.id, subscription.id)
    return _index_page(cohort, form, 400)


@bp.get("/cohorts/<int:cohort_id>/webhooks/<int:subscription_id>")
@policy.signed_in
def show(cohort_id: int, subscription_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    subscription = _subscription(cohort, subscription_id)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100000)
    deliveries, total = services.delivery_log(subscription, page=page)
    return render_template(
        "webhooks/subscription.html", cohort=cohort, subscription=subscription,
        deliveries=deliveries, total=total, page=page, per_page=services.LOG_PAGE_SIZE,
        event_types=services.EVENT_TYPES, confirm=ConfirmForm(), statuses=DeliveryStatus,
    ), 200, NO_STORE


@bp.post("/cohorts/<int:cohort_id>/webhooks/<int:subscription_id>/ping")
@policy.signed_in
@limiter.limit("10 per minute",
               key_func=lambda: f"webhook-ping:{getattr(current_user, 'id', 'anon')}")
def ping(cohort_id: int, subscription_id: int):
    cohort, subscription = _for_change(cohort_id, subscription_id)
    queued = services.queue_ping(subscription, actor=current_user)
    db.session.commit()
    result = sending.deliver_now(queued, timeout=current_app.config["WEBHOOKS_TIMEOUT_SECONDS"],
                                 allow_http=_allow_http())
    if result is None:
        flash("The ping is queued and goes out within a minute.", "info")
    elif result.status is DeliveryStatus.DELIVERED:
        flash(f"Ping delivered: your tool answered HTTP {result.last_status_code} in "
              f"{result.duration_ms} ms.", "success")
    else:
        flash(f"Ping not delivered: {result.last_error}. It will be tried again; the log "
              "below shows each attempt.", "error")
    return _back(cohort.id, subscription.id)


@bp.post("/cohorts/<int:cohort_id>/webhooks/<int:subscription_id>/active")
@policy.signed_in
def set_active(cohort_id: int, subscription_id: int):
    cohort, subscription = _for_change(cohort_id, subscription_id)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400)
    active = wanted == "1"
    if services.set_active(subscription, active=active, actor=current_user,
                           reason=f"Turned off by {current_user.name}."):
        flash("Webhook turned on: events go out again." if active else
              "Webhook turned off: no events are sent until you turn it on.", "success")
    db.session.commit()
    return _back(cohort.id, subscription.id)


@bp.post("/cohorts/<int:cohort_id>/webhooks/<int:subscription_id>/rotate")
@policy.signed_in
def rotate(cohort_id: int, subscription_id: int):
    cohort, subscription = _for_change(cohort_id, subscription_id)
    services.rotate_secret(subscription, actor=current_user, cohort=cohort)
    db.session.commit()
    flash("New secret made. The old one no longer signs anything: put the new one into your "
          "tool now.", "success")
    return _back(cohort.id, subscription.id)


@bp.post("/cohorts/<int:cohort_id>/webhooks/<int:subscription_id>/delete")
@policy.signed_in
def delete(cohort_id: int, subscription_id: int):
    cohort, subscription = _for_change(cohort_id, subscription_id)
    services.delete_subscription(subscription, actor=current_user, cohort=cohort)
    db.session.commit()
    flash("Webhook deleted, with its delivery log.", "success")
    return redirect(url_for("webhooks.index", cohort_id=cohort.id), code=303)


@bp.post("/cohorts/<int:cohort_id>/webhooks/<int:subscription_id>/deliveries/"
         "<int:delivery_id>/redeliver")
@policy.signed_in
def redeliver(cohort_id: int, subscription_id: int, delivery_id: int):
    cohort, subscription = _for_change(cohort_id, subscription_id)
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != subscription.id:
        abort(404)
    if attempt(None, lambda: services.redeliver(delivery)):
        flash("Queued again: it goes out within a minute, with the same event id.", "success")
    return _back(cohort.id, subscription.id)
