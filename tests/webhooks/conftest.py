"""Webhook fixtures: a real local receiver, subscriptions, and one run of the delivery job
through the scheduler's runner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from dap import clock
from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.jobs.registry import job_by_id
from dap.jobs.runner import run_job
from dap.webhooks import services
from dap.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.api.conftest import api, tokens  # noqa: F401 - check-ins through the API
from tests.webhooks.receiver import Receiver

#: a Monday
T0 = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def local_receivers(app):
    """Tests post to a receiver on 127.0.0.1 over http: allowed here as in development."""
    app.config["WEBHOOKS_ALLOW_HTTP"] = True
    app.config["WEBHOOKS_TIMEOUT_SECONDS"] = 5


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def subscribe(app, world):
    """``subscribe(url, events=…, cohort=…)`` → ``(id, secret)`` of a new subscription of the
    world's cohort (or ``cohort``), made by its facilitator."""

    def make(url: str, events=tuple(services.EVENT_TYPES), cohort: int | None = None):
        with app.app_context():
            subscription = services.create_subscription(
                db.session.get(Cohort, cohort or world["cohort"]), url=url, events=list(events),
                actor=db.session.get(User, world["facilitator"]), allow_http=True)
            db.session.commit()
            return subscription.id, subscription.secret

    return make


def deliver(app, at: datetime | None = None) -> str:
    """One run of the ``deliver_webhooks`` job, as the scheduler runs it (clock at ``at``)."""
    if at is not None:
        clock.freeze(at)
    run = run_job(app, job_by_id("deliver_webhooks"), runner="test")
    assert run.status == "ok", run.error
    return run.result


def deliveries(app, subscription_id: int | None = None) -> list[WebhookDelivery]:
    """Every delivery (of one subscription), oldest first, detached."""
    with app.app_context():
        stmt = select(WebhookDelivery).order_by(WebhookDelivery.id)
        if subscription_id is not None:
            stmt = stmt.where(WebhookDelivery.subscription_id == subscription_id)
        rows = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return rows


def subscription(app, subscription_id: int) -> WebhookSubscription | None:
    with app.app_context():
        row = db.session.get(WebhookSubscription, subscription_id)
        if row is not None:
            db.session.expunge(row)
        return row
