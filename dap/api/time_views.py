"""Web time: the activities a participant logs from anywhere (a phone shortcut, a browser
extension, a script), through the same service as the log page. Logging web time is open
while the cap is reached: it is what lifts it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask_login import current_user
from sqlalchemy import select

from dap.api import pagination, schemas
from dap.api.problems import ApiError
from dap.api.routing import Reply, operation
from dap.timecap import gate, services
from dap.timecap.models import ActivityKind, WebActivity
from dap.timecap.services import CapRules


def activity_out(activity: WebActivity) -> schemas.WebActivity:
    return schemas.WebActivity(
        id=activity.id, cohort_id=activity.cohort_id, kind=activity.kind.value,
        title=activity.title, url=activity.url, minutes=activity.minutes,
        goal_id=activity.goal_id, note=activity.note, day=activity.local_date,
        created_at=activity.created_at)


@operation("GET", "/web-activities", summary="My logged web time", tag="web time",
           query=schemas.PageQuery, answer=schemas.WebActivityList, capped_ok=True)
def list_web_activities(query: schemas.PageQuery):
    stmt = select(WebActivity).where(WebActivity.user_id == current_user.id)
    items, cursor = pagination.page(stmt, WebActivity.id, limit=query.limit,
                                    cursor=query.cursor)
    return schemas.WebActivityList(items=[activity_out(a) for a in items], next_cursor=cursor)


@operation("POST", "/web-activities", summary="Log web time", tag="web time",
           scope="read-write", body=schemas.WebActivityCreate, answer=schemas.WebActivity,
           status=201, capped_ok=True, errors=(409,), fields={"goal": "goal_id"},
           description="Counts towards this week's web minutes at once (and so lifts the "
                       "platform-time allowance). Only participants log web time.")
def create_web_activity(body: schemas.WebActivityCreate):
    return Reply(activity_out(log_web_time(body)), 201)


def log_web_time(body: schemas.WebActivityCreate,
                 day: Callable[[CapRules], date | None] = lambda cohort: None) -> WebActivity:
    """Log web time for the signed-in participant (the API, and a device sending what it
    queued offline). ``day(cohort)`` gives the day when the body names none.

    :raise ApiError: 403 ``not_a_participant``. :raise DomainError: the service's rules.
    """
    measured = gate.current_measured()
    if measured is None:
        raise ApiError(403, "not_a_participant", "Only participants of a running cohort log "
                       "web time.")
    return services.log_web_activity(
        current_user, measured.cohort, actor=current_user, kind=ActivityKind(body.kind),
        title=body.title, url=body.url, minutes=body.minutes, goal_id=body.goal_id,
        note=body.note, day=body.day or day(measured.cohort))
