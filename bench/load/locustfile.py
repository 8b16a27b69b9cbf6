"""The load test's simulated people (locust 2.x), run by bench/load/run.py (``make load``).

- **Participant** signs in through the form once, then heartbeats (``POST /time/heartbeat``)
  every few seconds, opens their plan and goal pages now and then, and checks in through the
  goal page's form with a note carrying a unique token.
- **Patron** opens the patron home, one of their participants' plans, and now and then sends
  a nudge.
- **Facilitator** browses the cohort insights: overview, people, activity by week.

Accounts are the ones ``flask --app dap demo --scale N`` makes (dap/demo_scale.py); every
simulated participant has their own account. The driver passes the counts and where to keep
the log through environment variables (``DAP_LOAD_*``). Every participant request's send and
answer times and every check-in token go to the log (one JSON line each) for the checks in
bench/load/check.py.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
import time
import uuid
from pathlib import Path

import gevent
from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/, for gunicorn_bench
from gunicorn_bench import FORM_CSRF_RE, META_CSRF_RE  # noqa: E402

from dap.demo import DEMO_PASSWORD  # noqa: E402
from dap.demo_scale import facilitator_email, participant_email, patron_email  # noqa: E402

PARTICIPANTS = int(os.environ.get("DAP_LOAD_PARTICIPANTS", "50"))
PATRONS = int(os.environ.get("DAP_LOAD_PATRONS", "5"))
FACILITATORS = int(os.environ.get("DAP_LOAD_FACILITATORS", "2"))
#: how many patron and facilitator accounts exist (simulated ones beyond share accounts)
PATRON_ACCOUNTS = int(os.environ.get("DAP_LOAD_PATRON_ACCOUNTS", str(PATRONS)))
FACILITATOR_ACCOUNTS = int(os.environ.get("DAP_LOAD_FACILITATOR_ACCOUNTS", str(FACILITATORS)))
LOG_DIR = Path(os.environ.get("DAP_LOAD_LOG_DIR", "."))
RUN = os.environ.get("DAP_LOAD_RUN", uuid.uuid4().hex[:8])
#: seconds between a participant's heartbeats (the browser sends one every 30 s; compressed)
BEAT_EVERY = float(os.environ.get("DAP_LOAD_BEAT_SECONDS", "4"))

COHORT_RE = re.compile(r'href="/cohorts/(\d+)/')
GOAL_RE = re.compile(r'href="(/cohorts/\d+/plan/goals/\d+)[#"]')
CHECK_IN_ACTION_RE = re.compile(r'action="(/cohorts/\d+/plan/goals/\d+/check-ins)"')
THEIR_PLAN_RE = re.compile(r'href="(/cohorts/\d+/people/\d+/plan)"')
NUDGE_RE = re.compile(r'href="(/cohorts/\d+/people/\d+/nudge)"')
NUDGE_TOKEN_RE = re.compile(r'name="token"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="token"')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
EXPLORE = "/time/explore"  #: where DAP sends a participant who reached their allowance

#: seconds measured once everyone has signed in (then the run stops)
MEASURE = float(os.environ.get("DAP_LOAD_MEASURE_SECONDS", "0"))
_log = None
_started = 0


def log(record: dict) -> None:
    """One JSON line in this process's log (gevent: no two greenlets write at once)."""
    global _log  # noqa: PLW0603 - one file per locust process
    if _log is None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        _log = open(LOG_DIR / f"log-{os.getpid()}.jsonl", "a", buffering=1)  # noqa: SIM115
    _log.write(json.dumps(record, separators=(",", ":")) + "\n")


@events.request.add_listener
def _count_failures(request_type, name, exception=None, **_kwargs) -> None:
    """Every failed request, also those of the ramp-up that --reset-stats leaves out of the
    table."""
    if exception is not None:
        log({"fail": f"{request_type} {name}", "error": str(exception)[:300]})


@events.quitting.add_listener
def _close_log(**_kwargs) -> None:
    if _log is not None:
        _log.close()


def everyone_in(environment) -> None:
    """Once every simulated person has signed in (or given up): reset the figures, so that
    the table shows the steady state and not the sign-in rush (argon2id is meant to be
    slow), and stop the run ``MEASURE`` seconds later."""
    global _started  # noqa: PLW0603 - one count per locust process
    _started += 1
    if _started == PARTICIPANTS + PATRONS + FACILITATORS and MEASURE:
        environment.runner.stats.reset_all()
        log({"measured_from": time.time()})
        gevent.spawn_later(MEASURE, environment.runner.quit)


def first_group(match: re.Match | None) -> str | None:
    return next((g for g in match.groups() if g), None) if match else None


class Person(FastHttpUser):
    abstract = True
    network_timeout = 60.0
    connection_timeout = 60.0
    number: int
    counter: itertools.count

    def on_start(self) -> None:
        self.number = next(type(self).counter)
        n = self.number + {"Participant": 0, "Patron": 100_000, "Facilitator": 200_000}[
            type(self).__name__]
        # one address per person, as behind a reverse proxy (DAP_PROXY_COUNT=1): the
        # per-address sign-in limit then applies per person, as in production
        self.address = {"X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"}
        self.csrf = ""
        try:
            self.sign_in(self.email())
        finally:
            everyone_in(self.environment)

    def email(self) -> str:
        raise NotImplementedError

    def send(self, method: str, path: str, *, name: str, headers: dict | None = None, **kwargs):
        """A request as this person's browser sends it; redirects are not followed (each
        request is one answer, and for a participant one beat)."""
        return self.client.request(method.upper(), path, name=name, catch_response=True,
                                   allow_redirects=False,
                                   headers={**self.address, **(headers or {})}, **kwargs)

    def sign_in(self, email: str) -> None:
        with self.send("get", "/login", name="GET /login") as page:
            token = first_group(FORM_CSRF_RE.search(page.text or ""))
            if page.status_code != 200 or not token:
                page.failure(f"no sign-in form ({page.status_code})")
                raise StopUser
        with self.send("post", "/login", name="POST /login", headers=FORM,
                       data={"csrf_token": token, "email": email,
                                    "password": DEMO_PASSWORD}) as answer:
            if answer.status_code != 302:
                answer.failure(f"signing in as {email} answered {answer.status_code}")
                raise StopUser
            answer.success()

    def page(self, path: str, name: str) -> str | None:
        """GET a page that must answer 200; its text, or None."""
        with self.send("get", path, name=name) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code} for {path}")
                return None
            meta = META_CSRF_RE.search(answer.text or "")
            if meta:
                self.csrf = meta.group(1)
            return answer.text


class Participant(Person):
    counter = itertools.count()
    wait_time = between(0.5 * BEAT_EVERY, 1.5 * BEAT_EVERY)

    def email(self) -> str:
        return participant_email(self.number)

    def on_start(self) -> None:
        self.cohort = None
        self.goals: list[str] = []
        super().on_start()

    # every participant request goes through here: each one is a beat for the server
    def _timed(self, method: str, path: str, name: str, expect: tuple[int, ...], *,
               cap_moves: bool = True, **kwargs):
        """Send a request; (expected?, its text). A page that moves a participant who has
        reached their platform-time allowance to Explore (303 to /time/explore) is what
        DAP should do: it counts as answered (not as expected: a check-in sent then is
        not recorded), and the participant logs web time, as the Explore page asks, which
        lifts the cap. ``cap_moves`` False: such a 303 is just an answer."""
        sent = time.time()
        record = {"u": self.number, "s": sent}
        capped = False
        try:
            with self.send(method, path, name=name, **kwargs) as answer:
                answered_status = answer.status_code or 0
                record["a"] = time.time()
                record["st"] = answered_status
                capped = (cap_moves and answered_status == 303
                          and EXPLORE in (answer.headers.get("Location") or ""))
                ok = answered_status in expect and not capped
                if ok or capped:
                    answer.success()
                else:
                    answer.failure(f"{answered_status} for {method.upper()} {path}")
                result = (ok, answer.text or "")
        finally:
            if "a" not in record:  # cut off (the run stopped) or the client broke
                record["a"] = None
            log(record)
        if capped:
            self.log_web_time()
        return result

    def log_web_time(self) -> None:
        """Capped: open the web-time log and record an hour away from DAP."""
        ok, text = self._timed("get", "/time/log", "GET the web-time log (capped)", (200,))
        token = first_group(FORM_CSRF_RE.search(text)) if ok else None
        if token:
            self._timed("post", "/time/log", "POST web time (capped)", (303,), cap_moves=False,
                        headers=FORM,
                        data={"csrf_token": token, "kind": "read", "minutes": "60",
                              "title": f"load-{RUN} reading on the web"})

    def sign_in(self, email: str) -> None:
        super().sign_in(email)  # the form's POST is no beat: nobody is signed in yet
        ok, text = self._timed("get", "/", "GET / (participant)", (200,))
        if not ok:  # moved to Explore: the web time just logged lifts the cap
            ok, text = self._timed("get", "/", "GET / (participant)", (200,))
        match = COHORT_RE.search(text)
        meta = META_CSRF_RE.search(text)
        if not ok or not match or not meta:
            raise StopUser
        self.cohort = match.group(1)
        self.csrf = meta.group(1)
        self.open_plan()

    def open_plan(self) -> None:
        ok, text = self._timed("get", f"/cohorts/{self.cohort}/plan", "GET my plan", (200,))
        if ok:
            self.goals = sorted(set(GOAL_RE.findall(text)))

    @task(12)
    def heartbeat(self) -> None:
        self._timed("post", "/time/heartbeat", "POST /time/heartbeat", (200,),
                    headers={"X-CSRFToken": self.csrf})

    @task(1)
    def plan(self) -> None:
        self.open_plan()

    @task(1)
    def goal_and_check_in(self) -> None:
        if not self.goals:
            return
        ok, text = self._timed("get", random.choice(self.goals), "GET a goal", (200,))
        action = CHECK_IN_ACTION_RE.search(text) if ok else None
        token = first_group(FORM_CSRF_RE.search(text)) if ok else None
        if not action or not token or random.random() > 0.5:
            return  # a finished goal has no check-in form; and not every visit checks in
        note = f"load-{RUN}-{uuid.uuid4().hex}"
        log({"checkin": note, "state": "sent"})
        ok, _ = self._timed("post", action.group(1), "POST a check-in", (302, 303), headers=FORM,
                            data={"csrf_token": token, "minutes": str(random.randint(5, 30)),
                                  "progress": "", "note": note})
        log({"checkin": note, "state": "recorded" if ok else "refused"})


class Patron(Person):
    counter = itertools.count()
    wait_time = between(5, 15)

    def email(self) -> str:
        return patron_email(self.number % PATRON_ACCOUNTS)

    def on_start(self) -> None:
        super().on_start()
        self.nudges = 0
        self.plans: list[str] = []
        self.home()

    @task(3)
    def home(self) -> None:
        text = self.page("/patron", "GET /patron")
        if text:
            self.plans = sorted(set(THEIR_PLAN_RE.findall(text)))
            self.nudge_pages = sorted(set(NUDGE_RE.findall(text)))

    @task(3)
    def their_plan(self) -> None:
        if self.plans:
            self.page(random.choice(self.plans), "GET their plan (patron)")

    @task(1)
    def nudge(self) -> None:
        # rarely: at most two a run per patron account (simulated patrons beyond the
        # accounts share them and send none), under the limit of three a day per participant
        if (self.number >= PATRON_ACCOUNTS or self.nudges >= 2
                or not getattr(self, "nudge_pages", None) or random.random() > 0.3):
            return
        path = random.choice(self.nudge_pages)
        text = self.page(path, "GET the nudge form")
        token = first_group(FORM_CSRF_RE.search(text or ""))
        once = first_group(NUDGE_TOKEN_RE.search(text or ""))
        if not token:
            return
        self.nudges += 1
        with self.send("post", path, name="POST a nudge", headers=FORM,
                       data={"csrf_token": token, "choice": "own", "kind": "nudge",
                                    "token": once or "", "message": "Keep going: you are doing "
                                    "well this week."}) as answer:
            if answer.status_code == 303:
                answer.success()
            else:
                answer.failure(f"{answer.status_code} for POST {path}")


class Facilitator(Person):
    counter = itertools.count()
    wait_time = between(5, 15)

    def email(self) -> str:
        return facilitator_email(self.number % FACILITATOR_ACCOUNTS)

    def on_start(self) -> None:
        super().on_start()
        text = self.page("/", "GET / (facilitator)") or ""
        cohorts = sorted(set(re.findall(r'href="/cohorts/(\d+)/insights"', text))
                         or set(COHORT_RE.findall(text)))
        if not cohorts:
            raise StopUser
        self.cohorts = cohorts

    @task(2)
    def overview(self) -> None:
        self.page(f"/cohorts/{random.choice(self.cohorts)}/insights", "GET insights overview")

    @task(2)
    def people(self) -> None:
        self.page(f"/cohorts/{random.choice(self.cohorts)}/insights/people", "GET insights people")

    @task(1)
    def activity(self) -> None:
        self.page(f"/cohorts/{random.choice(self.cohorts)}/insights/activity",
                  "GET insights activity")


Participant.fixed_count = PARTICIPANTS
Patron.fixed_count = PATRONS
Facilitator.fixed_count = FACILITATORS
