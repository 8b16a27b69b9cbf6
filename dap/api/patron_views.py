"""For patrons: the people I look after, as the patron home (``/patron``) shows them, read by
``dap.plans.patrons.overview`` (active links and memberships only; goals a participant keeps
"only me" never counted). Someone who is patron to nobody gets an empty list."""

from __future__ import annotations

from datetime import date

from flask import url_for
from flask_login import current_user
from sqlalchemy import func, select

from dap.api import schemas
from dap.api.routing import operation
from dap.extensions import db
from dap.plans import patrons
from dap.plans.models import CheckIn, Plan


def _last_check_in_days(keys: set[tuple[int, int]]) -> dict[tuple[int, int], date]:
    """``(cohort id, participant id)`` → the day of their latest check-in (one query)."""
    if not keys:
        return {}
    rows = db.session.execute(
        select(Plan.cohort_id, Plan.participant_id, func.max(CheckIn.local_date))
        .join(CheckIn, CheckIn.plan_id == Plan.id)
        .where(Plan.cohort_id.in_({cohort_id for cohort_id, _ in keys}),
               Plan.participant_id.in_({user_id for _, user_id in keys}))
        .group_by(Plan.cohort_id, Plan.participant_id)).all()
    return {(cohort_id, user_id): day for cohort_id, user_id, day in rows
            if (cohort_id, user_id) in keys}


@operation("GET", "/participants", summary="The participants I am patron to", tag="patrons",
           answer=schemas.LookedAfterList,
           description="What the patron home shows of each person, across cohorts, by name: "
                       "goals they share with patrons or their cohort (never those kept "
                       "\"only me\"), streak, latest activity and silence, pause, and this "
                       "week's time. An empty list for someone who is patron to nobody.")
def list_looked_after():
    glances = patrons.overview(current_user._get_current_object())
    last_days = _last_check_in_days({(g.cohort.id, g.person.participant_id) for g in glances})
    items = []
    for glance in glances:
        person, outlook = glance.person, glance.outlook
        activity = outlook.activity
        items.append(schemas.LookedAfterParticipant(
            participant_id=person.participant_id, participant_name=person.name,
            cohort_id=person.cohort.id, cohort_name=person.cohort.name,
            cohort_archived=person.cohort.is_archived, goals_active=glance.goals_active,
            goals_done=glance.goals_done, streak_weeks=glance.streak,
            last_check_in_day=last_days.get((person.cohort.id, person.participant_id)),
            last_activity_at=activity.at if activity is not None else None,
            last_activity_channel=activity.channel.value if activity is not None else None,
            silent_days=outlook.silent_for, paused=person.paused,
            paused_until=person.paused_until if person.paused else None,
            platform_minutes_this_week=(None if person.is_managed
                                        else glance.week.platform_minutes),
            web_minutes_this_week=glance.week.web_minutes,
            url=url_for("plans.plan", cohort_id=person.cohort.id,
                        membership_id=person.membership_id, _external=True)))
    return schemas.LookedAfterList(items=items)
