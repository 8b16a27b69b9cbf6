"""Demo data: one organisation running a realistic cohort, with the documented demo accounts,
a second cohort for senior leaders and a finished one to compare with (dap.demo_history).

Only ever loaded into an empty database (``flask --app dap demo``). The password is the
documented demo password and must never be used for real accounts.
"""

from __future__ import annotations

import random
import secrets
from datetime import timedelta

from dap.accounts.models import User
from dap.accounts.services import HashParams, hash_password
from dap.baseline.models import Answer, Assessment, Rating
from dap.baseline.services import ensure_baseline_checkpoint
from dap.clock import now_utc
from dap.cohorts.models import (
    Cohort,
    CohortRole,
    Invitation,
    InvitationKind,
    Membership,
    MembershipStatus,
    Organisation,
    PatronLink,
    Team,
)
from dap.demo_history import enrich_spring, load_autumn_cohort
from dap.extensions import db

DEMO_PASSWORD = "dap-demo-2026"

PARTICIPANTS = [
    # (email, name, team)
    ("participant@example.org", "Alex Morgan", "Customer Services"),
    ("jordan.lee@example.org", "Jordan Lee", "Customer Services"),
    ("sana.rahman@example.org", "Sana Rahman", "Communications"),
    ("tom.fletcher@example.org", "Tom Fletcher", "Communications"),
    ("grace.obi@example.org", "Grace Obi", "Policy"),
    ("martin.kowalski@example.org", "Martin Kowalski", "Policy"),
    ("helen.price@example.org", "Helen Price", "Senior Management"),
    ("dev.patel@example.org", "Dev Patel", "Senior Management"),
    ("lucy.ward@example.org", "Lucy Ward", "Customer Services"),
    ("owen.hughes@example.org", "Owen Hughes", "Communications"),
]

DESCRIPTION = """\
Twelve weeks of **little and often**: a kick-off workshop, short 1:1 sessions, and goals
in your Digital Action Plan that you try out on the wider web.

- Spend about half your learning time *off* the platform, trying things for real.
- Your patron is there to nudge, cajole and enthuse.
- Share what works (and what doesn't) in the cohort feed.
"""


LEADERS_DESCRIPTION = """\
Six weeks for the senior management team: what good digital engagement looks like from
the top, and how to lead a team that learns on the open web.
"""

LEADERS = [
    ("marcus.webb@example.org", "Marcus Webb"),
    ("amara.cole@example.org", "Amara Cole"),
    ("ian.frost@example.org", "Ian Frost"),
]


KICK_OFF_RECAP = """Thank you all for a lively start. We heard what people want from the
programme (less time lost to email, more confidence with video calls) and everyone left with
one thing to try this week.

**Next:** add your first goal to your plan, and invite a colleague to be your patron."""

KICK_OFF_DESCRIPTION = """The start of the programme: what the next twelve weeks look like,
stories from last year's cohort, and your first goal chosen before you leave.

- Meet your facilitator and your patrons
- Try three tools in pairs
- Leave with a first goal in your Digital Action Plan
"""


def load_demo(*, params: HashParams, timezone: str = "Europe/London") -> str:
    """Create the demo organisation, cohort and accounts. Flushes; the caller commits."""
    password_hash = hash_password(DEMO_PASSWORD, params)

    def user(email: str, name: str, **flags: bool) -> User:
        account = User(email=email, name=name, password_hash=password_hash, timezone=timezone,
                       **flags)
        db.session.add(account)
        return account

    user("admin@example.org", "Ada Admin", is_admin=True)
    facilitator = user("facilitator@example.org", "Sam Okafor", is_facilitator=True)
    patron = user("patron@example.org", "Priya Shah")
    second_patron = user("rita.mensah@example.org", "Rita Mensah")

    org = Organisation(name="Northfield Borough Council")
    db.session.add(org)
    teams = {name: Team(organisation=org, name=name) for name in
             ("Customer Services", "Communications", "Policy", "Senior Management")}
    db.session.add_all(teams.values())

    today = now_utc().date()
    cohort = Cohort(
        organisation=org,
        name="Digital Action Plan: Northfield spring cohort",
        description=DESCRIPTION,
        start_date=today - timedelta(days=21),
        end_date=today + timedelta(days=63),
        timezone=timezone,
        is_volunteer=True,
    )
    db.session.add(cohort)
    db.session.add(Membership(cohort=cohort, user=facilitator, role=CohortRole.FACILITATOR,
                              accepted_at=now_utc()))
    db.session.add(Membership(cohort=cohort, user=patron, role=CohortRole.PATRON,
                              team=teams["Customer Services"], accepted_at=now_utc()))
    db.session.add(Membership(cohort=cohort, user=second_patron, role=CohortRole.PATRON,
                              team=teams["Communications"], accepted_at=now_utc()))

    participants = []
    for i, (email, name, team) in enumerate(PARTICIPANTS):
        person = user(email, name)
        participants.append(person)
        db.session.add(Membership(cohort=cohort, user=person, role=CohortRole.PARTICIPANT,
                                  team=teams[team], accepted_at=now_utc(),
                                  is_visible=i % 3 != 2))
    # Someone with little digital access, whose plan the facilitator keeps for them.
    managed = User(email=None, name="Doris Kaye", password_hash="", is_managed=True,
                   timezone=timezone)
    db.session.add(managed)
    db.session.add(Membership(cohort=cohort, user=managed, role=CohortRole.PARTICIPANT,
                              team=teams["Customer Services"], accepted_at=now_utc()))
    # Someone invited who has not accepted yet.
    invitee = User(email="kai.newman@example.org", name="Kai Newman", password_hash="",
                   timezone=timezone)
    db.session.add(invitee)
    invited = Membership(cohort=cohort, user=invitee, role=CohortRole.PARTICIPANT,
                         team=teams["Policy"], status=MembershipStatus.INVITED)
    db.session.add(invited)
    db.session.flush()
    db.session.add(Invitation(kind=InvitationKind.MEMBERSHIP, cohort=cohort, membership=invited,
                              email=invitee.email, invited_by_id=facilitator.id,
                              nonce=secrets.token_hex(8), send_count=1,
                              last_sent_at=now_utc() - timedelta(days=2),
                              expires_at=now_utc() + timedelta(days=12)))

    for person in participants[:2] + participants[8:9]:
        db.session.add(PatronLink(cohort=cohort, patron=patron, participant=person))
    for person in participants[2:4] + participants[9:]:
        db.session.add(PatronLink(cohort=cohort, patron=second_patron, participant=person))

    # A second, assigned (not volunteer) cohort for senior leaders. The demo patron is a
    # participant here, so one person holds two roles in two cohorts.
    leaders = Cohort(
        organisation=org,
        name="Leading in a digital world: senior leaders",
        description=LEADERS_DESCRIPTION,
        start_date=today - timedelta(days=7),
        end_date=today + timedelta(days=49),
        timezone=timezone,
        is_volunteer=False,
        platform_minutes_per_week=45,
    )
    db.session.add(leaders)
    co_facilitator = user("jo.bright@example.org", "Jo Bright", is_facilitator=True)
    for person, role in ((facilitator, CohortRole.FACILITATOR),
                         (co_facilitator, CohortRole.FACILITATOR),
                         (patron, CohortRole.PARTICIPANT)):
        db.session.add(Membership(cohort=leaders, user=person, role=role,
                                  team=teams["Senior Management"]
                                  if role is CohortRole.PARTICIPANT else None,
                                  accepted_at=now_utc(), is_visible=True))
    leader_people = []
    for email, name in LEADERS:
        person = user(email, name)
        leader_people.append(person)
        db.session.add(Membership(cohort=leaders, user=person, role=CohortRole.PARTICIPANT,
                                  team=teams["Senior Management"], accepted_at=now_utc(),
                                  is_visible=True))
    db.session.add(Membership(cohort=leaders, user=second_patron, role=CohortRole.PATRON,
                              accepted_at=now_utc()))
    db.session.flush()
    for person in [patron, *leader_people[:2]]:
        db.session.add(PatronLink(cohort=leaders, patron=second_patron, participant=person))
    db.session.flush()
    goals = _demo_plans(cohort, participants[:6])
    _demo_time(cohort, participants[:6])
    _demo_reviews(cohort, participants[:2], patron)
    _demo_endorsements(cohort, participants[0], patron, facilitator)
    _demo_baseline(cohort, [*participants[1:], managed], facilitator, teams)
    _demo_feed(cohort, participants, facilitator)
    ensure_baseline_checkpoint(leaders)
    events = _demo_events(cohort, facilitator, participants)
    slots = _demo_support(cohort, facilitator, participants)
    # The history the insights pages compare with: the finished autumn cohort, then a few
    # more records in the spring one (nothing it has changes).
    autumn = load_autumn_cohort(org=org, facilitator=facilitator, password_hash=password_hash,
                                timezone=timezone)
    more_goals, nudges = enrich_spring(cohort)
    return (f"1 organisation, 3 cohorts: the running volunteer spring cohort "
            f"({goals + more_goals} plan goals with check-ins, {events} events, {slots} 1:1 slots, "
            f"{nudges} patron nudges, 1 participant gone quiet), the senior leaders cohort, "
            f"and the finished autumn cohort ({autumn}); {len(teams) + autumn.teams} teams, "
            f"{len(participants) + len(leader_people)} participants with accounts in the "
            "running cohorts (and the demo patron also a participant in the second cohort), "
            "1 kept for them by the facilitator, 1 invited, "
            f"{2 + autumn.teams} patrons, 2 facilitators, 1 admin")


def _demo_time(cohort: Cohort, people: list[User]) -> None:
    """Past weeks of platform and web time (since the cohort started), so the time chart
    has a history. This week
    gets web time but next to no platform time: the demo participants are never capped."""
    from dap.clock import local_date
    from dap.timecap.models import ActivityKind, PlatformDay, WebActivity

    today = local_date(now_utc(), cohort.timezone)
    monday = today - timedelta(days=today.weekday())
    kinds = list(ActivityKind)
    for n, person in enumerate(people):
        for week in range(1, 5):
            start = monday - timedelta(days=7 * week)
            for d, day in enumerate((start + timedelta(days=1), start + timedelta(days=3))):
                if day < cohort.start_date:
                    continue
                db.session.add(PlatformDay(user_id=person.id, day=day,
                                           seconds=480 + 120 * ((n + week + d) % 4),
                                           last_beat=0))
                db.session.add(WebActivity(
                    user_id=person.id, cohort_id=cohort.id, kind=kinds[(n + d) % len(kinds)],
                    title=DEMO_WEB[(n + week + d) % len(DEMO_WEB)], minutes=15 + 5 * ((n + d) % 3),
                    local_date=day + timedelta(days=1), created_by_id=person.id,
                    created_at=now_utc() - (today - day)))
        db.session.add(WebActivity(user_id=person.id, cohort_id=cohort.id, kind=ActivityKind.READ,
                                   title=DEMO_WEB[n % len(DEMO_WEB)], minutes=20, local_date=monday,
                                   created_by_id=person.id))
    db.session.flush()


def _demo_events(cohort: Cohort, facilitator: User, people: list[User]) -> int:
    """The kick-off (past: everyone who said so came; the facilitator's recap), a full
    workshop with a waitlist next week, and a fortnightly online conversation series."""
    import uuid
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    from dap.events.models import (
        Attendance,
        AttendanceMark,
        Event,
        EventKind,
        EventMode,
        RecapNote,
        Rsvp,
        RsvpStatus,
    )

    zone = ZoneInfo(cohort.timezone)
    today = now_utc().astimezone(zone).date()

    def at(day, hour: int) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)

    def event(day, hour: int, hours: int, **fields) -> Event:
        made = Event(cohort_id=cohort.id, starts_at=at(day, hour), ends_at=at(day, hour + hours),
                     uid=f"{uuid.uuid4().hex}@dap", created_by_id=facilitator.id, **fields)
        db.session.add(made)
        return made

    kick_off = event(cohort.start_date, 10, 3, kind=EventKind.KICK_OFF,
                     title="Kick-off: what could digital do for you?", mode=EventMode.IN_PERSON,
                     venue="Council Chamber", address="Town Hall, Market Square",
                     description=KICK_OFF_DESCRIPTION)
    workshop = event(today + timedelta(days=7 - today.weekday() + 1), 14, 2,
                     kind=EventKind.WORKSHOP, title="Writing for screens",
                     mode=EventMode.HYBRID, venue="Room 2.14", address="Town Hall",
                     join_url="https://meet.example.org/writing-for-screens", capacity=4,
                     description="Short sentences, front-loaded headings, plain words. Bring "
                                 "a page you wrote recently: we will rewrite it together.")
    series = uuid.uuid4().hex
    conversations = [event(today + timedelta(days=3 + 14 * n), 12, 1, kind=EventKind.CONVERSATION,
                           title="Lunchtime conversation: what worked this fortnight",
                           mode=EventMode.ONLINE, series_id=series,
                           join_url="https://meet.example.org/lunchtime")
                     for n in range(3)]
    db.session.flush()
    for person in people[:6]:
        db.session.add(Rsvp(event_id=kick_off.id, user_id=person.id, status=RsvpStatus.GOING))
        db.session.add(Attendance(event_id=kick_off.id, user_id=person.id,
                                  mark=AttendanceMark.ATTENDED, recorded_by_id=facilitator.id,
                                  recorded_at=kick_off.ends_at))
    db.session.add(RecapNote(event_id=kick_off.id, author_id=facilitator.id, body=KICK_OFF_RECAP,
                             created_at=kick_off.ends_at, updated_at=kick_off.ends_at))
    for n, person in enumerate(people[:6]):
        waiting = n >= workshop.capacity
        db.session.add(Rsvp(event_id=workshop.id, user_id=person.id,
                            status=RsvpStatus.WAITLISTED if waiting else RsvpStatus.GOING,
                            waitlisted_at=now_utc() + timedelta(seconds=n) if waiting else None))
    db.session.flush()
    return 2 + len(conversations)


def _demo_support(cohort: Cohort, facilitator: User, people: list[User]) -> int:
    """1:1 support: a past session (Alex, with private notes and two action points, one
    shared with patrons) and a morning of four 30-minute slots on the next weekday, one
    booked."""
    import uuid
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    from dap.support.models import (
        ActionPoint,
        SessionNotes,
        SlotMode,
        SupportBooking,
        SupportSlot,
    )

    zone = ZoneInfo(cohort.timezone)
    today = now_utc().astimezone(zone).date()

    def slot(day, hour: int, minute: int, **fields) -> SupportSlot:
        start = datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)
        made = SupportSlot(cohort_id=cohort.id, facilitator_id=facilitator.id, starts_at=start,
                           ends_at=start + timedelta(minutes=30), uid=f"{uuid.uuid4().hex}@dap-support",
                           **fields)
        db.session.add(made)
        return made

    past_day = today - timedelta(days=3)
    past = slot(past_day, 15, 0, mode=SlotMode.VIDEO, join_url="https://meet.example.org/one-to-one")
    next_day = today + timedelta(days=1)
    while next_day.weekday() >= 5:
        next_day += timedelta(days=1)
    block = uuid.uuid4().hex
    morning = [slot(next_day, 10 + n // 2, 30 * (n % 2), mode=SlotMode.IN_PERSON,
                    place="Room 2.14, Town Hall", block_id=block) for n in range(4)]
    db.session.flush()
    session = SupportBooking(slot_id=past.id, participant_id=people[0].id,
                             note="Getting started with shared calendars", booked_by_id=people[0].id,
                             created_at=past.starts_at - timedelta(days=2))
    db.session.add(session)
    db.session.add(SupportBooking(slot_id=morning[1].id, participant_id=people[1].id,
                                  note="Setting up a password manager", booked_by_id=people[1].id))
    db.session.flush()
    db.session.add(SessionNotes(booking_id=session.id, updated_by_id=facilitator.id,
                                body="Confident with email; calendars new. Follow up in two weeks."))
    db.session.add_all([
        ActionPoint(booking_id=session.id, created_by_id=facilitator.id, shared_with_patrons=True,
                    text="Share your team calendar with two colleagues"),
        ActionPoint(booking_id=session.id, created_by_id=facilitator.id,
                    text="Book the next workshop"),
    ])
    db.session.flush()
    return 1 + len(morning)


def _demo_reviews(cohort: Cohort, people: list[User], patron: User) -> None:
    """One plan reviewed by its patron (with a comment), one waiting for a facilitator."""
    from dap.plans.models import PlanComment, PlanReview, PlanState, ReviewStatus
    from dap.plans.services import plan_for

    reviewed, waiting = (plan_for(cohort, person) for person in people)
    db.session.add(PlanReview(plan=reviewed, requested_by_id=reviewed.participant_id,
                              reviewer_id=patron.id, message="Is this too much for a month?",
                              status=ReviewStatus.DONE, closed_at=now_utc() - timedelta(days=4),
                              closed_by_id=patron.id, created_at=now_utc() - timedelta(days=6),
                              comment="A good balance. Start with the listening goal."))
    db.session.add(PlanComment(plan=reviewed, author_id=patron.id,
                               created_at=now_utc() - timedelta(days=4),
                               body="Love the poll idea. Shall we try it at the team meeting?"))
    reviewed.state = PlanState.ACTIVE
    db.session.add(PlanReview(plan=waiting, requested_by_id=waiting.participant_id,
                              message="Could someone check my target dates?",
                              created_at=now_utc() - timedelta(days=1)))
    waiting.state = PlanState.IN_REVIEW
    db.session.flush()


def _demo_endorsements(cohort: Cohort, person: User, patron: User, facilitator: User) -> None:
    """The demo participant's first goal finished, and endorsed by their patron and the
    facilitator."""
    from dap.plans.models import GoalEndorsement
    from dap.plans.queries import goals_of
    from dap.plans.services import complete_goal, plan_for

    goals = goals_of(plan_for(cohort, person))
    if not goals:
        return
    goal = goals[0]
    complete_goal(goal, actor=person, evidence=[],
                  reflection="Found the three places residents talk about us: a Facebook "
                             "group, a neighbourhood app and our own forum.")
    goal.done_at = now_utc() - timedelta(days=2)
    for author, comment, days in ((patron, "Well done — the team huddle loved your three "
                                           "findings.", 1),
                                  (facilitator, "Great listening. Worth sharing with the "
                                                "cohort too?", 0)):
        at = now_utc() - timedelta(days=days, hours=3)
        db.session.add(GoalEndorsement(goal=goal, author_id=author.id, comment=comment,
                                       created_at=at, updated_at=at))
    db.session.flush()


DEMO_WEB = [
    "Read a guide to writing for screens",
    "Tried a free survey tool",
    "Joined a discussion on the council's community forum",
    "Made a short video of the recycling route",
    "Shared a residents' tips thread on the intranet",
    "Compared three password managers",
]

#: (library slug or None for an own goal, title for own goals, progress steps)
DEMO_GOALS = [
    ("find-where-people-talk-about-your-service", None, [10, 35, 60]),
    ("write-a-page-people-can-scan-in-30-seconds", None, [20, 40]),
    (None, "Answer one resident's question on our Facebook page each week", [25]),
]
DEMO_NOTES = [
    "Set up two saved searches for our service name",
    "Read a week of comments; most are about opening times",
    "Shared three findings with the team huddle",
    "Drafted the page; tested it on a colleague",
    "Cut the page by half after the 30-second test",
    "Answered a question about bin days",
]


def _demo_plans(cohort: Cohort, people: list[User]) -> int:
    """A few goals and a couple of weeks of check-ins, so plan pages look lived in."""
    from dap.content.library import current_library
    from dap.plans import services as plans

    library = current_library()
    made = 0
    now = now_utc()
    for n, person in enumerate(people):
        plan = plans.plan_for(cohort, person)
        plan.days_per_week = 2
        plan.rhythm_days = [1, 3]
        plan.rhythm_time = "12:30"
        for g, (slug, title, steps) in enumerate(DEMO_GOALS[: 3 - n % 2]):
            library_goal = library.goals.get(slug) if slug else None
            if slug and library_goal is None:
                continue  # the library changed; skip rather than fail the demo
            goal = (plans.adopt_goal(plan, library_goal, actor=person,
                                     why="I want to hear residents before we decide")
                    if library_goal else plans.write_goal(plan, actor=person, title=title))
            made += 1
            for i, progress in enumerate(steps):
                entry = plans.check_in(goal, actor=person, progress=progress,
                                       minutes=10 + 5 * i,
                                       note=DEMO_NOTES[(g * 2 + i) % len(DEMO_NOTES)])
                when = now - timedelta(days=3 + 5 * (len(steps) - i) + n + g)
                entry.created_at = when
                entry.local_date = when.date()
    db.session.flush()
    return made


#: what demo participants wrote in the baseline (needs; barriers picked; more on barriers)
BASELINE_WORDS = [
    ("Confidence to answer residents on our Facebook page without checking every word.",
     "time confidence", "Our team inbox fills the day."),
    ("I'd like to plan posts ahead instead of scrambling on the day.", "time", ""),
    ("Help turning long web pages into something people can actually read.",
     "it-restrictions", "Half the tools in the workshop examples are blocked on our laptops."),
    ("To run an online consultation that more than the usual twenty people answer.",
     "time it-restrictions", "We can't install anything and the VPN drops video calls."),
    ("Someone to show me the basics of the shared drive so I stop emailing attachments.",
     "confidence", ""),
    ("I need to understand what the team does online so I can back them up.",
     "time", "Diary is full; I'll do it in short bursts."),
    ("Ways to hear what people are saying about us before it becomes a complaint.",
     "it-restrictions access", "My work phone is too old for most apps."),
    ("A safe way to try things out without it going out under the council's name.",
     "confidence other", "Worried about getting something wrong in public."),
    ("", "access", "I only use a computer when I come in to the office."),
    ("To write a success story of the litter-pick campaign for other teams.", "time", ""),
]

#: each team's usual starting point per area (the demo's ratings vary around it)
TEAM_LEVELS = {"Customer Services": 2.2, "Communications": 3.4, "Policy": 2.6,
               "Senior Management": 2.0}


def _demo_baseline(cohort: Cohort, people: list[User], facilitator: User,
                   teams: dict[str, Team]) -> None:
    """Sent baselines for ``people`` (the managed one recorded by the facilitator), rated
    around their team's level, with needs and barriers in their own words; the demo
    participant has not taken it yet, so signing in shows the invitation."""
    from dap.content.baseline import current_baseline

    baseline = current_baseline()
    if not baseline.is_available:
        return
    checkpoint = ensure_baseline_checkpoint(cohort)
    rng = random.Random(9)
    team_of = {m.user_id: m.team for m in cohort.memberships}
    sent = now_utc() - timedelta(days=18)
    for n, person in enumerate(people):
        assessment = Assessment(checkpoint_id=checkpoint.id, cohort_id=cohort.id,
                                user_id=person.id, started_at=sent, updated_at=sent,
                                submitted_at=sent + timedelta(minutes=12),
                                recorded_by_id=facilitator.id if person.is_managed else None)
        db.session.add(assessment)
        db.session.flush()
        team = team_of.get(person.id)
        level = TEAM_LEVELS.get(team.name if team else "", 2.5)
        for area_index, area in enumerate(baseline.areas.values()):
            lean = (area_index % 3 - 1) * 0.6
            for statement in area.statements:
                value = round(level + lean + rng.uniform(-1.2, 1.2))
                db.session.add(Rating(assessment_id=assessment.id, statement_id=statement.id,
                                      area=area.slug, value=min(5, max(1, value))))
        needs, barriers, more = BASELINE_WORDS[n % len(BASELINE_WORDS)]
        if needs:
            db.session.add(Answer(assessment_id=assessment.id, question_id="needs", text=needs,
                                  choices=""))
        db.session.add(Answer(assessment_id=assessment.id, question_id="barriers", text=more,
                              choices=barriers))
    db.session.flush()


#: (author index in PARTICIPANTS, kind, days ago, body, success story?)
DEMO_POSTS = [
    (1, "tip", 9, "Quick win: we put our opening hours in the **pinned post** on the Facebook "
                  "page and the same question dropped from ten a day to two.", False),
    (2, "question", 6, "Has anyone found a way to schedule posts when the scheduling tools "
                       "are blocked on our laptops?", False),
    (4, "story", 5, "Our **door-to-door** survey on the new bus route got 46 replies in an "
                    "afternoon; the online one got 12 in a week. Next time we'll do both and "
                    "link them with a QR code on the leaflet.", True),
    (3, "reflection", 3, "Tried explaining a policy change in 30 seconds of video. Harder than "
                         "writing 300 words — but the video got three times the views.", False),
    (8, "recap", 1, "Notes from Tuesday's workshop: the best idea was answering one "
                    "resident's question in public each week. I've made it a goal.", False),
]

#: (post index, commenter index, text)
DEMO_COMMENTS = [
    (1, 3, "We use the phone app for scheduling: it isn't blocked. Ask IT about the app store."),
    (1, 0, "Same problem here. @Tom Fletcher, does the app need admin rights?"),
    (2, 1, "Brilliant comparison — exactly the kind of thing we should test."),
    (0, 8, "Stealing this for our page!"),
]


def _demo_feed(cohort: Cohort, people: list[User], facilitator: User) -> None:
    """A week of the cohort feed: tips, an answered question, a featured success story from
    door-to-door work, comments and kudos; two volunteer sharers."""
    from dap.community.models import Comment, Kudos, Post, PostKind

    posts = []
    for author, kind, days, body, story in DEMO_POSTS:
        at = now_utc() - timedelta(days=days, hours=2)
        post = Post(cohort_id=cohort.id, author_id=people[author].id, kind=PostKind(kind),
                    body=body, created_at=at, story_at=at if story else None,
                    featured_at=at + timedelta(hours=5) if story else None,
                    featured_by_id=facilitator.id if story else None)
        posts.append(post)
    db.session.add_all(posts)
    db.session.flush()
    posts[1].answered_at = posts[1].created_at + timedelta(hours=4)
    for index, author, text in DEMO_COMMENTS:
        db.session.add(Comment(post_id=posts[index].id, author_id=people[author].id, body=text,
                               created_at=posts[index].created_at + timedelta(hours=1)))
    for n, post in enumerate(posts):
        for giver in people[: 3 + n]:
            if giver.id != post.author_id:
                db.session.add(Kudos(post_id=post.id, user_id=giver.id))
    for membership in cohort.memberships:
        if membership.user_id in (people[4].id, people[8].id):
            membership.is_volunteer_sharer = True
    db.session.flush()
