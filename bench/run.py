"""DAP's request bench: throughput, latency and SQL queries per request for the main pages.

Run from the project root (``make bench``)::

    .venv/bin/python bench/run.py [--seconds 3] [--database sqlite|postgresql]
    .venv/bin/python bench/run.py --server gunicorn [--database sqlite|postgresql]

By default one process, the Flask test client (no network, no server), a throwaway
database (SQLite file, or a new PostgreSQL database) with the demo data, production
password-hash parameters and rate limiting off. ``--server gunicorn`` measures the
heartbeat against /healthz over HTTP instead (bench/gunicorn_bench.py). See
bench/README.md for what the numbers mean and what they do not.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import platform
import re
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gunicorn_bench
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, insert, select

from dap import create_app
from dap.accounts.models import User
from dap.accounts.services import HashParams
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus, PatronLink, Team
from dap.db import watch_statements
from dap.demo import DEMO_PASSWORD, load_demo
from dap.extensions import db
from dap.plans import services as plan_services
from dap.plans.models import CheckIn, GoalEndorsement, GoalStatus, PlanGoal

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "bench" / "results"
DEFAULT_JSON = RESULTS / "latest.json"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
META_CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
HEARTBEAT_PATH = "/time/heartbeat"
#: the cohort sizes (members) compared for queries per request
SMALL_COHORT = 25
LARGE_COHORT = 250
SCALING_REQUESTS = 20  # requests per page when only the query count is wanted
#: events the demo participant is going to, compared for queries per request
SMALL_FEED = 5
LARGE_FEED = 200
#: 1:1 slots of the demo facilitator booked by the demo participant, compared alongside
SMALL_SLOTS = 10
LARGE_SLOTS = 500
#: posts in the demo cohort's feed, compared for queries per request (the small feed is a
#: full page and one more post, so that its first page has an "Older posts" link)
SMALL_POSTS = 21
LARGE_POSTS = 2000
#: the word searched for in the feed: in one post in ten; and one in none (the whole feed
#: read to find nothing)
FEED_SEARCH = "library"
FEED_SEARCH_NOTHING = "zanzibar"
NEXT_LINK_RE = re.compile(r'<a rel="next" href="([^"]+)"')
#: the heartbeat against /healthz in alternating rounds (see ``paired_ratio``)
PAIRED_ROUNDS = 15
PAIRED_SECONDS = 0.3
#: heartbeats per /healthz asked of the hottest endpoint
HEARTBEAT_TARGET = 0.6


@dataclass
class Result:
    name: str
    method: str
    path: str
    requests: int
    seconds: float
    rps: float
    vs_healthz: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    queries_per_request: float


class QueryCounter:
    """Counts every statement an engine sends (``dap.db.watch_statements``: SQLAlchemy's,
    and the heartbeat's, which runs past SQLAlchemy's execution)."""

    def __init__(self) -> None:
        self.count = 0
        self.stop = lambda: None

    def __call__(self, statement: str) -> None:
        self.count += 1

    def watch(self, engine) -> QueryCounter:
        self.stop = watch_statements(engine, self)
        return self


def make_app(workdir: Path, database_url: str) -> Flask:
    app = create_app({
        "TESTING": False,  # production-like error handling; nothing here relies on TESTING
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "bench-secret-key",
        "PASSWORD_HASH_PARAMS": None,  # the production argon2id profile
        "OUTBOX_DIR": str(workdir / "outbox"),
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_ENABLED": False,
        "MAIL_URL": "",
        "SCHEDULER": "off",
    })
    logging.getLogger("dap.request").setLevel(logging.WARNING)
    return app


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    if not match:
        raise SystemExit("bench: no CSRF token on the sign-in page")
    return next(g for g in match.groups() if g)


def signed_in(app: Flask, email: str) -> FlaskClient:
    """A client signed in through the real form (GET /login for the token, then POST)."""
    client = app.test_client()
    page = client.get("/login")
    response = client.post("/login", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "email": email,
        "password": DEMO_PASSWORD,
    })
    if response.status_code != 302:
        raise SystemExit(f"bench: signing in as {email} failed with {response.status_code}")
    return client


def get_ok(client: FlaskClient, path: str, form: dict | None = None,
           headers: dict | None = None, expect: tuple[int, ...] | None = None) -> None:
    """GET ``path`` expecting 200, or POST ``form`` to it expecting a redirect (or the
    statuses in ``expect``)."""
    if form is None:
        response = client.get(path, headers=headers)
        ok = response.status_code in (expect or (200,))
    else:
        response = client.post(path, data=form, headers=headers)
        ok = response.status_code in (expect or (302, 303))
    if not ok:
        raise SystemExit(f"bench: {'GET' if form is None else 'POST'} {path} answered "
                         f"{response.status_code}")
    response.close()


def measure(client: FlaskClient, path: str, seconds: float, counter: QueryCounter,
            form: dict | None = None, headers: dict | None = None,
            expect: tuple[int, ...] | None = None) -> dict:
    for _ in range(5):  # warm up: template compilation, first connections
        get_ok(client, path, form, headers, expect)
    latencies: list[float] = []
    counter.count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        t0 = time.perf_counter()
        get_ok(client, path, form, headers, expect)
        t1 = time.perf_counter()
        latencies.append(t1 - t0)
        if t1 >= deadline:
            break
    elapsed = time.perf_counter() - started
    n = len(latencies)
    p95 = statistics.quantiles(latencies, n=20, method="inclusive")[18] if n > 1 else latencies[0]
    return {
        "requests": n,
        "seconds": round(elapsed, 3),
        "rps": n / elapsed,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": p95 * 1000,
        "queries_per_request": counter.count / n,
    }


def paired_ratio(healthz: FlaskClient, client: FlaskClient, path: str, rounds: int,
                 seconds: float, **request: object) -> dict:
    """``path``'s requests per second over ``/healthz``'s, measured in alternating short
    rounds: on a shared machine the speed drifts within seconds, and two cases measured
    one after the other see different machines. The median round is the figure."""
    ratios: list[float] = []
    path_rates: list[float] = []
    for _ in range(rounds):
        rates = []
        for who, where, extra in ((healthz, "/healthz", {}), (client, path, request)):
            n, deadline = 0, time.perf_counter() + seconds
            started = time.perf_counter()
            while time.perf_counter() < deadline:
                get_ok(who, where, **extra)  # type: ignore[arg-type]
                n += 1
            rates.append(n / (time.perf_counter() - started))
        ratios.append(rates[1] / rates[0])
        path_rates.append(rates[1])
    return {"rounds": rounds, "seconds_per_round": seconds,
            "median": statistics.median(ratios), "low": min(ratios), "high": max(ratios),
            "rps_median": statistics.median(path_rates)}


def queries_per_request(client: FlaskClient, path: str, counter: QueryCounter) -> float:
    get_ok(client, path)
    counter.count = 0
    for _ in range(SCALING_REQUESTS):
        get_ok(client, path)
    return counter.count / SCALING_REQUESTS


def seed_plan(*, goals: int, check_ins: int, fresh: bool = False) -> int:
    """Give the demo participant ``goals`` goals and ``check_ins`` check-ins in all (the
    first open goal gets them), adding to what is there unless ``fresh``. Returns the first
    open goal's id."""
    cohort = demo_cohort()
    user = db.session.scalars(select(User).where(User.email == "participant@example.org")).one()
    plan = plan_services.plan_for(cohort, user)
    if fresh:
        db.session.execute(delete(CheckIn).where(CheckIn.plan_id == plan.id))
        # the demo's finished goal has endorsements, which would keep it (a foreign key)
        db.session.execute(delete(GoalEndorsement).where(GoalEndorsement.goal_id.in_(
            select(PlanGoal.id).where(PlanGoal.plan_id == plan.id))))
        db.session.execute(delete(PlanGoal).where(PlanGoal.plan_id == plan.id))
    existing = list(db.session.scalars(
        select(PlanGoal).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.id)))
    for i in range(len(existing), goals):
        existing.append(plan_services.write_goal(plan, actor=user, title=f"Bench goal {i:02d}"))
    # The demo finishes the participant's first goal (dap.demo._demo_endorsements, for its
    # endorsements), and a finished or dropped goal takes no check-ins: the check-in POST
    # answered 400. So the goal measured (its page, the check-in POST) is the first one
    # still open, the demo's second goal; with ``fresh`` all are new and it is the first.
    first = next(g for g in existing if g.status not in (GoalStatus.DONE, GoalStatus.DROPPED))
    have = db.session.scalar(select(func.count()).select_from(CheckIn)
                             .where(CheckIn.plan_id == plan.id)) or 0
    today = datetime.now(UTC).date()
    db.session.add_all(
        CheckIn(goal=first, plan_id=plan.id, local_date=today - timedelta(days=i % 200),
                progress=min(i, 100), minutes=10, note=f"bench {i}", created_by_id=user.id)
        for i in range(have, check_ins)
    )
    db.session.commit()
    return first.id


def seed_events(cohort_id: int, email: str, total: int) -> tuple[int, str]:
    """Make ``email`` going to ``total`` future events of the cohort (adding events as
    needed); returns one event's id and a new feed token for them."""
    import uuid

    from dap.events.calendar import new_feed_token
    from dap.events.models import Event, EventKind, EventMode, Rsvp, RsvpStatus

    person = db.session.scalar(select(User).where(User.email == email))
    going = db.session.scalar(select(func.count(Rsvp.id)).where(
        Rsvp.user_id == person.id, Rsvp.status == RsvpStatus.GOING))
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    for n in range(going, total):
        made = Event(cohort_id=cohort_id, kind=EventKind.WORKSHOP, title=f"Bench workshop {n}",
                     description="A **bench** event.", mode=EventMode.HYBRID, venue="Room 1",
                     starts_at=start + timedelta(hours=n), ends_at=start + timedelta(hours=n, minutes=50),
                     uid=f"{uuid.uuid4().hex}@dap", join_url="https://meet.example.org/x")
        db.session.add(made)
        db.session.flush()
        db.session.add(Rsvp(event_id=made.id, user_id=person.id, status=RsvpStatus.GOING))
    event_id = db.session.scalar(select(Rsvp.event_id).where(
        Rsvp.user_id == person.id, Rsvp.status == RsvpStatus.GOING).order_by(Rsvp.id.desc()))
    token = new_feed_token(person)
    db.session.commit()
    return event_id, token


def seed_support(cohort_id: int, participant_email: str, facilitator_email: str,
                 total: int) -> str:
    """Give ``facilitator_email`` ``total`` 1:1 slots to come (adding slots as needed), all
    booked by ``participant_email`` (one booking in three cancelled, so the feed holds
    cancelled entries too), written straight to the database (the per-participant limit is
    for the booking form). Returns a new feed token for the facilitator."""
    import uuid

    from dap.events.calendar import new_feed_token
    from dap.support.models import BookingStatus, SlotMode, SupportBooking, SupportSlot

    person = db.session.scalar(select(User).where(User.email == participant_email))
    facilitator = db.session.scalar(select(User).where(User.email == facilitator_email))
    bench_slots = SupportSlot.uid.like("bench-%")
    have = db.session.scalar(select(func.count(SupportSlot.id)).where(bench_slots)) or 0
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    for n in range(have, total):
        at = start + timedelta(minutes=40 * n)
        made = SupportSlot(cohort_id=cohort_id, facilitator_id=facilitator.id, starts_at=at,
                           ends_at=at + timedelta(minutes=30), mode=SlotMode.VIDEO,
                           join_url="https://meet.example.org/x", sequence=1,
                           uid=f"bench-{uuid.uuid4().hex}@dap-support")
        db.session.add(made)
        db.session.flush()
        db.session.add(SupportBooking(
            slot_id=made.id, participant_id=person.id, booked_by_id=person.id,
            note=f"Bench note {n}",
            status=BookingStatus.CANCELLED if n % 3 == 0 else BookingStatus.BOOKED))
    token = new_feed_token(facilitator)
    db.session.commit()
    return token


def seed_feed(cohort_id: int, total: int) -> int:
    """Give the demo cohort's feed ``total`` posts of the bench's own besides the demo's,
    adding older ones to those already seeded, with
    one multi-row INSERT per table (not through the services, which would also notify the
    people mentioned). Authors take turns among the cohort's active participants; every post
    has 0-3 comments (by participants, one in four by the facilitator) and 0-5 kudos (never
    its author's); kinds take turns among reflection, tip, question (every other one
    answered) and success story; one post in ten mentions ``FEED_SEARCH``; one in 40 is
    hidden by the facilitator and one in 50 deleted (none of the first 37, so that the
    small feed shows all its posts to everyone), and one comment in 30 is hidden. Returns
    the post whose page is measured: the first one seeded with 3 comments and 5 kudos, the
    same at every size."""
    from dap.community.models import Comment, Kudos, Post, PostKind

    kinds = (PostKind.REFLECTION, PostKind.TIP, PostKind.QUESTION, PostKind.STORY)
    people = db.session.scalars(select(Membership.user_id).where(
        Membership.cohort_id == cohort_id, Membership.role == CohortRole.PARTICIPANT,
        Membership.status == MembershipStatus.ACTIVE).order_by(Membership.user_id)).all()
    facilitator = db.session.scalar(select(User.id).where(User.email == "facilitator@example.org"))
    have = db.session.scalar(select(func.count(Post.id)).where(  # the bench's own, not the demo's
        Post.cohort_id == cohort_id, Post.body.like("Bench post %"))) or 0
    now = datetime.now(UTC).replace(microsecond=0)
    first = now - timedelta(minutes=5)

    def comments_of(n: int) -> int:
        return (n * 7) % 4

    def kudos_of(n: int) -> int:
        return (n * 5) % 6

    posts = []
    for n in range(have, total):
        at = first - timedelta(minutes=37 * n)
        kind = kinds[n % len(kinds)]
        where = " at the library" if n % 10 == 3 else ""
        posts.append({
            "cohort_id": cohort_id, "author_id": people[n % len(people)], "kind": kind,
            "body": f"Bench post {n}: I tried **one small thing**{where} this week.\n\n"
                    "- what worked: asking early\n- what did not: the timing\n\n"
                    "Next time I will start with a short checklist.",
            "link_url": "https://example.org/guide" if n % 5 == 0 else "",
            "link_text": "A guide" if n % 5 == 0 else "",
            "answered_at": at + timedelta(hours=1) if kind is PostKind.QUESTION and n % 8 == 2 else None,
            "story_at": at if kind is PostKind.STORY else None,
            "created_at": at,
            "hidden_at": at + timedelta(hours=2) if n % 40 == 37 else None,
            "hidden_by_id": facilitator if n % 40 == 37 else None,
            "hidden_reason": "Bench: off topic" if n % 40 == 37 else "",
            "deleted_at": at + timedelta(hours=3) if n % 50 == 49 else None,
        })
    if posts:
        ids = db.session.scalars(insert(Post).returning(Post.id, sort_by_parameter_order=True),
                                 posts).all()
        comments, kudos = [], []
        for n, (post_id, row) in enumerate(zip(ids, posts, strict=True), start=have):
            for k in range(comments_of(n)):
                by = facilitator if (n + k) % 4 == 0 else people[(n + 2 + 3 * k) % len(people)]
                hidden = (n + k) % 30 == 0
                comments.append({
                    "post_id": post_id, "author_id": by, "body": f"Bench comment {k} on {n}.",
                    "created_at": row["created_at"] + timedelta(minutes=5 * (k + 1)),
                    "hidden_at": row["created_at"] + timedelta(hours=1) if hidden else None,
                    "hidden_by_id": facilitator if hidden else None,
                    "hidden_reason": "Bench: unkind" if hidden else ""})
            kudos.extend({"post_id": post_id, "user_id": people[(n + 1 + k) % len(people)],
                          "created_at": row["created_at"] + timedelta(minutes=k + 1)}
                         for k in range(kudos_of(n)))
        if comments:
            db.session.execute(insert(Comment), comments)
        if kudos:
            db.session.execute(insert(Kudos), kudos)
    db.session.commit()
    measured = next(n for n in range(total) if comments_of(n) == 3 and kudos_of(n) == 5
                    and n % 40 != 37 and n % 50 != 49)
    return db.session.scalar(select(Post.id).where(
        Post.cohort_id == cohort_id, Post.body.like(f"Bench post {measured}:%")))


def next_page_path(client: FlaskClient, path: str) -> str:
    """The address of the "Older posts" link (``rel="next"``) of the page at ``path``."""
    response = client.get(path)
    match = NEXT_LINK_RE.search(response.get_data(as_text=True))
    response.close()
    if response.status_code != 200 or not match:
        raise SystemExit(f"bench: no 'Older posts' link on {path} ({response.status_code})")
    return html.unescape(match.group(1))


def demo_cohort() -> Cohort:
    """The demo's volunteer cohort, where the demo participant and patron are."""
    return db.session.scalars(select(Cohort).where(Cohort.is_volunteer.is_(True))).one()


def member_count(cohort_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Membership).where(Membership.cohort_id == cohort_id)
    ) or 0


def participant_count(cohort_id: int) -> int:
    """Active participants of the cohort."""
    return db.session.scalar(
        select(func.count()).select_from(Membership).where(
            Membership.cohort_id == cohort_id, Membership.role == CohortRole.PARTICIPANT,
            Membership.status == MembershipStatus.ACTIVE)
    ) or 0


def grow_cohort(members: int) -> int:
    """Add participants to the demo cohort until it has ``members`` members, each linked to
    the demo patron so that the patron's dashboard lists them too. Returns the count."""
    cohort = demo_cohort()
    teams = db.session.scalars(select(Team).order_by(Team.id)).all()
    patron = db.session.scalars(select(User).where(User.email == "patron@example.org")).one()
    password_hash = patron.password_hash  # nobody signs in as these; hashing 200 times is slow
    start = member_count(cohort.id)
    for i in range(start, members):
        person = User(email=f"bench.participant{i:03d}@example.org", name=f"Bench Participant {i:03d}",
                      password_hash=password_hash, timezone=cohort.timezone)
        db.session.add(person)
        db.session.add(Membership(cohort=cohort, user=person, role=CohortRole.PARTICIPANT,
                                  team=teams[i % len(teams)]))
        db.session.add(PatronLink(cohort=cohort, patron=patron, participant=person))
    db.session.commit()
    return member_count(cohort.id)


def seed_baselines() -> int:
    """Give every active participant of the demo cohort who has not begun one a submitted
    baseline: a rating of every statement of ``content/baseline.md`` and an answer to each
    open question, written with one multi-row INSERT per table (not through the services,
    which would take a statement per page per person). Returns how many were added."""
    from dap.baseline import services as baseline_services
    from dap.baseline.models import Answer, Assessment, Rating
    from dap.content.baseline import current_baseline

    questionnaire = current_baseline()
    if not questionnaire.is_available:
        raise SystemExit(f"bench: content/baseline.md has problems: {questionnaire.problems}")
    cohort = demo_cohort()
    checkpoint = baseline_services.ensure_baseline_checkpoint(cohort)
    begun = select(Assessment.user_id).where(Assessment.checkpoint_id == checkpoint.id)
    people = db.session.scalars(select(Membership.user_id).where(
        Membership.cohort_id == cohort.id, Membership.role == CohortRole.PARTICIPANT,
        Membership.status == MembershipStatus.ACTIVE, Membership.user_id.not_in(begun))).all()
    if people:
        now = datetime.now(UTC)
        db.session.execute(insert(Assessment), [
            {"checkpoint_id": checkpoint.id, "cohort_id": cohort.id, "user_id": user_id,
             "started_at": now, "updated_at": now, "submitted_at": now} for user_id in people])
        made = db.session.execute(select(Assessment.id, Assessment.user_id).where(
            Assessment.checkpoint_id == checkpoint.id, Assessment.user_id.in_(people))).all()
        statements = list(questionnaire.statements.values())
        db.session.execute(insert(Rating), [
            {"assessment_id": assessment_id, "statement_id": s.id, "area": s.area,
             "value": 1 + (user_id + n) % 5}
            for assessment_id, user_id in made for n, s in enumerate(statements)])
        answers = []
        for assessment_id, user_id in made:
            for question in questionnaire.questions.values():
                # a choices question: two of its choices (one at the end), and its free text
                choices = [c.id for c in question.choices]
                picked = choices[user_id % len(choices):][:2] if choices else []
                writes = question.kind != "choices" or question.free_text
                answers.append({"assessment_id": assessment_id, "question_id": question.id,
                                "text": f"Bench answer {user_id}" if writes else "",
                                "choices": " ".join(picked)})
        db.session.execute(insert(Answer), answers)
    db.session.commit()
    return len(people)


def set_cap_exempt(email: str, exempt: bool) -> None:
    """Exempt (or not) ``email``'s participant memberships from the platform-time cap. An
    exempt participant's requests run the same code and queries (membership, balance, a
    beat per page), they are only never sent out to Explore."""
    user_id = db.session.scalar(select(User.id).where(User.email == email))
    for membership in db.session.scalars(select(Membership).where(
            Membership.user_id == user_id, Membership.role == CohortRole.PARTICIPANT)):
        membership.cap_exempt = exempt
        membership.cap_exempt_reason = "bench" if exempt else ""
    db.session.commit()


def meta_csrf_token(client: FlaskClient) -> str:
    """The page token a measured participant's scripts send (``<meta name="csrf-token">``)."""
    match = META_CSRF_RE.search(client.get("/").get_data(as_text=True))
    if not match:
        raise SystemExit("bench: no <meta name=csrf-token> on the participant's dashboard")
    return match.group(1)


def run(seconds: float, database: str, pg_server: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="dap-bench-") as tmp, \
            gunicorn_bench.throwaway_database(database, Path(tmp), pg_server) as database_url:
        app = make_app(Path(tmp), database_url)
        with app.app_context():
            db.create_all()
            # PASSWORD_HASH_PARAMS None means the production profile, HashParams()'s defaults.
            load_demo(params=app.config["PASSWORD_HASH_PARAMS"] or HashParams())
            db.session.commit()
            db.session.remove()
            counter = QueryCounter().watch(db.engine)

        with app.app_context():
            cohort_id = demo_cohort().id
            goal_id = seed_plan(goals=5, check_ins=10)
            membership_id = db.session.scalar(
                select(Membership.id).join(User, User.id == Membership.user_id)
                .where(Membership.cohort_id == cohort_id,
                       User.email == "participant@example.org"))
            event_id, feed_token = seed_events(cohort_id, "participant@example.org", SMALL_FEED)
            db.session.remove()
        events_path = f"/cohorts/{cohort_id}/events"
        # the week from tomorrow on, where the 1:1 scaling below puts its slots
        agenda_path = ("/support/agenda?view=week&day="
                       f"{(datetime.now(UTC) + timedelta(days=1)).date().isoformat()}")
        event_path = f"{events_path}/{event_id}"
        roster_path = f"/cohorts/{cohort_id}/people"
        plan_path = f"/cohorts/{cohort_id}/plan"
        goal_path = f"{plan_path}/goals/{goal_id}"
        their_plan_path = f"/cohorts/{cohort_id}/people/{membership_id}/plan"
        clients = {
            "anonymous": app.test_client(),
            "participant": signed_in(app, "participant@example.org"),
            "facilitator": signed_in(app, "facilitator@example.org"),
            "patron": signed_in(app, "patron@example.org"),
            "admin": signed_in(app, "admin@example.org"),
        }
        cases = [
            ("sign-in page (anonymous)", "anonymous", "/login"),
            ("dashboard (participant)", "participant", "/"),
            ("dashboard (facilitator)", "facilitator", "/"),
            ("user list (admin)", "admin", "/admin/users"),
            ("roster (facilitator)", "facilitator", roster_path),
            ("roster, team filter", "facilitator", roster_path + "?team=1&sort=team"),
            ("my plan (participant)", "participant", plan_path),
            ("a goal's page", "participant", goal_path),
            ("their plan (patron)", "patron", their_plan_path),
            ("their plan (facilitator)", "facilitator", their_plan_path),
            ("events (participant)", "participant", events_path),
            ("an event's page", "participant", event_path),
            ("an event's page (facil.)", "facilitator", event_path),
            ("events, month view", "participant", events_path + "/month"),
            ("1:1 support (participant)", "participant", f"/cohorts/{cohort_id}/support"),
            ("1:1 agenda (facil.)", "facilitator", agenda_path),
            ("an event's recap", "participant", event_path + "/recap"),
            ("calendar feed", "anonymous", f"/calendar/{feed_token}.ics"),
        ]
        check_in_form = {
            "csrf_token": csrf_token(clients["participant"].get(goal_path).get_data(as_text=True)),
            "progress": "40", "minutes": "10", "note": "bench check-in",
        }
        results: list[Result] = []
        m = measure(clients["anonymous"], "/healthz", seconds, counter)
        baseline = m["rps"]
        results.append(Result(name="healthz", method="GET", path="/healthz", vs_healthz=1.0, **m))
        # The heartbeat of a measured participant (not exempt): an atomic upsert, a commit
        # and this week's balance; JSON 200 (204 would mean "not measured").
        m = measure(clients["participant"], HEARTBEAT_PATH, seconds, counter, form={},
                    headers={"X-CSRFToken": meta_csrf_token(clients["participant"])},
                    expect=(200,))
        results.append(Result(name="heartbeat POST", method="POST", path=HEARTBEAT_PATH,
                              vs_healthz=m["rps"] / baseline, **m))
        heartbeat_ratio = paired_ratio(
            clients["anonymous"], clients["participant"], HEARTBEAT_PATH, PAIRED_ROUNDS,
            PAIRED_SECONDS, form={}, expect=(200,),
            headers={"X-CSRFToken": meta_csrf_token(clients["participant"])})
        # Every participant request counts as platform time, so a long run could use up the
        # week's allowance and the participant's pages would answer 303 (to Explore). With
        # the exemption they run the same queries and still render.
        with app.app_context():
            set_cap_exempt("participant@example.org", True)
            db.session.remove()
        for name, who, path in cases:
            m = measure(clients[who], path, seconds, counter)
            results.append(Result(name=name, method="GET", path=path, vs_healthz=m["rps"] / baseline,
                                  **m))
        check_in_path = f"{goal_path}/check-ins"
        m = measure(clients["participant"], check_in_path, seconds, counter, form=check_in_form)
        results.append(Result(name="check-in POST", method="POST", path=check_in_path,
                              vs_healthz=m["rps"] / baseline, **m))

        scaling_cases = [
            ("dashboard (participant)", "participant", "/"),
            ("dashboard (facilitator)", "facilitator", "/"),
            ("dashboard (patron)", "patron", "/"),
            ("user list (admin)", "admin", "/admin/users"),
            ("roster (facilitator)", "facilitator", roster_path),
        ]
        # the facilitators' baseline report and its CSV, every participant with a sent baseline
        baseline_cases = [
            ("baseline report (facil.)", "facilitator", f"/cohorts/{cohort_id}/baseline/report"),
            ("baseline CSV (facil.)", "facilitator", f"/cohorts/{cohort_id}/baseline/report.csv"),
        ]
        # Each time the cohort grows, every participant gets a sent baseline before anything
        # is counted, so that both sizes are alike but for the number of people.
        with app.app_context():
            participants_before = grow_cohort(SMALL_COHORT)
            seed_baselines()
            baselines_before = participant_count(cohort_id)
            db.session.remove()
        before = {name: queries_per_request(clients[who], path, counter)
                  for name, who, path in scaling_cases}
        baseline_before = {name: queries_per_request(clients[who], path, counter)
                           for name, who, path in baseline_cases}
        # and how fast they are at each size: against /healthz, interleaved as the heartbeat
        # (the two sizes are measured about a minute apart, on what may be another machine)
        baseline_speed_before = {name: paired_ratio(clients["anonymous"], clients[who], path,
                                                    PAIRED_ROUNDS, PAIRED_SECONDS)
                                 for name, who, path in baseline_cases}
        with app.app_context():
            participants_after = grow_cohort(LARGE_COHORT)
            seed_baselines()
            baselines_after = participant_count(cohort_id)
            db.session.remove()
        after = {name: queries_per_request(clients[who], path, counter)
                 for name, who, path in scaling_cases}
        baseline_after = {name: queries_per_request(clients[who], path, counter)
                          for name, who, path in baseline_cases}
        baseline_speed_after = {name: paired_ratio(clients["anonymous"], clients[who], path,
                                                   PAIRED_ROUNDS, PAIRED_SECONDS)
                                for name, who, path in baseline_cases}
        def plan_cases(first_goal: int) -> list[tuple[str, str, str]]:
            return [("my plan (participant)", "participant", plan_path),
                    ("a goal's page", "participant", f"{plan_path}/goals/{first_goal}"),
                    ("their plan (patron)", "patron", their_plan_path),
                    ("a goal's page (patron)", "patron", f"{their_plan_path}/goals/{first_goal}")]

        with app.app_context():
            first_goal = seed_plan(goals=5, check_ins=10, fresh=True)
            db.session.remove()
        plan_before = {name: queries_per_request(clients[who], path, counter)
                       for name, who, path in plan_cases(first_goal)}
        with app.app_context():
            first_goal = seed_plan(goals=50, check_ins=1000)
            db.session.remove()
        plan_after = {name: queries_per_request(clients[who], path, counter)
                      for name, who, path in plan_cases(first_goal)}
        def event_cases(token: str, facilitator_token: str) -> list[tuple[str, str, str]]:
            return [("events (participant)", "participant", events_path),
                    ("calendar feed", "anonymous", f"/calendar/{token}.ics"),
                    ("calendar feed (facil.)", "anonymous", f"/calendar/{facilitator_token}.ics"),
                    ("1:1 agenda (facil.)", "facilitator", agenda_path),
                    ("dashboard (participant)", "participant", "/")]

        with app.app_context():
            _, feed_token = seed_events(cohort_id, "participant@example.org", SMALL_FEED)
            facilitator_token = seed_support(cohort_id, "participant@example.org",
                                             "facilitator@example.org", SMALL_SLOTS)
            db.session.remove()
        events_before = {name: queries_per_request(clients[who], path, counter)
                         for name, who, path in event_cases(feed_token, facilitator_token)}
        with app.app_context():
            _, feed_token = seed_events(cohort_id, "participant@example.org", LARGE_FEED)
            facilitator_token = seed_support(cohort_id, "participant@example.org",
                                             "facilitator@example.org", LARGE_SLOTS)
            db.session.remove()
        events_after = {name: queries_per_request(clients[who], path, counter)
                        for name, who, path in event_cases(feed_token, facilitator_token)}

        # The cohort feed (the cohort now has its 250 members), 21 then 2,000 posts.
        feed_path = f"/cohorts/{cohort_id}/feed"

        def feed_cases(post_id: int) -> list[tuple[str, str, str]]:
            return [("feed (participant)", "participant", feed_path),
                    ("feed (facilitator)", "facilitator", feed_path),
                    ("feed, second page", "participant",
                     next_page_path(clients["participant"], feed_path)),
                    ("feed, questions", "participant", f"{feed_path}?kind=question"),
                    ("feed, search", "participant", f"{feed_path}?q={FEED_SEARCH}"),
                    ("feed, search, no match", "participant",
                     f"{feed_path}?q={FEED_SEARCH_NOTHING}"),
                    ("a post's page", "participant", f"{feed_path}/{post_id}")]

        # how fast at each size, against /healthz, interleaved (as the baseline report)
        feed_speed_cases = [
            ("feed (participant)", "participant", feed_path),
            ("feed, search", "participant", f"{feed_path}?q={FEED_SEARCH}"),
            ("feed, search, no match", "participant", f"{feed_path}?q={FEED_SEARCH_NOTHING}")]
        with app.app_context():
            post_id = seed_feed(cohort_id, SMALL_POSTS)
            db.session.remove()
        small_feed_cases = feed_cases(post_id)
        feed_before = {name: queries_per_request(clients[who], path, counter)
                       for name, who, path in small_feed_cases}
        feed_speed_before = {name: paired_ratio(clients["anonymous"], clients[who], path,
                                                PAIRED_ROUNDS, PAIRED_SECONDS)
                             for name, who, path in feed_speed_cases}
        with app.app_context():
            post_id = seed_feed(cohort_id, LARGE_POSTS)
            db.session.remove()
        large_feed_cases = feed_cases(post_id)
        feed_after = {name: queries_per_request(clients[who], path, counter)
                      for name, who, path in large_feed_cases}
        feed_speed_after = {name: paired_ratio(clients["anonymous"], clients[who], path,
                                               PAIRED_ROUNDS, PAIRED_SECONDS)
                            for name, who, path in feed_speed_cases}
        with app.app_context():
            db.engine.dispose()

    return {
        "database": ("sqlite (temporary file)" if database == "sqlite"
                     else "postgresql (throwaway database)"),
        "results": [asdict(r) for r in results],
        "heartbeat_vs_healthz_interleaved": heartbeat_ratio,
        "scaling": {
            "participants_before": participants_before,
            "participants_after": participants_after,
            "requests_per_page": SCALING_REQUESTS,
            "queries_per_request": scaling_rows(scaling_cases, before, after),
        },
        "event_scaling": {
            "before": f"going to {SMALL_FEED} events, {SMALL_SLOTS} 1:1 slots booked",
            "after": f"going to {LARGE_FEED} events, {LARGE_SLOTS} 1:1 slots booked",
            "queries_per_request": scaling_rows(event_cases(feed_token, facilitator_token),
                                                events_before, events_after),
        },
        "baseline_scaling": {
            "before": f"{baselines_before} participants with a sent baseline",
            "after": f"{baselines_after} participants with a sent baseline",
            "queries_per_request": scaling_rows(baseline_cases, baseline_before, baseline_after),
            "vs_healthz_interleaved": [
                {"name": name, "before": baseline_speed_before[name],
                 "after": baseline_speed_after[name]} for name, _, _ in baseline_cases],
        },
        "plan_scaling": {
            "before": "5 goals, 10 check-ins", "after": "50 goals, 1,000 check-ins",
            "queries_per_request": scaling_rows(plan_cases(first_goal), plan_before, plan_after),
        },
        "feed_scaling": {
            "before": f"{SMALL_POSTS} posts", "after": f"{LARGE_POSTS:,} posts",
            "paths_before": {name: path for name, _, path in small_feed_cases},
            "paths_after": {name: path for name, _, path in large_feed_cases},
            "queries_per_request": scaling_rows(large_feed_cases, feed_before, feed_after),
            "vs_healthz_interleaved": [
                {"name": name, "before": feed_speed_before[name],
                 "after": feed_speed_after[name]} for name, _, _ in feed_speed_cases],
        },
    }


def scaling_rows(cases: list[tuple[str, str, str]], before: dict[str, float],
                 after: dict[str, float]) -> list[dict]:
    """One row per case: its queries per request before and after, and whether they grew."""
    return [{"name": name, "before": before[name], "after": after[name],
             "grows": after[name] > before[name]} for name, _, _ in cases]


def print_report(report: dict) -> None:
    print(f"DAP bench · {report['date']} · Python {report['python']} · {report['platform']}")
    print(f"{report['database']}, test client, {report['seconds_per_case']:g} s per case\n")
    header = f"{'case':<26} {'path':<36} {'req/s':>8} {'vs healthz':>10} {'mean ms':>8} " \
             f"{'p50 ms':>7} {'p95 ms':>8} {'queries/req':>11}"
    print(header)
    print("-" * len(header))
    for r in report["results"]:
        print(f"{r['name']:<26} {r['path']:<36} {r['rps']:>8.0f} {r['vs_healthz']:>10.2f} "
              f"{r['mean_ms']:>8.2f} {r['p50_ms']:>7.2f} {r['p95_ms']:>8.2f} "
              f"{r['queries_per_request']:>11.1f}")
    r = report["heartbeat_vs_healthz_interleaved"]
    verdict = "met" if r["median"] >= HEARTBEAT_TARGET else "NOT met"
    print(f"\nheartbeat / healthz, interleaved ({r['rounds']} rounds of "
          f"{r['seconds_per_round']:g} s each): median {r['median']:.2f} "
          f"(rounds from {r['low']:.2f} to {r['high']:.2f}; target at least "
          f"{HEARTBEAT_TARGET}: {verdict})")
    s = report["scaling"]
    print_scaling(f"as the cohort grows ({s['participants_before']} -> "
                  f"{s['participants_after']} members; the new ones all linked to the demo "
                  "patron)", s["queries_per_request"])
    b = report["baseline_scaling"]
    print_scaling(f"for the baseline report as the cohort grows ({b['before']} -> "
                  f"{b['after']})", b["queries_per_request"])
    print_paired(b["vs_healthz_interleaved"])
    p = report["plan_scaling"]
    print_scaling(f"as a plan grows ({p['before']} -> {p['after']})", p["queries_per_request"])
    e = report["event_scaling"]
    print_scaling(f"as someone's events and 1:1 bookings grow\n({e['before']} -> {e['after']})",
                  e["queries_per_request"])
    f = report["feed_scaling"]
    print_scaling(f"as the cohort feed grows ({f['before']} -> {f['after']})",
                  f["queries_per_request"])
    print_paired(f["vs_healthz_interleaved"])


def print_paired(rows: list[dict]) -> None:
    print(f"\nthe same / healthz, interleaved ({PAIRED_ROUNDS} rounds of {PAIRED_SECONDS:g} s "
          "each): median (lowest-highest), the page's median req/s")
    for row in rows:
        before, after = row["before"], row["after"]
        print(f"{row['name']:<26} before {before['median']:.3f} ({before['low']:.3f}-"
              f"{before['high']:.3f}) {before['rps_median']:.0f}/s, after {after['median']:.3f} "
              f"({after['low']:.3f}-{after['high']:.3f}) {after['rps_median']:.0f}/s")


def print_scaling(what: str, rows: list[dict]) -> None:
    print(f"\nqueries per request {what}")
    header = f"{'case':<26} {'before':>7} {'after':>7}  verdict"
    print(header)
    print("-" * len(header))
    for row in rows:
        verdict = "GROWS (N+1?)" if row["grows"] else "constant"
        print(f"{row['name']:<26} {row['before']:>7.1f} {row['after']:>7.1f}  {verdict}")

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None,
                        help="how long to measure each case (default 3, or 10 with "
                             "--server gunicorn)")
    parser.add_argument("--json", type=Path, default=None,
                        help=f"where to write the results (default {DEFAULT_JSON.relative_to(ROOT)}, "
                             "or latest-<server>-<database>.json beside it for the other modes)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="a temporary SQLite file (default) or a throwaway PostgreSQL database")
    parser.add_argument("--pg-url", default=None,
                        help="PostgreSQL server to create the throwaway database on (default "
                             "$DAP_BENCH_DATABASE_URL or "
                             f"{gunicorn_bench.DEFAULT_PG_SERVER})")
    parser.add_argument("--server", choices=("test-client", "gunicorn"), default="test-client",
                        help="in-process test client (default), or gunicorn with "
                             f"{gunicorn_bench.WORKERS} workers on 127.0.0.1 (heartbeat and "
                             "/healthz only)")
    parser.add_argument("--clients", type=int, default=8,
                        help="--server gunicorn: concurrent client threads (default 8)")
    parser.add_argument("--wsgi", default="wsgi:app",
                        help="--server gunicorn: the application to serve (default wsgi:app; "
                             "another module on PYTHONPATH to try a change without editing dap/)")
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = 10.0 if args.server == "gunicorn" else 3.0
    if args.seconds <= 0 or (args.server == "gunicorn" and args.seconds > 40):
        parser.error("--seconds must be positive (at most 40 with --server gunicorn)")
    if args.clients < 1:
        parser.error("--clients must be at least 1")
    if args.json is None:
        args.json = (DEFAULT_JSON if (args.server, args.database) == ("test-client", "sqlite")
                     else RESULTS / f"latest-{args.server}-{args.database}.json")
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C: gunicorn stopped, database dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    pg_server = gunicorn_bench.pg_server_url(args.pg_url)
    about = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "seconds_per_case": args.seconds,
    }

    if args.server == "gunicorn":
        try:
            report = about | gunicorn_bench.run(args.database, args.seconds, args.clients,
                                                     pg_server, args.wsgi)
        except gunicorn_bench.BenchError as error:
            print(f"bench: {error}", file=sys.stderr)
            return 2
        gunicorn_bench.print_report(report)
    else:
        report = about | run(args.seconds, args.database, pg_server)
        print_report(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.json}")
    if args.server == "gunicorn":
        return 1 if any(r["errors"] for r in report["results"]) else 0
    rows = (report["scaling"]["queries_per_request"] + report["plan_scaling"]["queries_per_request"]
            + report["event_scaling"]["queries_per_request"]
            + report["baseline_scaling"]["queries_per_request"]
            + report["feed_scaling"]["queries_per_request"])
    return 1 if any(row["grows"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
