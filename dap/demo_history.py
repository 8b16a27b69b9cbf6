"""Demo history: a finished cohort whose three teams tell three different stories, and a
little more life in the running one, so that every insights chart has something to show.

The *autumn cohort* (twelve weeks that ended about five weeks ago, facilitated by the demo
facilitator) is the one the running spring cohort is compared with:

- **Housing Services** came to the kick-off and the fortnightly workshops, had 1:1
  sessions, and finished the most goals;
- **Libraries** never came to a workshop: they worked online, checking in two or three
  times a week, with plenty of web time and most of the feed's posts, and did well too;
- **Parks and Open Spaces** started keenly at the kick-off and said yes to two workshops
  they then missed; outdoor staff sharing one computer at the depot, they went quiet after
  week 4, and their patron's nudges went unanswered.

Two people invited never joined. Everything is drawn from ``random.Random(SEED)`` and dated
from today, so two loads on the same day make the same records; volume goes in as bulk
``insert()`` of plain rows. Nothing here signs anyone in or sends anything: the rows are
what the services would have left behind.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from dap.accounts.models import User
from dap.baseline.models import Answer, Assessment, Checkpoint, CheckpointKind, Rating
from dap.clock import local_date, now_utc
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
from dap.community.models import Comment, Kudos, Post, PostKind
from dap.content.baseline import current_baseline
from dap.content.library import current_library
from dap.content.nudges import nudge_template, render_nudge
from dap.events.models import (
    Attendance,
    AttendanceMark,
    Event,
    EventFeedback,
    EventKind,
    EventMode,
    RecapNote,
    Rsvp,
    RsvpStatus,
)
from dap.extensions import db
from dap.nudges.models import EmailState, Notification, NotificationKind, Reaction
from dap.plans.models import (
    CheckIn,
    GoalEndorsement,
    GoalStatus,
    Plan,
    PlanGoal,
    PlanState,
    Visibility,
)
from dap.support.models import (
    ActionPoint,
    BookingStatus,
    SessionNotes,
    SlotMode,
    SupportBooking,
    SupportSlot,
)
from dap.timecap.models import ActivityKind, PlatformDay, WebActivity

SEED = 2025
AUTUMN_NAME = "Digital Action Plan: Northfield autumn cohort"
WEEKS = 12
#: the cohort ended at least this many days ago (on the Sunday of its twelfth week)
ENDED_DAYS_AGO = 35

AUTUMN_DESCRIPTION = """\
Twelve weeks of **little and often** for Housing Services, Libraries and Parks and Open
Spaces: a kick-off, a workshop every fortnight, 1:1 sessions, and goals in your Digital
Action Plan that you try out on the wider web.
"""


@dataclass(frozen=True)
class TeamStory:
    """How one team of the autumn cohort behaved, week by week."""

    team: str
    patron: tuple[str, str]
    people: tuple[tuple[str, str], ...]
    #: the last of the twelve weeks with any activity
    last_week: int
    goal_slugs: tuple[str, ...]
    own_goal: str
    goals_each: tuple[int, int]
    done_each: tuple[int, int]
    check_ins_per_week: tuple[int, int]
    check_in_minutes: tuple[int, int]
    web_per_week: tuple[int, int]
    web_minutes: tuple[int, int]
    #: platform minutes per web minute (the cohort's web share is 0.5: 1.0 is on target)
    platform_ratio: float
    #: the chance that someone who said "going" to a workshop came (0: never answered)
    turnout: float
    #: their starting point in the skills baseline (1 to 5)
    level: float
    days_per_week: int
    learning: str
    needs: tuple[str, ...]
    barriers: str
    barriers_more: str
    web_titles: tuple[str, ...]


HOUSING = TeamStory(
    team="Housing Services",
    patron=("bernadette.walsh@example.org", "Bernadette Walsh"),
    people=(("aisha.khan@example.org", "Aisha Khan"), ("ben.carter@example.org", "Ben Carter"),
            ("chloe.evans@example.org", "Chloe Evans"), ("daniel.osei@example.org", "Daniel Osei"),
            ("emma.novak@example.org", "Emma Novak"), ("farhan.ali@example.org", "Farhan Ali"),
            ("gemma.reid@example.org", "Gemma Reid"), ("harry.doyle@example.org", "Harry Doyle")),
    last_week=12,
    goal_slugs=("answer-a-public-question-online-well", "rewrite-a-standard-letter-in-plain-english",
                "run-a-consultation-online-and-in-person", "help-someone-who-is-not-online-take-part",
                "write-a-page-people-can-scan-in-30-seconds", "find-where-people-talk-about-your-service",
                "host-your-first-online-meeting-with-a-shared-agenda",
                "turn-a-paper-form-into-an-accessible-online-form"),
    own_goal="Answer the estate's Facebook group questions within a day",
    goals_each=(3, 4), done_each=(2, 3), check_ins_per_week=(1, 2), check_in_minutes=(10, 30),
    web_per_week=(1, 2), web_minutes=(15, 35), platform_ratio=0.9, turnout=0.85, level=2.3,
    days_per_week=1,
    learning="Watching someone do it first, then trying it with them nearby.",
    needs=("Confidence to answer tenants online without checking every word with my manager.",
           "Plain letters: ours read like legal notices.",
           "A way to hear from tenants who never come to meetings.",
           "Getting repair forms online so people stop queueing at the office."),
    barriers="time confidence", barriers_more="The phones never stop on a Monday.",
    web_titles=("Read the plain English guide to writing letters",
                "Tried an online survey tool for the estate consultation",
                "Answered two tenants' questions in the estate Facebook group",
                "Watched a video on running hybrid meetings",
                "Rewrote the rent arrears letter and tested it on a colleague",
                "Looked at how another council puts repairs online"),
)

LIBRARIES = TeamStory(
    team="Libraries",
    patron=("femi.adeyemi@example.org", "Femi Adeyemi"),
    people=(("imogen.hart@example.org", "Imogen Hart"), ("jamal.bakr@example.org", "Jamal Bakr"),
            ("kirsty.munro@example.org", "Kirsty Munro"), ("liam.byrne@example.org", "Liam Byrne"),
            ("maya.singh@example.org", "Maya Singh"), ("nathan.brooks@example.org", "Nathan Brooks"),
            ("olivia.chen@example.org", "Olivia Chen"), ("peter.nash@example.org", "Peter Nash")),
    last_week=12,
    goal_slugs=("curate-a-weekly-links-round-up", "post-little-and-often-for-two-weeks",
                "take-clearer-photos-on-your-phone", "make-a-one-minute-explainer-video",
                "keep-a-tagged-reading-list", "build-a-list-of-accounts-worth-following",
                "caption-and-describe-your-images-and-video", "share-a-success-story"),
    own_goal="Post the week's new books every Friday",
    goals_each=(3, 4), done_each=(1, 3), check_ins_per_week=(2, 3), check_in_minutes=(15, 40),
    web_per_week=(1, 3), web_minutes=(20, 40), platform_ratio=0.55, turnout=0.0, level=2.8,
    days_per_week=2,
    learning="Trying things out on my own, with a short video when I get stuck.",
    needs=("Ideas for reaching families who don't know what the library does now.",
           "Better photos of events: ours are dark and blurry.",
           "Time set aside to try things without the desk queue.",
           "A routine for posting that doesn't depend on one person."),
    barriers="time it-restrictions", barriers_more="Video sites are blocked on the staff PCs.",
    web_titles=("Curated five links for the weekly round-up", "Edited a one-minute video on a phone app",
                "Read a guide to alt text", "Joined a librarians' conversation about reading lists",
                "Followed twenty local groups and schools", "Tried three free photo editing apps",
                "Shared the story-time video on the library page", "Read a thread on posting schedules"),
)

PARKS = TeamStory(
    team="Parks and Open Spaces",
    patron=("gareth.lloyd@example.org", "Gareth Lloyd"),
    people=(("rachel.moss@example.org", "Rachel Moss"), ("stuart.lane@example.org", "Stuart Lane"),
            ("tariq.hussain@example.org", "Tariq Hussain"), ("una.kelly@example.org", "Una Kelly"),
            ("victor.mendes@example.org", "Victor Mendes"), ("wendy.shaw@example.org", "Wendy Shaw"),
            ("yusuf.demir@example.org", "Yusuf Demir"), ("zoe.barker@example.org", "Zoe Barker")),
    last_week=4,
    goal_slugs=("set-strong-unique-passwords-with-a-password-manager", "turn-on-two-step-verification",
                "take-clearer-photos-on-your-phone", "write-a-profile-that-says-what-you-do",
                "build-a-list-of-accounts-worth-following"),
    own_goal="Post a photo of the park each week",
    goals_each=(1, 2), done_each=(0, 0), check_ins_per_week=(1, 2), check_in_minutes=(10, 20),
    web_per_week=(0, 1), web_minutes=(10, 20), platform_ratio=1.4, turnout=0.5, level=2.2,
    days_per_week=2,
    learning="Working it out with a colleague.",
    needs=("Photos of the parks that do them justice.", "To stop forgetting passwords.",
           "Something I can do on my phone between jobs."),
    barriers="time access", barriers_more="We're out on site all day and share one computer at the depot.",
    web_titles=("Read about password managers", "Tried taking photos in portrait mode",
                "Looked at the Friends of Elm Park page"),
)

STORIES = (HOUSING, LIBRARIES, PARKS)

#: invited, never joined: (email, name, team)
NEVER_JOINED = (("carl.jensen@example.org", "Carl Jensen", PARKS.team),
                ("nina.rossi@example.org", "Nina Rossi", LIBRARIES.team))

#: (week, weekday, hour, hours, kind, mode, title, description)
AUTUMN_EVENTS = (
    (1, 1, 10, 3, EventKind.KICK_OFF, EventMode.IN_PERSON, "Kick-off: what could digital do for you?",
     "Twelve weeks of little and often start here: stories from other councils, three tools "
     "tried in pairs, and a first goal chosen before you leave."),
    (3, 2, 14, 2, EventKind.WORKSHOP, EventMode.HYBRID, "Listening before talking",
     "Where residents talk about our services, and how to hear them before it becomes a "
     "complaint."),
    (5, 1, 14, 2, EventKind.WORKSHOP, EventMode.HYBRID, "Writing for screens",
     "Short sentences, front-loaded headings, plain words. Bring a letter or a page to rewrite."),
    (7, 2, 14, 2, EventKind.WORKSHOP, EventMode.HYBRID, "Photos and one-minute videos on your phone",
     "Light, framing, consent and captions: make something worth sharing in twenty minutes."),
    (9, 1, 14, 2, EventKind.WORKSHOP, EventMode.HYBRID, "Online and in person: a consultation both ways",
     "Door-to-door and online together: who each one reaches, and how to link them."),
    (11, 2, 14, 2, EventKind.WORKSHOP, EventMode.HYBRID, "Measuring what worked",
     "Compare the efficiency of what you tried, online and offline, with figures you already have."),
    (12, 4, 16, 1, EventKind.MEET_UP, EventMode.IN_PERSON, "Celebration: what we learnt",
     "Cake, certificates and three-minute stories from each team."),
)

KICK_OFF_RECAP = """A full Council Chamber and a lot of energy. Housing want to hear from
tenants who never come to meetings; Parks want photos that do the parks justice; Libraries
(who could not make it) sent their goals by email.

**Next:** the first workshop, *Listening before talking*, in two weeks."""

CONSULTATION_RECAP = """Chloe's door-to-door and online comparison on Elm Court was the
highlight: 41 answers on the doorstep, 23 online, but from different people. Everyone left
with one way to link the two (a QR code on the leaflet)."""

CHECK_IN_NOTES = (
    "Fifteen minutes at lunch; made a start", "Tried it with a colleague watching",
    "Got stuck, found a video that explained it", "Halfway there", "Tested it on a friend",
    "Shared a draft with the team", "Cut it down by half", "Nearly there: one more go",
    "Tried it on my phone between jobs", "Asked the group for feedback",
)

REFLECTIONS = (
    "Harder than it looked, but the second try took half the time.",
    "The team uses it now without me asking.",
    "Residents noticed: two people thanked us for the clearer version.",
    "I'd never have tried this on my own; doing it little and often made it stick.",
    "Worth it. I'm showing a colleague next week.",
)

SESSION_NOTES = (
    "Confident once shown; wants to try it alone before the next workshop.",
    "Worried about getting it wrong in public. Agreed a practice run on the team page first.",
    "Good progress on the letter rewrite. Suggested the 30-second test.",
    "Needs admin rights for the survey tool: raised with IT.",
)

ACTION_POINTS = (
    ("Rewrite one standard letter and test it on a tenant", True),
    ("Ask IT about the survey tool", False),
    ("Answer one question in the estate group this week", True),
    ("Try the practice page before posting for real", False),
)

FEEDBACK = (
    (5, "Trying it in pairs, with real examples from our work.", ""),
    (4, "The before-and-after examples.", "A bit more time to practise."),
    (5, "Leaving with something finished.", ""),
    (3, "Useful ideas.", "Too much at once for a beginner."),
    (4, "Hearing what other teams tried.", "Start on time, please."),
)

#: (team, author index in the team, week, weekday, kind, body, story?, featured?, shared?)
AUTUMN_POSTS = (
    (LIBRARIES, 0, 1, 4, "tip", "Our **weekly links round-up** is now a saved search plus ten minutes on "
     "a Friday. Happy to share the search terms.", False, False, False),
    (PARKS, 0, 2, 1, "question", "How do you get photos off a work phone when you have no laptop? "
     "Emailing them to myself loses the quality.", False, False, False),
    (LIBRARIES, 2, 2, 3, "reflection", "Day three of posting little and often. The fear goes after the "
     "second post.", False, False, False),
    (HOUSING, 1, 3, 3, "recap", "Notes from *Listening before talking*: we found the estate's Facebook "
     "group has three times the members of our tenants' forum.", False, False, False),
    (PARKS, 3, 3, 4, "reflection", "Took a photo of the rose garden in portrait mode. Better, but the "
     "light was wrong. Trying again at 8 am.", False, False, False),
    (LIBRARIES, 4, 4, 2, "tip", "Alt text tip from the guide: say what matters in the picture for the "
     "post, not everything in it.", False, False, False),
    (HOUSING, 4, 5, 2, "recap", "Writing for screens: we rewrote the rent letter in the session. "
     "Half the length, and the tenants' panel preferred it five to one.", False, False, False),
    (LIBRARIES, 5, 5, 4, "question", "Does anyone schedule posts from their phone? The tools are "
     "blocked on our PCs.", False, False, False),
    (LIBRARIES, 4, 7, 1, "story", "**Story time, filmed.** A one-minute video of Saturday's story "
     "time (consent forms signed) reached 1,900 people on the library page, and eleven families "
     "came the following week saying they had seen it. Twenty minutes and a phone.",
     True, True, True),
    (LIBRARIES, 7, 8, 3, "reflection", "Keeping a tagged reading list means I can answer 'where was "
     "that article?' in seconds. Small thing, daily win.", False, False, False),
    (HOUSING, 2, 9, 3, "story", "**Door to door and online.** On Elm Court we knocked on 60 doors and "
     "put the same five questions online: 41 answers on the doorstep, 23 online, and the online "
     "ones came from shift workers and younger tenants we never meet. Next time: a QR code on the "
     "leaflet so each channel feeds the other.", True, True, False),
    (LIBRARIES, 1, 10, 2, "tip", "Captions on every video: the views went up, and so did the "
     "comments from people watching with the sound off.", False, False, False),
    (HOUSING, 6, 11, 1, "reflection", "Measured our two ways of asking for repairs feedback: the text "
     "message got four times the replies of the paper form.", False, False, False),
    (HOUSING, 0, 12, 3, "recap", "What we learnt, in one line each, from the celebration: little and "
     "often works, and so does asking in person *and* online.", False, False, False),
)

#: (post index, team, commenter index, hours later, text)
AUTUMN_COMMENTS = (
    (1, LIBRARIES, 3, 5, "A shared album in the photos app keeps the full quality. Happy to show you."),
    (1, PARKS, 0, 30, "Thanks, that worked!"),
    (2, HOUSING, 4, 6, "Good to hear. I'm on day one and nervous."),
    (3, LIBRARIES, 0, 4, "Same for our library's page: the local groups are where people are."),
    (4, LIBRARIES, 6, 3, "Golden hour is worth the early start. Lovely shot."),
    (7, HOUSING, 5, 2, "The phone app isn't blocked for us. Worth asking IT."),
    (7, LIBRARIES, 5, 26, "IT said yes to the app. Scheduled three posts already."),
    (8, HOUSING, 2, 3, "Brilliant. Can we borrow the consent form?"),
    (8, LIBRARIES, 1, 4, "Lovely. The families' faces say it all."),
    (10, LIBRARIES, 4, 2, "Really useful comparison. Which questions got the most answers online?"),
    (10, HOUSING, 2, 5, "The repairs one, by far. Nobody wants to say that on the doorstep."),
    (12, LIBRARIES, 7, 4, "Texting: we should try that for reservations."),
)

#: (team, person index, week, weekday, template slug, reaction or None, read?); "you finished
#: a goal" goes the day after the person's first finished goal instead (none if they have none)
AUTUMN_NUDGES = (
    (HOUSING, 0, 2, 0, "fancy-a-one-to-one", Reaction.ON_IT, True),
    (HOUSING, 1, 3, 3, "great-to-see-you-at-the-workshop", Reaction.THUMBS_UP, True),
    (HOUSING, 2, 4, 1, "first-time-out-there", Reaction.THUMBS_UP, True),
    (HOUSING, 3, 5, 3, "great-to-see-you-at-the-workshop", None, True),
    (HOUSING, 4, 6, 0, "you-finished-a-goal", Reaction.THUMBS_UP, True),
    (HOUSING, 5, 6, 2, "nearly-there", Reaction.ON_IT, True),
    (HOUSING, 6, 7, 1, "stuck-ask-for-help", Reaction.ON_IT, True),
    (HOUSING, 3, 8, 3, "on-a-roll", Reaction.THUMBS_UP, True),
    (HOUSING, 0, 9, 0, "you-finished-a-goal", Reaction.THUMBS_UP, True),
    (HOUSING, 2, 10, 2, "over-the-line", Reaction.ON_IT, True),
    (HOUSING, 1, 11, 0, "on-a-roll", Reaction.THUMBS_UP, True),
    (LIBRARIES, 0, 2, 2, "first-time-out-there", Reaction.THUMBS_UP, True),
    (LIBRARIES, 2, 3, 1, "little-and-often", None, True),
    (LIBRARIES, 4, 4, 3, "try-it-out-on-the-wider-web", Reaction.ON_IT, True),
    (LIBRARIES, 6, 5, 0, "on-a-roll", Reaction.THUMBS_UP, True),
    (LIBRARIES, 5, 6, 2, "thank-you-for-helping-others", Reaction.THUMBS_UP, True),
    (LIBRARIES, 1, 7, 3, "nearly-there", Reaction.ON_IT, True),
    (LIBRARIES, 4, 8, 0, "thank-you-for-helping-others", Reaction.THUMBS_UP, True),
    (LIBRARIES, 3, 9, 1, "over-the-line", Reaction.ON_IT, True),
    (LIBRARIES, 7, 10, 2, "little-and-often", None, False),
    (PARKS, 7, 2, 3, "start-your-first-goal", None, True),
    (PARKS, 1, 5, 0, "come-to-the-next-workshop", None, False),
    (PARKS, 2, 5, 0, "come-to-the-next-workshop", None, False),
    (PARKS, 3, 6, 1, "been-a-while", Reaction.NEED_HELP, True),
    (PARKS, 4, 6, 1, "been-a-while", None, False),
    (PARKS, 5, 7, 2, "time-to-pick-things-back-up", None, False),
    (PARKS, 0, 8, 0, "fancy-a-one-to-one", None, False),
    (PARKS, 6, 8, 0, "been-a-while", None, False),
    (PARKS, 1, 10, 1, "time-to-pick-things-back-up", None, False),
)

#: spring nudges: (participant email, patron email, days ago, template slug, reaction, read?)
SPRING_NUDGES = (
    ("jordan.lee@example.org", "patron@example.org", 12, "first-time-out-there", Reaction.THUMBS_UP,
     True),
    ("jordan.lee@example.org", "patron@example.org", 3, "little-and-often", None, False),
    ("lucy.ward@example.org", "patron@example.org", 8, "start-your-first-goal", Reaction.ON_IT, True),
    ("sana.rahman@example.org", "rita.mensah@example.org", 5, "on-a-roll", Reaction.THUMBS_UP, True),
    ("tom.fletcher@example.org", "rita.mensah@example.org", 10, "try-it-out-on-the-wider-web",
     Reaction.ON_IT, True),
    ("owen.hughes@example.org", "rita.mensah@example.org", 9, "little-and-often", None, True),
    ("owen.hughes@example.org", "rita.mensah@example.org", 4, "been-a-while", None, False),
)


@dataclass
class _Goal:
    """A goal being planned before it becomes a row."""

    slug: str | None
    title: str
    start: int  #: day index in the cohort (0 = its first day)
    done: int | None = None
    dropped: int | None = None
    row: PlanGoal | None = None
    check_ins: list[tuple[int, int]] = field(default_factory=list)  #: (day, minutes)

    @property
    def end(self) -> int | None:
        return self.done if self.done is not None else self.dropped


@dataclass
class _Person:
    """A participant of the autumn cohort and what they did, gathered before the rows."""

    user: User
    story: TeamStory
    index: int
    membership: Membership | None = None
    plan: Plan | None = None
    goals: list[_Goal] = field(default_factory=list)
    #: (day index, minutes) of everything done on the web (check-ins and web activities)
    web: list[tuple[int, int]] = field(default_factory=list)
    #: day index → extra platform minutes (reading a nudge, say)
    visits: dict[int, int] = field(default_factory=dict)
    paused: tuple[int, int] | None = None

    def active_goals(self, day: int) -> list[_Goal]:
        return [g for g in self.goals
                if g.start <= day and (g.end is None or day < g.end)]


@dataclass
class HistorySummary:
    """What the autumn cohort holds, for ``load_demo``'s summary line."""

    participants: int
    never_joined: int
    teams: int
    goals: int
    goals_done: int
    check_ins: int
    events: int
    sessions: int
    nudges: int
    posts: int

    def __str__(self) -> str:
        return (f"{self.participants} participants in {self.teams} teams over {WEEKS} weeks, "
                f"{self.never_joined} invited who never joined; {self.goals} goals "
                f"({self.goals_done} done), {self.check_ins} check-ins, {self.events} events, "
                f"{self.sessions} 1:1 sessions held, {self.nudges} patron nudges, "
                f"{self.posts} feed posts")


class _Calendar:
    """The autumn cohort's days: day index 0 is its first Monday, in its time zone."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        today = local_date(now_utc(), timezone)
        last = today - timedelta(days=ENDED_DAYS_AGO)
        first = last - timedelta(days=7 * WEEKS - 1)
        self.start: date = first - timedelta(days=first.weekday())
        self.end: date = self.start + timedelta(days=7 * WEEKS - 1)

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)

    def at(self, index: int, hour: int, minute: int = 0) -> datetime:
        """Local ``hour:minute`` on day ``index``, in UTC."""
        return datetime.combine(self.day(index), time(hour, minute),
                                tzinfo=self.zone).astimezone(UTC)

    @staticmethod
    def index(week: int, weekday: int) -> int:
        return 7 * (week - 1) + weekday

    @staticmethod
    def week_of(index: int) -> int:
        return index // 7 + 1


def load_autumn_cohort(*, org: Organisation, facilitator: User, password_hash: str,
                       timezone: str) -> HistorySummary:
    """The finished autumn cohort of ``org``, facilitated by ``facilitator``: its teams,
    people (who sign in with ``password_hash``), patrons, events, 1:1s, plans, time,
    checkpoints, nudges and feed. Flushes; the caller commits."""
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets: a seeded, repeatable story
    cal = _Calendar(timezone)
    cohort = Cohort(organisation=org, name=AUTUMN_NAME, description=AUTUMN_DESCRIPTION,
                    start_date=cal.start, end_date=cal.end, timezone=timezone,
                    is_volunteer=False, created_at=cal.at(-28, 9))
    db.session.add(cohort)
    # Joined "now", like the facilitator's other demo memberships: the dashboard lists
    # cohorts in the order they were joined, and the running one should stay first.
    db.session.add(Membership(cohort=cohort, user=facilitator, role=CohortRole.FACILITATOR,
                              accepted_at=now_utc()))
    people, patrons, invited = _people(cohort, cal, rng, org, facilitator, password_hash, timezone)
    by_team: dict[str, list[_Person]] = defaultdict(list)
    for person in people:
        by_team[person.story.team].append(person)
    _plan_goals(cohort, cal, rng, people)
    check_ins = _check_ins_and_time(cohort, cal, rng, people)
    events, present = _events(cohort, cal, rng, facilitator, by_team)
    sessions = _support(cohort, cal, rng, facilitator, by_team)
    _checkpoints(cohort, cal, rng, facilitator, people)
    nudges = _nudges(cohort, cal, rng, facilitator, by_team, patrons)
    posts = _feed(cohort, cal, rng, facilitator, by_team)
    _endorsements(cal, rng, facilitator, by_team, patrons)
    _platform_time(cal, rng, people, present)
    goals = [g for p in people for g in p.goals if g.row is not None]
    return HistorySummary(
        participants=len(people), never_joined=len(invited), teams=len(STORIES),
        goals=len(goals), goals_done=sum(1 for g in goals if g.done is not None),
        check_ins=check_ins, events=events, sessions=sessions, nudges=nudges, posts=posts)


def _people(cohort: Cohort, cal: _Calendar, rng: random.Random, org: Organisation,
            facilitator: User, password_hash: str, timezone: str,
            ) -> tuple[list[_Person], dict[str, User], list[User]]:
    """Teams, the participants (invited four weeks before the start, joined within days),
    the two who never joined, and each team's patron linked to most of its people."""
    teams = {story.team: Team(organisation=org, name=story.team) for story in STORIES}
    db.session.add_all(teams.values())
    invited_at = cal.at(-21, 10)

    def account(email: str, name: str, hashed: str) -> User:
        made = User(email=email, name=name, password_hash=hashed, timezone=timezone,
                    created_at=invited_at)
        db.session.add(made)
        return made

    people: list[_Person] = []
    patrons: dict[str, User] = {}
    memberships: list[tuple[Membership, str, datetime | None]] = []
    for story in STORIES:
        patron = account(*story.patron, password_hash)
        patrons[story.team] = patron
        db.session.add(Membership(cohort=cohort, user=patron, role=CohortRole.PATRON,
                                  team=teams[story.team], joined_at=invited_at,
                                  accepted_at=invited_at + timedelta(days=1)))
        for index, (email, name) in enumerate(story.people):
            person = _Person(account(email, name, password_hash), story, index)
            accepted = invited_at + timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 8))
            person.membership = Membership(
                cohort=cohort, user=person.user, role=CohortRole.PARTICIPANT,
                team=teams[story.team], joined_at=invited_at, accepted_at=accepted,
                is_visible=rng.random() < 0.7)
            db.session.add(person.membership)
            memberships.append((person.membership, email, accepted))
            people.append(person)
    invited = []
    for email, name, team in NEVER_JOINED:
        person = account(email, name, "")
        invited.append(person)
        membership = Membership(cohort=cohort, user=person, role=CohortRole.PARTICIPANT,
                                team=teams[team], status=MembershipStatus.INVITED,
                                joined_at=invited_at)
        db.session.add(membership)
        memberships.append((membership, email, None))
    db.session.flush()
    for membership, email, accepted in memberships:
        reminded = accepted is None  # sent again a week later, to no avail
        db.session.add(Invitation(
            kind=InvitationKind.MEMBERSHIP, cohort=cohort, membership=membership, email=email,
            invited_by_id=facilitator.id, nonce=f"{rng.getrandbits(64):016x}",
            created_at=invited_at, send_count=2 if reminded else 1,
            last_sent_at=invited_at + timedelta(days=7 if reminded else 0),
            expires_at=invited_at + timedelta(days=21), accepted_at=accepted,
            accepted_by_id=membership.user_id if accepted else None))
    db.session.execute(insert(PatronLink), [
        {"cohort_id": cohort.id, "patron_id": patrons[p.story.team].id,
         "participant_id": p.user.id, "created_by_id": facilitator.id,
         "created_at": invited_at + timedelta(days=7)}
        for p in people if not (p.story is HOUSING and p.index == 7)])  # one without a patron
    return people, patrons, invited


def _plan_goals(cohort: Cohort, cal: _Calendar, rng: random.Random,
                people: list[_Person]) -> None:
    """Each participant's plan: goals from the library (and one of their own), started in
    turn from the kick-off on, the first ones finished over the weeks (none during a
    pause). The fading team's goals start and stop within its first four weeks: one is
    finished (by the one who had a 1:1), one dropped, and one of them never sets a goal."""
    library = current_library()
    kick_off = cal.index(1, 1)
    for person in people:
        if person.story is HOUSING and person.index == 5:
            # Annual leave in weeks 7 and 8: a pause, not silence.
            person.paused = (cal.index(7, 0), cal.index(8, 6))
    for person in people:
        story = person.story
        last_day = cal.index(story.last_week, 6)
        person.plan = Plan(cohort=cohort, participant=person.user, state=PlanState.ACTIVE,
                           days_per_week=story.days_per_week,
                           rhythm_days=sorted(rng.sample(range(5), story.days_per_week)),
                           rhythm_time=rng.choice(("08:30", "12:30", "16:00")),
                           created_at=cal.at(kick_off, 12, 30))
        db.session.add(person.plan)
        if story is PARKS and person.index == 7:
            continue  # came to the kick-off, never set a goal
        slugs = [s for s in story.goal_slugs if s in library.goals]
        rng.shuffle(slugs)
        count = rng.randint(*story.goals_each)
        done = min(count, rng.randint(*story.done_each))
        if story is PARKS and person.index == 0:
            done = 1  # the one who had a 1:1 in week 3 finished her first goal
        start = kick_off + rng.randint(0, 2)
        for n in range(count):
            if start > last_day - 3:
                break
            if _quiet(person, start):
                start = person.paused[1] + 1
            own = not slugs or (n == count - 1 and rng.random() < 0.3)
            slug = None if own else slugs.pop()
            title = story.own_goal if own else library.goals[slug].title
            goal = _Goal(slug, title, start)
            if n < done:
                goal.done = min(start + rng.randint(12, 30), last_day)
                if person.paused is not None and _quiet(person, goal.done):
                    goal.done = person.paused[1] + 1
                if goal.done - start < 5:
                    goal.done = None
            person.goals.append(goal)
            start += rng.randint(9, 20)
        if story is PARKS and person.index == 2 and len(person.goals) > 1:
            person.goals[-1].dropped = min(person.goals[-1].start + 6, last_day)
    db.session.flush()
    for person in people:
        plan = person.plan
        if person.paused is not None:
            plan.paused_from, plan.paused_until = (cal.day(d) for d in person.paused)
            plan.pause_reason = "Annual leave"
            plan.paused_by_id = person.user.id
        for position, goal in enumerate(person.goals, start=1):
            goal.row = PlanGoal(
                plan_id=plan.id, library_slug=goal.slug, title=goal.title,
                why=rng.choice(person.story.needs), position=position,
                visibility=Visibility.COHORT if rng.random() < 0.3 else Visibility.PATRONS,
                status=GoalStatus.ACTIVE, created_at=cal.at(goal.start, 12, 45),
                created_by_id=person.user.id)
            db.session.add(goal.row)
    db.session.flush()


def _quiet(person: _Person, day: int) -> bool:
    return person.paused is not None and person.paused[0] <= day <= person.paused[1]


def _weekly(rng: random.Random, person: _Person, week: int, span: tuple[int, int]) -> int:
    """How many times ``person`` does something in ``week`` (fewer as a fading team fades)."""
    if week > person.story.last_week:
        return 0
    low, high = span
    if person.story is PARKS and week > 2:
        return rng.randint(0, max(low, 1)) if week < person.story.last_week else rng.randint(0, 1)
    return rng.randint(low, high)


def _check_ins_and_time(cohort: Cohort, cal: _Calendar, rng: random.Random,
                        people: list[_Person]) -> int:
    """Check-ins (1–3 a week, on the goals under way that day, progress rising to the day a
    goal is done) and web activities, week by week; finished and dropped goals get their
    ends. Returns the number of check-ins."""
    check_in_rows: list[dict] = []
    web_rows: list[dict] = []
    kinds = list(ActivityKind)
    for person in people:
        story = person.story
        for week in range(1, WEEKS + 1):
            days = sorted(rng.sample(range(6), min(6, _weekly(rng, person, week,
                                                                 story.check_ins_per_week))))
            for weekday in days:
                day = cal.index(week, weekday)
                active = person.active_goals(day)
                if not active or _quiet(person, day) or day < cal.index(1, 1):
                    continue
                goal = rng.choice(active)
                goal.check_ins.append((day, rng.randint(*story.check_in_minutes)))
            for _ in range(_weekly(rng, person, week, story.web_per_week)):
                day = cal.index(week, rng.randint(0, 6))
                if _quiet(person, day) or day < cal.index(1, 1):
                    continue
                minutes = rng.randint(*story.web_minutes)
                active = person.active_goals(day)
                goal = rng.choice(active) if active and rng.random() < 0.6 else None
                web_rows.append({
                    "user_id": person.user.id, "cohort_id": cohort.id,
                    "kind": rng.choice(kinds), "title": rng.choice(story.web_titles),
                    "minutes": minutes, "goal_id": goal.row.id if goal else None,
                    "local_date": cal.day(day), "created_by_id": person.user.id,
                    "created_at": cal.at(day, rng.randint(8, 19), rng.choice((0, 20, 40)))})
                person.web.append((day, minutes))
        for goal in person.goals:
            if goal.done is not None and not any(d == goal.done for d, _ in goal.check_ins):
                goal.check_ins.append((goal.done, rng.randint(*story.check_in_minutes)))
            if goal.end is not None:
                goal.check_ins = [(d, m) for d, m in goal.check_ins if d <= goal.end]
            goal.check_ins.sort()
            top = 90 if goal.done is not None else rng.randint(30, 75)
            steps = len(goal.check_ins)
            progress = 0
            for n, (day, minutes) in enumerate(goal.check_ins, start=1):
                progress = max(5, round(top * n / steps / 5) * 5)
                hour = rng.randint(8, 18)
                if goal.done is not None and n == steps:
                    hour = 12  # before it is marked done, at 16:00
                elif day == goal.start:
                    hour = max(hour, 13)  # after it was set, at 12:45
                check_in_rows.append({
                    "goal_id": goal.row.id, "plan_id": goal.row.plan_id,
                    "created_at": cal.at(day, hour, rng.choice((5, 25, 45))),
                    "local_date": cal.day(day), "progress": progress, "minutes": minutes,
                    "note": rng.choice(CHECK_IN_NOTES), "created_by_id": person.user.id})
                person.web.append((day, minutes))
            goal.row.progress = progress
            if goal.done is not None:
                goal.row.status = GoalStatus.DONE
                goal.row.progress = 100
                goal.row.done_at = cal.at(goal.done, 16, rng.choice((0, 15, 30)))
                goal.row.done_by_id = person.user.id
                goal.row.reflection = rng.choice(REFLECTIONS)
            elif goal.dropped is not None:
                goal.row.status = GoalStatus.DROPPED
                goal.row.drop_reason = "No laptop at the depot; I'll try again with a tablet."
    if check_in_rows:
        db.session.execute(insert(CheckIn), check_in_rows)
    if web_rows:
        db.session.execute(insert(WebActivity), web_rows)
    return len(check_in_rows)


def _events(cohort: Cohort, cal: _Calendar, rng: random.Random, facilitator: User,
            by_team: dict[str, list[_Person]]) -> tuple[int, dict[int, set[int]]]:
    """The kick-off, five fortnightly workshops and the closing celebration, with answers
    and the marks at the door: Housing says yes and comes (now and then partly, once in a
    while not at all, sometimes walking in unannounced); Libraries decline the kick-off and
    never answer again; Parks come to the kick-off, say yes there to the next two workshops,
    and miss them. Returns how many events, and who was present on which day index."""
    events = []
    for week, weekday, hour, hours, kind, mode, title, description in AUTUMN_EVENTS:
        day = cal.index(week, weekday)
        events.append((day, Event(
            cohort_id=cohort.id, kind=kind, title=title, description=description,
            starts_at=cal.at(day, hour), ends_at=cal.at(day, hour + hours), mode=mode,
            venue="Council Chamber" if kind is EventKind.KICK_OFF else "Room 2.14",
            address="Town Hall, Market Square",
            join_url="" if mode is EventMode.IN_PERSON else "https://meet.example.org/autumn",
            uid=f"{uuid.UUID(int=rng.getrandbits(128)).hex}@dap", created_by_id=facilitator.id,
            created_at=cal.at(0, 9), updated_at=cal.at(0, 9))))
    db.session.add_all(event for _, event in events)
    db.session.flush()
    rsvps: list[dict] = []
    marks: list[dict] = []
    feedback: list[dict] = []
    present: dict[int, set[int]] = defaultdict(set)

    def answer(person: _Person, event: Event, status: RsvpStatus, at: datetime) -> None:
        rsvps.append({"event_id": event.id, "user_id": person.user.id, "status": status,
                      "created_at": at, "updated_at": at})

    def mark(person: _Person, day: int, event: Event, value: AttendanceMark) -> None:
        marks.append({"event_id": event.id, "user_id": person.user.id, "mark": value,
                      "recorded_by_id": facilitator.id, "recorded_at": event.ends_at})
        if value is AttendanceMark.NO_SHOW:
            return
        present[person.user.id].add(day)
        if rng.random() < 0.45 and event.kind is not EventKind.MEET_UP:
            usefulness, worked, change = rng.choice(FEEDBACK)
            at = min(event.ends_at + timedelta(days=rng.randint(0, 3), hours=2),
                     cal.at(cal.index(WEEKS, 6), 18))
            feedback.append({"event_id": event.id, "user_id": person.user.id,
                             "usefulness": usefulness, "what_worked": worked,
                             "what_to_change": change, "created_at": at, "updated_at": at})

    kick_off_day, kick_off = events[0]
    for person in by_team[HOUSING.team] + by_team[PARKS.team]:
        answer(person, kick_off, RsvpStatus.GOING, cal.at(0, rng.randint(9, 16)))
        mark(person, kick_off_day, kick_off,
             AttendanceMark.PARTLY if rng.random() < 0.1 else AttendanceMark.ATTENDED)
    for person in by_team[LIBRARIES.team][:5]:
        answer(person, kick_off, RsvpStatus.DECLINED, cal.at(0, rng.randint(9, 16)))
    for day, event in events[1:]:
        for person in by_team[HOUSING.team]:
            if _quiet(person, day):
                answer(person, event, RsvpStatus.DECLINED, cal.at(day - 9, 11))
                continue
            said = max(day - rng.randint(2, 8), kick_off_day + 1)
            if rng.random() < 0.12:  # did not answer, came anyway
                mark(person, day, event, AttendanceMark.WALK_IN)
                continue
            answer(person, event, RsvpStatus.GOING, cal.at(said, rng.randint(9, 17)))
            roll = rng.random()
            mark(person, day, event,
                 AttendanceMark.ATTENDED if roll < HOUSING.turnout - 0.1
                 else AttendanceMark.PARTLY if roll < HOUSING.turnout
                 else AttendanceMark.NO_SHOW)
        if event.title not in ("Listening before talking", "Writing for screens"):
            continue
        for n, person in enumerate(by_team[PARKS.team]):
            answer(person, event, RsvpStatus.GOING, kick_off.ends_at + timedelta(minutes=n))
            came = day < cal.index(4, 0) and rng.random() < PARKS.turnout
            mark(person, day, event, AttendanceMark.ATTENDED if came else AttendanceMark.NO_SHOW)
    db.session.execute(insert(Rsvp), rsvps)
    db.session.execute(insert(Attendance), marks)
    if feedback:
        db.session.execute(insert(EventFeedback), feedback)
    consultation = next(e for _, e in events if e.title.startswith("Online and in person"))
    for event, body in ((kick_off, KICK_OFF_RECAP), (consultation, CONSULTATION_RECAP)):
        db.session.add(RecapNote(event_id=event.id, author_id=facilitator.id, body=body,
                                 created_at=event.ends_at + timedelta(hours=3),
                                 updated_at=event.ends_at + timedelta(hours=3)))
    return len(events), present


def _support(cohort: Cohort, cal: _Calendar, rng: random.Random, facilitator: User,
             by_team: dict[str, list[_Person]]) -> int:
    """Two 30-minute slots every Thursday from week 2 (in person and by video): Housing
    books most of them, one Parks participant has one in week 3, Libraries none; one booking
    cancelled. Held sessions have the facilitator's notes, some an action point. Returns the
    number of sessions held."""
    slots: list[tuple[int, SupportSlot]] = []
    for week in range(2, WEEKS + 1):
        day = cal.index(week, 3)
        block = uuid.UUID(int=rng.getrandbits(128)).hex
        for n in range(2):
            start = cal.at(day, 10, 30 * n)
            video = n == 1
            slots.append((week, SupportSlot(
                cohort_id=cohort.id, facilitator_id=facilitator.id, starts_at=start,
                ends_at=start + timedelta(minutes=30),
                mode=SlotMode.VIDEO if video else SlotMode.IN_PERSON,
                place="" if video else "Room 2.14, Town Hall",
                join_url="https://meet.example.org/one-to-one" if video else "",
                block_id=block, uid=f"{uuid.UUID(int=rng.getrandbits(128)).hex}@dap-support",
                created_at=cal.at(0, 9), updated_at=cal.at(0, 9))))
    db.session.add_all(slot for _, slot in slots)
    db.session.flush()
    housing = by_team[HOUSING.team]
    wanted: list[tuple[_Person, int]] = [(p, 2 + p.index % 5) for p in housing]
    wanted += [(p, 7 + p.index % 5) for p in housing if p.index < 5]
    wanted.append((by_team[PARKS.team][0], 3))
    wanted.sort(key=lambda pair: (pair[1], pair[0].index))
    taken: set[int] = set()
    held: list[tuple[SupportBooking, SupportSlot]] = []
    for person, week in wanted:
        free = [(w, s) for w, s in slots if week <= w <= person.story.last_week
                and s.id not in taken and not _quiet(person, cal.index(w, 3))]
        if not free:
            continue
        _, slot = free[0]
        taken.add(slot.id)
        booked_at = max(slot.starts_at - timedelta(days=rng.randint(1, 6)), cal.at(0, 9))
        cancelled = person.story is HOUSING and person.index == 1 and week > 6
        booking = SupportBooking(
            slot_id=slot.id, participant_id=person.user.id, booked_by_id=person.user.id,
            note=rng.choice(("Help with the letter rewrite", "Setting up the survey",
                             "Confidence answering in the Facebook group",
                             "Getting photos off my phone")),
            created_at=booked_at,
            status=BookingStatus.CANCELLED if cancelled else BookingStatus.BOOKED,
            cancelled_at=booked_at + timedelta(hours=20) if cancelled else None,
            cancelled_by_id=person.user.id if cancelled else None)
        db.session.add(booking)
        if not cancelled:
            held.append((booking, slot))
    db.session.flush()
    for booking, slot in held:
        db.session.add(SessionNotes(booking_id=booking.id, body=rng.choice(SESSION_NOTES),
                                    updated_by_id=facilitator.id,
                                    updated_at=slot.ends_at + timedelta(minutes=10)))
        if rng.random() < 0.6:
            text, shared = rng.choice(ACTION_POINTS)
            db.session.add(ActionPoint(booking_id=booking.id, text=text, shared_with_patrons=shared,
                                       created_by_id=facilitator.id,
                                       created_at=slot.ends_at + timedelta(minutes=10)))
    db.session.flush()
    return len(held)


def _checkpoints(cohort: Cohort, cal: _Calendar, rng: random.Random, facilitator: User,
                 people: list[_Person]) -> None:
    """The baseline (sent in week 1 by everyone who joined but one), the mid-point in weeks
    6–7 and the final checkpoint in weeks 11–12, both skipped by the fading team. Later
    ratings rise most in the areas of the goals a person finished."""
    baseline = current_baseline()
    if not baseline.is_available:
        return
    library = current_library()
    closing = cal.at(WEEKS * 7, 0)
    checkpoints = {
        CheckpointKind.BASELINE: Checkpoint(cohort_id=cohort.id, kind=CheckpointKind.BASELINE,
                                            opened_at=cohort.created_at,
                                            closed_at=cal.at(cal.index(3, 6), 20)),
        CheckpointKind.MIDPOINT: Checkpoint(cohort_id=cohort.id, kind=CheckpointKind.MIDPOINT,
                                            opened_at=cal.at(cal.index(6, 0), 9),
                                            opened_by_id=facilitator.id,
                                            closes_at=cal.at(cal.index(8, 0), 0)),
        CheckpointKind.FINAL: Checkpoint(cohort_id=cohort.id, kind=CheckpointKind.FINAL,
                                         opened_at=cal.at(cal.index(11, 0), 9),
                                         opened_by_id=facilitator.id, closes_at=closing),
    }
    db.session.add_all(checkpoints.values())
    areas = list(baseline.areas.values())
    plan: list[tuple[_Person, CheckpointKind, int, dict[str, float]]] = []
    for person in people:
        story = person.story
        if story is PARKS and person.index == 7:
            continue  # never took the baseline
        start = {area.slug: story.level + (i % 3 - 1) * 0.5 + rng.uniform(-0.6, 0.6)
                 for i, area in enumerate(areas)}
        plan.append((person, CheckpointKind.BASELINE, cal.index(1, rng.randint(0, 4)), start))
        if story is PARKS:
            continue
        done_areas = [library.goals[g.slug].area for g in person.goals
                      if g.done is not None and g.slug in library.goals]
        gain = {area.slug: (0.7 + 0.3 * done_areas.count(area.slug) if area.slug in done_areas
                            else rng.uniform(0.2, 0.6)) for area in areas}
        if rng.random() < 0.8:
            plan.append((person, CheckpointKind.MIDPOINT, cal.index(6, rng.randint(0, 6)),
                         {a: start[a] + gain[a] / 2 for a in start}))
        if not (story is LIBRARIES and person.index == 6):
            plan.append((person, CheckpointKind.FINAL, cal.index(rng.choice((11, 12)),
                                                                  rng.randint(0, 4)),
                         {a: start[a] + gain[a] for a in start}))
    db.session.flush()
    assessments = []
    for person, kind, day, _ in plan:
        sent = cal.at(day, rng.randint(9, 17), rng.choice((0, 30)))
        assessments.append(Assessment(
            checkpoint_id=checkpoints[kind].id, cohort_id=cohort.id, user_id=person.user.id,
            started_at=sent - timedelta(minutes=14), updated_at=sent, submitted_at=sent))
    db.session.add_all(assessments)
    db.session.flush()
    ratings: list[dict] = []
    answers: list[dict] = []
    for assessment, (person, kind, _, levels) in zip(assessments, plan, strict=True):
        for area in areas:
            for statement in area.statements:
                value = round(levels[area.slug] + rng.uniform(-0.7, 0.7))
                ratings.append({"assessment_id": assessment.id, "statement_id": statement.id,
                                "area": area.slug, "value": min(5, max(1, value))})
        story = person.story
        needs = (rng.choice(story.needs) if kind is CheckpointKind.BASELINE
                 else "Keep going with what worked: a little every week.")
        answers += [
            {"assessment_id": assessment.id, "question_id": "needs", "text": needs, "choices": ""},
            {"assessment_id": assessment.id, "question_id": "learning", "text": story.learning,
             "choices": ""},
            {"assessment_id": assessment.id, "question_id": "barriers",
             "text": story.barriers_more if rng.random() < 0.5 else "",
             "choices": story.barriers if rng.random() < 0.8 else story.barriers.split()[0]},
        ]
    db.session.execute(insert(Rating), ratings)
    db.session.execute(insert(Answer), answers)


def _nudge_row(*, cohort_id: int, patron: User, person: User, slug: str, at: datetime,
               reaction: Reaction | None, read: bool, key: str) -> dict | None:
    template = nudge_template(slug)
    if template is None:
        return None  # the content changed; skip rather than fail the demo
    read_at = at + timedelta(hours=3) if read or reaction else None
    return {"user_id": person.id, "cohort_id": cohort_id,
            "kind": NotificationKind(template.kind), "title": template.title,
            "body": render_nudge(template, first_name=person.first_name,
                                 patron_first_name=patron.first_name),
            "link": "/notifications", "sender_id": patron.id, "dedup_key": key,
            "created_at": at, "read_at": read_at, "reaction": reaction,
            "reacted_at": read_at if reaction else None, "email_state": EmailState.QUEUED}


def _nudges(cohort: Cohort, cal: _Calendar, rng: random.Random, facilitator: User,
            by_team: dict[str, list[_Person]], patrons: dict[str, User]) -> int:
    """Each team's patron nudging, cajoling and enthusing: Housing and Libraries answer with
    a thumbs-up or "on it"; the fading team mostly leaves them unread, and the one who
    answers "need help" (in week 6, their last visit) tells the facilitator. Returns how
    many nudges."""
    rows = []
    helped: tuple[_Person, str] | None = None
    for n, (story, index, week, weekday, slug, reaction, read) in enumerate(AUTUMN_NUDGES):
        person = by_team[story.team][index]
        patron = patrons[story.team]
        day = cal.index(week, weekday)
        if slug == "you-finished-a-goal":
            finished = sorted(g.done for g in person.goals if g.done is not None)
            if not finished:
                continue
            day = min(finished[0] + 1, cal.index(WEEKS, 6))
        key = f"nudge:{patron.id}:{person.user.id}:demo-autumn-{n}"
        row = _nudge_row(cohort_id=cohort.id, patron=patron, person=person.user, slug=slug,
                         at=cal.at(day, rng.randint(8, 17), rng.choice((0, 30))),
                         reaction=reaction, read=read, key=key)
        if row is None:
            continue
        rows.append(row)
        if story is PARKS and read:
            person.visits[day] = person.visits.get(day, 0) + 3
        if reaction is Reaction.NEED_HELP:
            helped = (person, key)
    if rows:
        db.session.execute(insert(Notification), rows)
    if helped is not None:
        person, key = helped
        nudge_id, reacted_at = db.session.execute(
            select(Notification.id, Notification.reacted_at)
            .where(Notification.dedup_key == key)).one()
        db.session.add(Notification(
            user_id=facilitator.id, cohort_id=cohort.id, kind=NotificationKind.NEED_HELP,
            sender_id=person.user.id, title=f"{person.user.name} would like some help",
            body=(f"{person.user.name} answered a nudge in {cohort.name} with “need help”. "
                  "Get in touch with them, or offer them a 1:1."),
            link=f"/cohorts/{cohort.id}/people/{person.membership.id}/plan",
            dedup_key=f"need-help:{nudge_id}:{facilitator.id}", created_at=reacted_at,
            read_at=reacted_at + timedelta(hours=2)))
    return len(rows)


def _feed(cohort: Cohort, cal: _Calendar, rng: random.Random, facilitator: User,
          by_team: dict[str, list[_Person]]) -> int:
    """The autumn feed: Libraries post most, Housing recap the workshops, Parks ask one
    question and share one photo before going quiet; two featured success stories (one
    shared with the organisation's other cohorts), a finished goal shared as a story,
    comments and kudos. Returns how many posts."""
    posts: list[tuple[int, Post]] = []
    for story, index, week, weekday, kind, body, is_story, featured, shared in AUTUMN_POSTS:
        day = cal.index(week, weekday)
        at = cal.at(day, rng.randint(9, 17), rng.choice((5, 35)))
        posts.append((day, Post(
            cohort_id=cohort.id, author_id=by_team[story.team][index].user.id,
            kind=PostKind(kind), body=body, created_at=at, story_at=at if is_story else None,
            featured_at=at + timedelta(hours=20) if featured else None,
            featured_by_id=facilitator.id if featured else None,
            shared_across_at=at + timedelta(hours=2) if shared else None)))
    sharer = next((p for p in by_team[LIBRARIES.team] for g in p.goals if g.done is not None),
                  None)
    if sharer is not None:
        goal = next(g for g in sharer.goals if g.done is not None)
        at = goal.row.done_at + timedelta(minutes=20)
        posts.append((goal.done, Post(
            cohort_id=cohort.id, author_id=sharer.user.id, kind=PostKind.STORY,
            body=f"**I finished: {goal.title}**\n\n{goal.row.reflection}", goal_id=goal.row.id,
            created_at=at, story_at=at)))
    db.session.add_all(post for _, post in posts)
    db.session.flush()
    for _, post in posts:
        if post.kind is PostKind.QUESTION:
            post.answered_at = post.created_at + timedelta(hours=30)
    comments = []
    for index, story, person, hours, text in AUTUMN_COMMENTS:
        post = posts[index][1]
        comments.append({"post_id": post.id, "author_id": by_team[story.team][person].user.id,
                         "body": text, "created_at": post.created_at + timedelta(hours=hours)})
    db.session.execute(insert(Comment), comments)
    kudos = []
    last = cal.at(cal.index(WEEKS, 6), 20)
    for day, post in posts:
        givers = [p for team in STORIES for p in by_team[team.team]
                  if p.user.id != post.author_id and cal.week_of(day) <= team.last_week]
        for giver in rng.sample(givers, min(len(givers), rng.randint(2, 9))):
            kudos.append({"post_id": post.id, "user_id": giver.user.id,
                          "created_at": min(last, post.created_at
                                            + timedelta(hours=rng.randint(1, 30)))})
    db.session.execute(insert(Kudos), kudos)
    return len(posts)


def _endorsements(cal: _Calendar, rng: random.Random, facilitator: User,
                  by_team: dict[str, list[_Person]], patrons: dict[str, User]) -> None:
    """The patrons endorse about half of their team's finished goals (the facilitator a few
    more), the next day, within the cohort's weeks."""
    last = cal.at(cal.index(WEEKS, 6), 18)
    for story in (HOUSING, LIBRARIES):
        for person in by_team[story.team]:
            for goal in person.goals:
                if goal.done is None or rng.random() < 0.5:
                    continue
                at = min(goal.row.done_at + timedelta(days=1), last)
                author = facilitator if rng.random() < 0.25 else patrons[story.team]
                db.session.add(GoalEndorsement(
                    goal_id=goal.row.id, author_id=author.id, created_at=at, updated_at=at,
                    comment=rng.choice(("Brilliant — the team noticed.", "Well done!",
                                        "This is exactly what we hoped for.",
                                        "Great work. Worth sharing with the cohort?"))))
    db.session.flush()


def _platform_time(cal: _Calendar, rng: random.Random, people: list[_Person],
                   present: dict[int, set[int]]) -> None:
    """Each week's minutes on DAP follow its web minutes at the team's ratio, within the
    cap's allowance (60 a week, or web minutes plus 15 of grace), spread over the days
    something happened; a day at a workshop counts a few minutes too (the agenda, the
    recap)."""
    rows = []
    for person in people:
        weeks: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for day, minutes in person.web:
            weeks[cal.week_of(day)][day] += minutes
        for day in sorted(present.get(person.user.id, ())):
            weeks[cal.week_of(day)].setdefault(day, 0)
        seconds: dict[int, int] = defaultdict(int)
        for week in sorted(weeks):
            days = weeks[week]
            web = sum(days.values())
            target = round(web * person.story.platform_ratio * rng.uniform(0.85, 1.15))
            allowed = min(60, web + 15)
            minutes = max(len(days) * 2, min(allowed, target))
            share = minutes * 60 // len(days)
            for day in sorted(days):
                seconds[day] += max(60, share + rng.randint(-30, 30))
        for day, minutes in sorted(person.visits.items()):
            seconds[day] += minutes * 60
        rows += [{"user_id": person.user.id, "day": cal.day(day), "seconds": s, "last_beat": 0}
                 for day, s in sorted(seconds.items())]
    db.session.execute(insert(PlatformDay), rows)


# --- the running spring cohort ----------------------------------------------------------------


def enrich_spring(cohort: Cohort) -> tuple[int, int]:
    """A little more in the running ``cohort`` without touching what it has: Owen Hughes set
    a goal and checked in during the first week, then went quiet (silent on the roster), and
    the demo patrons' nudges to the people they look out for (never the demo participant),
    some answered. Returns (goals added, nudges sent). Flushes."""
    from dap.plans import services as plans

    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(
        {email for row in SPRING_NUDGES for email in row[:2]})))}
    now = now_utc()
    goals = 0
    owen = users.get("owen.hughes@example.org")
    library = current_library()
    slug = "build-a-list-of-accounts-worth-following"
    goal = None
    if owen is not None and slug in library.goals:
        plan = plans.plan_for(cohort, owen)
        plan.created_at = now - timedelta(days=19, hours=3)
        goal = PlanGoal(plan=plan, library_slug=slug, title=library.goals[slug].title,
                        why="I'd like to know who talks about the borough online.",
                        status=GoalStatus.ACTIVE, position=1, progress=40,
                        created_at=now - timedelta(days=19, hours=2), created_by_id=owen.id)
        db.session.add(goal)
        db.session.flush()
        for days, progress, minutes, note in ((19, 20, 15, "Followed the local news sites"),
                                              (16, 40, 20, "Added three community groups")):
            at = now - timedelta(days=days)
            db.session.add(CheckIn(goal_id=goal.id, plan_id=plan.id, created_at=at,
                                   local_date=local_date(at, cohort.timezone), progress=progress,
                                   minutes=minutes, note=note, created_by_id=owen.id))
            db.session.add(PlatformDay(user_id=owen.id, day=local_date(at, cohort.timezone),
                                       seconds=900, last_beat=0))
        goals += 1
    if owen is not None:
        # His last activity, about 16 days ago: silent since (the cohort says 10 days).
        at = now - timedelta(days=16, hours=-2)
        db.session.add(WebActivity(user_id=owen.id, cohort_id=cohort.id, kind=ActivityKind.READ,
                                   title="Read the borough's community groups directory",
                                   minutes=25, goal_id=goal.id if goal else None,
                                   created_by_id=owen.id,
                                   local_date=local_date(at, cohort.timezone), created_at=at))
    rows = []
    for n, (email, patron_email, days, slug, reaction, read) in enumerate(SPRING_NUDGES):
        person, patron = users.get(email), users.get(patron_email)
        if person is None or patron is None:
            continue
        row = _nudge_row(cohort_id=cohort.id, patron=patron, person=person, slug=slug,
                         at=now - timedelta(days=days, hours=n % 3 + 2), reaction=reaction,
                         read=read, key=f"nudge:{patron.id}:{person.id}:demo-spring-{n}")
        if row is not None:
            rows.append(row)
    if rows:
        db.session.execute(insert(Notification), rows)
    db.session.flush()
    return goals, len(rows)
