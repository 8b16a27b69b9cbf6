"""Demo data: one organisation running a realistic cohort, with the documented demo accounts.

Only ever loaded into an empty database (``flask --app dap demo``). The password is the
documented demo password and must never be used for real accounts.
"""

from __future__ import annotations

from datetime import timedelta

from dap.accounts.models import User
from dap.accounts.services import HashParams, hash_password
from dap.clock import now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, Organisation, PatronLink, Team
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
    db.session.add(Membership(cohort=cohort, user=facilitator, role=CohortRole.FACILITATOR))
    db.session.add(Membership(cohort=cohort, user=patron, role=CohortRole.PATRON,
                              team=teams["Customer Services"]))
    db.session.add(Membership(cohort=cohort, user=second_patron, role=CohortRole.PATRON,
                              team=teams["Communications"]))

    participants = []
    for email, name, team in PARTICIPANTS:
        person = user(email, name)
        participants.append(person)
        db.session.add(Membership(cohort=cohort, user=person, role=CohortRole.PARTICIPANT,
                                  team=teams[team]))
    db.session.flush()

    for person in participants[:2] + participants[8:9]:
        db.session.add(PatronLink(cohort=cohort, patron=patron, participant=person))
    for person in participants[2:4] + participants[9:]:
        db.session.add(PatronLink(cohort=cohort, patron=second_patron, participant=person))
    db.session.flush()
    return (f"1 organisation, {len(teams)} teams, 1 cohort, "
            f"{len(participants)} participants, 2 patrons, 1 facilitator, 1 admin")
