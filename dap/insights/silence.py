"""Noticing silence: "sometimes we see nothing at all".

A participant with no activity (dap.insights.activity: a check-in, web time, an event
answer or attendance, a 1:1, a post or comment in the cohort feed) for their cohort's
``silent_after_days`` — counted from joining when there is none — is silent. Each *episode*
of silence is noticed once: the participant gets one encouraging message, each of their
active patrons one alert, and the roster flags them for the facilitators. The episode is
named by the moment the silence began (their last activity, or joining), so the dedup keys
``silent:<cohort>:<user>:<since>`` (and ``…:patron:<patron>``) never repeat within it; when
they come back, their last activity moves on and the next silence is a new episode.

A pause is not silence: while a plan is paused nobody is told, and afterwards the count
starts again from the day after the pause. Not told either: managed participants (their
facilitator keeps their plan: the roster is where it shows), cohorts that are archived or
not running today.

Set-based: one query for the participants of running cohorts, one for paused plans, six
for everyone's last activity, one for the episodes already noticed, one for the patrons,
then one ``send`` and one webhook ``emit_each``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dap.accounts.models import User
from dap.clock import local_date
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus, PatronLink
from dap.extensions import db
from dap.insights.activity import Activity, last_activities
from dap.nudges.models import Notification, NotificationKind
from dap.nudges.notify import Message, send
from dap.plans.models import Plan
from dap.webhooks import services as webhooks


@dataclass(frozen=True)
class Silence:
    cohort: Cohort
    person: User
    membership_id: int
    since: datetime
    days: int

    @property
    def key(self) -> str:
        return f"silent:{self.cohort.id}:{self.person.id}:{int(self.since.timestamp())}"


def pause_state(paused_from: date | None, paused_until: date | None, timezone: str,
                now: datetime) -> tuple[bool, datetime | None]:
    """Whether a plan paused from ``paused_from`` to ``paused_until`` (days in the cohort's
    time zone) is paused at ``now``, and, once the pause is over, the moment the plan was
    back on (midnight after its last day): the silence count starts again there."""
    if paused_from is None or paused_until is None:
        return False, None
    today = local_date(now, timezone)
    if paused_from <= today <= paused_until:
        return True, None
    if paused_until < today:
        day = paused_until + timedelta(days=1)
        return False, datetime(day.year, day.month, day.day,
                               tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    return False, None


def episode_start(activity: Activity | None, joined_at: datetime,
                  back_on: datetime | None) -> datetime:
    """When the current quiet began: the latest activity (joining, when there is none), or
    the end of a pause if that came later. A pause is not silence."""
    since = activity.at if activity is not None else joined_at
    return max(since, back_on) if back_on is not None else since


def silence_of(cohort: Cohort, membership: Membership, *, now: datetime) -> Silence | None:
    """``membership``'s current episode of silence at ``now`` (noticed or not), by the rules of
    ``silences``; None when they are not silent, are paused, are kept by a facilitator, or
    are not an active participant. Eight queries."""
    person = membership.user
    if (membership.role is not CohortRole.PARTICIPANT or person.is_managed
            or membership.status is not MembershipStatus.ACTIVE):
        return None
    pause = db.session.execute(select(Plan.paused_from, Plan.paused_until).where(
        Plan.cohort_id == cohort.id, Plan.participant_id == person.id)).first()
    paused, back_on = pause_state(*(pause or (None, None)), cohort.timezone, now)
    if paused:
        return None
    activity = last_activities([(cohort.id, person.id)]).get((cohort.id, person.id))
    since = episode_start(activity, membership.joined_at, back_on)
    quiet = now - since
    if quiet < timedelta(days=cohort.silent_after_days):
        return None
    return Silence(cohort, person, membership.id, since, quiet.days)


def silences(now: datetime) -> list[Silence]:
    """Every participant silent at ``now`` whose current episode has not been noticed."""
    rows = db.session.execute(
        select(Membership.id, Membership.joined_at, Cohort, User)
        .join(Cohort, Cohort.id == Membership.cohort_id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.role == CohortRole.PARTICIPANT,
               Membership.status == MembershipStatus.ACTIVE, Cohort.is_archived.is_(False),
               Cohort.start_date <= (now + timedelta(days=1)).date(),
               Cohort.end_date >= (now - timedelta(days=1)).date(),
               User.is_active.is_(True), User.deleted_at.is_(None),
               User.is_managed.is_(False))).all()
    running = [(mid, joined, cohort, person) for mid, joined, cohort, person in rows
               if cohort.start_date <= local_date(now, cohort.timezone) <= cohort.end_date]
    if not running:
        return []
    cohort_ids = list({cohort.id for _, _, cohort, _ in running})
    user_ids = list({person.id for _, _, _, person in running})
    paused = set()
    back_on: dict[tuple[int, int], datetime] = {}  # the end of their last pause
    for cohort_id, user_id, start, until, tz in db.session.execute(
            select(Plan.cohort_id, Plan.participant_id, Plan.paused_from, Plan.paused_until,
                   Cohort.timezone)
            .join(Cohort, Cohort.id == Plan.cohort_id)
            .where(Plan.cohort_id.in_(cohort_ids), Plan.participant_id.in_(user_ids),
                   Plan.paused_from.is_not(None), Plan.paused_until.is_not(None))):
        is_paused, back = pause_state(start, until, tz, now)
        if is_paused:
            paused.add((cohort_id, user_id))
        elif back is not None:
            back_on[(cohort_id, user_id)] = back
    latest = last_activities((cohort.id, person.id) for _, _, cohort, person in running)
    noticed = set(db.session.scalars(select(Notification.dedup_key).where(
        Notification.kind == NotificationKind.SILENT, Notification.cohort_id.in_(cohort_ids))))
    found = []
    for membership_id, joined_at, cohort, person in running:
        if (cohort.id, person.id) in paused:
            continue
        since = episode_start(latest.get((cohort.id, person.id)), joined_at,
                              back_on.get((cohort.id, person.id)))
        quiet = now - since
        if quiet < timedelta(days=cohort.silent_after_days):
            continue
        silence = Silence(cohort, person, membership_id, since, quiet.days)
        if silence.key not in noticed:
            found.append(silence)
    return found


def notice_silences(*, now: datetime, base_url: str | None = None) -> int:
    """Tell each newly silent participant, and their patrons, once per episode; returns how
    many participants were noticed."""
    found = silences(now)
    if not found:
        return 0
    patrons: dict[tuple[int, int], list[User]] = defaultdict(list)
    for cohort_id, participant_id, patron in db.session.execute(
            select(PatronLink.cohort_id, PatronLink.participant_id, User)
            .join(User, User.id == PatronLink.patron_id)
            .join(Membership, (Membership.cohort_id == PatronLink.cohort_id)
                  & (Membership.user_id == PatronLink.patron_id))
            .where(PatronLink.cohort_id.in_({s.cohort.id for s in found}),
                   PatronLink.participant_id.in_({s.person.id for s in found}),
                   PatronLink.ended_at.is_(None), Membership.status == MembershipStatus.ACTIVE,
                   User.is_active.is_(True))):
        patrons[(cohort_id, participant_id)].append(patron)
    messages = []
    webhooks.emit_each("participant.silent", [
        (s.cohort.id, webhooks.participant_silent(s.person, days=s.days, since=s.since))
        for s in found])
    for s in found:
        first = s.person.first_name
        messages.append(Message(
            person=s.person, kind=NotificationKind.SILENT, cohort=s.cohort, dedup_key=s.key,
            title=f"We have not seen you for a while in {s.cohort.name}",
            body=("Busy weeks happen, and time for your own learning is often the first thing "
                  "to go. Ten minutes is enough to pick it up again: check in on one goal, "
                  "log something you tried on the web, or book a 1:1 if you are stuck. "
                  "If now is not a good time, you can pause your plan without losing your "
                  "streak."),
            link=f"/cohorts/{s.cohort.id}/plan"))
        for patron in patrons[(s.cohort.id, s.person.id)]:
            messages.append(Message(
                person=patron, kind=NotificationKind.PATRON_ALERT, cohort=s.cohort,
                sender=None, dedup_key=f"{s.key}:patron:{patron.id}",
                title=f"{s.person.name} has gone quiet",
                body=(f"Nothing from {first} in {s.cohort.name} for {s.days} days. A word "
                      "from you could make the difference: a nudge, or a chat over coffee "
                      "about what gets in the way."),
                link=f"/cohorts/{s.cohort.id}/people/{s.membership_id}/nudge"))
    send(messages, base_url=base_url)
    return len(found)
