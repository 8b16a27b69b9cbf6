"""The API's own resources: who the token acts for, this week's time, and the OpenAPI
document. (Goals, check-ins, web time and the rest are in the ``*_views`` modules beside
this one, on the same blueprint.)"""

from __future__ import annotations

from flask import g
from flask_login import current_user
from sqlalchemy import select

from dap import policy
from dap.accounts.models import ApiToken
from dap.api import schemas, spec
from dap.api.routing import operation
from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort, Membership, MembershipStatus
from dap.extensions import db
from dap.timecap import gate
from dap.timecap import services as timecap

API_VERSION = "1.0.0"


@operation("GET", "/me", summary="Who the token acts for", tag="me", answer=schemas.Me,
           capped_ok=True)
def me():
    seats = db.session.execute(
        select(Membership.role, Cohort).join(Cohort, Cohort.id == Membership.cohort_id)
        .where(Membership.user_id == current_user.id,
               Membership.status == MembershipStatus.ACTIVE)
        .order_by(Cohort.start_date.desc(), Cohort.id.desc())).all()
    token = db.session.get(ApiToken, g.api_bearer.token_id)
    return schemas.Me(
        id=current_user.id, name=current_user.name, email=current_user.email,
        timezone=current_user.timezone, roles=policy.roles_of(current_user),
        cohorts=[schemas.CohortSeat(
            cohort_id=cohort.id, cohort_name=cohort.name, role=role.value,
            timezone=cohort.timezone, start_date=cohort.start_date, end_date=cohort.end_date,
            archived=cohort.is_archived) for role, cohort in seats],
        token=schemas.TokenInfo(id=token.id, name=token.name, scope=token.scope.value,
                                expires_at=token.expires_at))


@operation("GET", "/time", summary="This week's platform and web time", tag="time",
           answer=schemas.TimeSummary, capped_ok=True,
           description="The figures behind the meter in DAP's header. Answers even when the "
                       "cap is reached, so a script can tell when DAP opens again.")
def time_summary():
    measured = gate.current_measured()
    found = gate.current_balance()
    if measured is None or found is None:
        return schemas.TimeSummary(
            measured=False, cohort_id=None, week_starts=None, platform_minutes=None,
            web_minutes=None, allowance_minutes=None, weekly_cap_minutes=None,
            web_minutes_to_full_allowance=None, capped=False, warning=False, exempt=False)
    today = local_date(now_utc(), measured.cohort.timezone)
    return schemas.TimeSummary(
        measured=True, cohort_id=measured.cohort.id, week_starts=timecap.monday_of(today),
        platform_minutes=found.platform_minutes, web_minutes=found.web_minutes,
        allowance_minutes=found.allowance_minutes, weekly_cap_minutes=found.weekly_cap,
        web_minutes_to_full_allowance=found.web_needed, capped=found.capped,
        warning=found.warning, exempt=found.exempt)


@operation("GET", "/openapi.json", summary="This document", tag="meta", scope=None,
           description="The OpenAPI 3.1 document of this API, generated from its code.")
def openapi():
    return spec.document(API_VERSION)
