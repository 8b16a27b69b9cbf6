"""Home, dashboard and the health check."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from dap import policy
from dap.cohorts.models import Cohort, Membership, MembershipStatus
from dap.events.next_steps import after_kick_off
from dap.events.queries import upcoming_for
from dap.extensions import db, limiter
from dap.plans.queries import looked_after
from dap.plans.review import review_inbox

bp = Blueprint("core", __name__)


@bp.get("/healthz")
@limiter.exempt
@policy.public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return "unavailable", 503, {"Content-Type": "text/plain; charset=utf-8",
                                    "Cache-Control": "no-store"}
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@bp.get("/")
@policy.public
def index():
    if not current_user.is_authenticated:
        return render_template("core/landing.html")
    memberships = db.session.scalars(
        select(Membership)
        .where(Membership.user_id == current_user.id,
               Membership.status == MembershipStatus.ACTIVE)
        .options(
            selectinload(Membership.cohort).selectinload(Cohort.organisation),
            selectinload(Membership.team),
        )
        .order_by(Membership.joined_at)
    ).all()
    return render_template("core/dashboard.html", memberships=memberships,
                           patron_of=looked_after(current_user),
                           to_review=review_inbox(current_user),
                           upcoming=upcoming_for(current_user),
                           next_steps=after_kick_off(current_user))
