"""Privacy rules for the time cap: what a person's export holds of their platform time and
web-time log, and what deleting their account erases from it.

``export_collections`` reads; ``erase`` writes with one bulk UPDATE and never commits
(``dap.accounts.privacy.delete_account`` owns the transaction).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.plans.models import PlanGoal
from dap.timecap.models import PlatformDay, WebActivity

#: the title an erased web activity keeps
ERASED_TITLE = "Web activity"

NAMES = ("platform_time", "web_activities")


def export_collections(user: User) -> dict[str, list[dict[str, Any]]]:
    """Their platform time per day and every web activity they logged (or that was logged
    for them). Two queries whatever the number of rows."""
    days = db.session.scalars(select(PlatformDay).where(PlatformDay.user_id == user.id)
                              .order_by(PlatformDay.day)).all()
    activities = db.session.execute(
        select(WebActivity, Cohort.name, PlanGoal.title)
        .join(Cohort, Cohort.id == WebActivity.cohort_id)
        .outerjoin(PlanGoal, PlanGoal.id == WebActivity.goal_id)
        .where(WebActivity.user_id == user.id)
        .order_by(WebActivity.local_date, WebActivity.id)).all()
    return {
        "platform_time": [{"day": d.day, "minutes": round(d.seconds / 60, 1)} for d in days],
        "web_activities": [
            {"cohort": cohort, "day": a.local_date, "kind": a.kind.value, "title": a.title,
             "url": a.url, "minutes": a.minutes, "goal": goal, "note": a.note,
             "logged_at": a.created_at,
             "logged_by_someone_else": a.created_by_id not in (None, user.id)}
            for a, cohort, goal in activities],
    }


def erase(user: User) -> None:
    """The words of their web-time log: titles become "Web activity", links and notes
    empty. Kept: the day, kind and minutes (the cohort's balance and insights)."""
    db.session.execute(update(WebActivity).where(WebActivity.user_id == user.id)
                       .values(title=ERASED_TITLE, url="", note=""))
