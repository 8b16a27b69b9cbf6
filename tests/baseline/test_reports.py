"""The facilitators' baseline reports: distributions and change per area and checkpoint,
needs and barriers, the answers CSV and the anonymous barriers CSV, each in a fixed number
of queries.

The cohort of ``story``: five active participants in two teams, each with a sent baseline;
four sent the mid-point, the fifth began it and did not send it. Their "listening online"
scores (five statements, so every mean is a whole number of fifths), every other area
rated 3 throughout:

=====  ======  ========  =========  ======
who    team    baseline  mid-point  change
=====  ======  ========  =========  ======
Cara   Alpha   1.0       2.0        +1.0
Ben    Alpha   2.2       2.2         0
Dev    Alpha   3.0       2.8        -0.2
Erin   Beta    3.8       4.8        +1.0
Abe    Beta    5.0       (not sent)
=====  ======  ========  =========  ======

Rory (team Gamma) sent a baseline and was then removed: left out everywhere, and Gamma,
with nobody active left, is not offered as a filter.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import insert

from dap.accounts.models import User
from dap.baseline import reports, services
from dap.baseline.models import Answer, Assessment, Checkpoint, CheckpointKind, Rating
from dap.clock import now_utc
from dap.cohorts.models import Cohort, CohortRole, MembershipStatus, Team
from dap.content.baseline import Baseline, current_baseline
from dap.extensions import db
from tests import factories
from tests.conftest import counting_queries

LISTENING = "listening-online"
EVIL = '=HYPERLINK("http://evil.example","click")'
BARRIERS_TEXT = "What gets in the way of learning new digital skills at work?"


def take(checkpoint: Checkpoint, person: User, baseline: Baseline, listening: list[int] | None,
         *, send: bool = True, answers: dict | None = None) -> Assessment:
    """``person``'s assessment at ``checkpoint``: ``listening`` for the five listening-online
    statements (None: none rated), 3 for every other statement when it is sent."""
    assessment = services.start(checkpoint, person, actor=person)
    for slug, area in baseline.areas.items():
        if slug == LISTENING:
            if listening is not None:
                services.save_area(assessment, area, {
                    s.id: v for s, v in zip(area.statements, listening, strict=True)})
        elif send:
            services.save_area(assessment, area, {s.id: 3 for s in area.statements})
    if answers:
        services.save_answers(assessment, baseline, answers)
    if send:
        services.submit(assessment, baseline)
    db.session.flush()
    return assessment


@dataclass
class Story:
    cohort: Cohort
    baseline: Baseline
    alpha: Team
    beta: Team
    gamma: Team
    people: dict[str, User]
    first: Checkpoint
    midpoint: Checkpoint


@pytest.fixture
def story(ctx) -> Story:
    baseline = current_baseline()
    assert baseline.is_available, baseline.problems
    org = factories.make_organisation()
    alpha, beta, gamma = (factories.make_team(org, n) for n in ("Alpha", "Beta", "Gamma"))
    cohort = factories.make_cohort(org)
    facilitator = factories.make_user(name="Fay Facilitator", email="fay@example.org")
    factories.add_member(cohort, facilitator, CohortRole.FACILITATOR)
    people = {}
    for name, team in (("Cara", alpha), ("Ben", alpha), ("Dev", alpha), ("Erin", beta),
                       ("Abe", beta), ("Rory", gamma)):
        people[name] = factories.make_user(name=f"{name} Person",
                                           email=f"{name.lower()}@example.org")
        factories.add_member(cohort, people[name], CohortRole.PARTICIPANT, team)
    first = services.ensure_baseline_checkpoint(cohort)
    midpoint = services.open_checkpoint(cohort, CheckpointKind.MIDPOINT, actor=facilitator)
    p = people
    take(first, p["Cara"], baseline, [1, 1, 1, 1, 1], answers={
        "needs": ("More confidence", []), "barriers": ("", ["time", "confidence"])})
    take(first, p["Ben"], baseline, [2, 2, 2, 2, 3], answers={
        "needs": ("Help with video", []),
        "barriers": ("Blocked YouTube", ["time", "it-restrictions"])})
    take(first, p["Dev"], baseline, [3, 3, 3, 3, 3])
    take(first, p["Erin"], baseline, [4, 4, 4, 4, 3], answers={
        "needs": (EVIL, []), "barriers": ("", ["access"])})
    take(first, p["Abe"], baseline, [5, 5, 5, 5, 5])
    take(first, p["Rory"], baseline, [5, 5, 5, 5, 5], answers={
        "needs": ("Rory's secret need", []), "barriers": ("Rory's barrier", ["time"])})
    take(midpoint, p["Cara"], baseline, [2, 2, 2, 2, 2], answers={
        "needs": ("Time to practise", []), "barriers": ("", ["time"])})
    take(midpoint, p["Ben"], baseline, [2, 2, 2, 2, 3], answers={"needs": ("", [])})
    take(midpoint, p["Dev"], baseline, [3, 3, 3, 3, 2])
    take(midpoint, p["Erin"], baseline, [5, 5, 5, 5, 4])
    take(midpoint, p["Abe"], baseline, None, send=False, answers={
        "needs": ("Someone to ask", []), "barriers": ("My manager", [])})
    # Abe rated two statements at the mid-point, and did not send it
    listening = baseline.areas[LISTENING]
    midpoint_of_abe = services.assessment_of(midpoint, p["Abe"])
    services.save_area(midpoint_of_abe, listening, {listening.statements[0].id: 4,
                                                    listening.statements[1].id: 2})
    rory = next(m for m in cohort.memberships if m.user_id == p["Rory"].id)
    rory.status = MembershipStatus.REMOVED
    db.session.commit()
    return Story(cohort=cohort, baseline=baseline, alpha=alpha, beta=beta, gamma=gamma,
                 people=people, first=first, midpoint=midpoint)


def figures(d) -> tuple:
    return (d.count, d.median, d.lower_quartile, d.upper_quartile, d.minimum, d.maximum,
            d.is_small)


def change_figures(c) -> tuple:
    return (c.count, c.median, c.up, c.same, c.down, c.is_small)


def area(report, slug: str):
    return next(a for a in report.areas if a.area.slug == slug)


# --- the distributions ------------------------------------------------------------------------


def test_the_whole_cohort_by_hand(story):
    report = reports.cohort_report(story.cohort, story.baseline)
    assert [c.kind for c in report.checkpoints] == [CheckpointKind.BASELINE,
                                                    CheckpointKind.MIDPOINT]
    assert report.participants == 5
    assert report.submitted == {story.first.id: 5, story.midpoint.id: 4}
    assert report.submitted_at(story.midpoint) == 4
    assert [t.name for t in report.teams] == ["Alpha", "Beta"]
    assert report.team_id is None
    assert [a.area.slug for a in report.areas] == list(story.baseline.areas)

    listening = area(report, LISTENING)
    first, later = listening.distributions
    assert first.checkpoint.id == story.first.id
    # 1.0 2.2 3.0 3.8 5.0 (Rory's 5.0 left out: removed)
    assert figures(first) == (5, 3.0, 2.2, 3.8, 1.0, 5.0, False)
    # 2.0 2.2 2.8 4.8 (Abe's begun mid-point left out): quartiles at 3/4 and 9/4 of the way
    # from the lowest: (2.0 + 3 × 2.2) / 4 = 2.15 and (3 × 2.8 + 4.8) / 4 = 3.3
    assert figures(later) == (4, 2.5, 2.15, 3.3, 2.0, 4.8, True)
    (moved,) = listening.changes
    assert moved.checkpoint.id == story.midpoint.id
    # +1.0, 0, -0.2, +1.0: median (0 + 1.0) / 2
    assert change_figures(moved) == (4, 0.5, 2, 1, 1, True)

    other = area(report, "collaboration-tools")
    assert figures(other.distributions[0]) == (5, 3.0, 3.0, 3.0, 3.0, 3.0, False)
    assert change_figures(other.changes[0]) == (4, 0.0, 0, 4, 0, True)


def test_a_team_filter(story):
    alpha = reports.cohort_report(story.cohort, story.baseline, team_id=story.alpha.id)
    assert alpha.participants == 3
    assert alpha.team_id == story.alpha.id
    assert alpha.submitted == {story.first.id: 3, story.midpoint.id: 3}
    assert [t.name for t in alpha.teams] == ["Alpha", "Beta"]  # the filter's options stay
    listening = area(alpha, LISTENING)
    # 1.0 2.2 3.0: quartiles halfway, (1.0 + 2.2) / 2 and (2.2 + 3.0) / 2
    assert figures(listening.distributions[0]) == (3, 2.2, 1.6, 2.6, 1.0, 3.0, True)
    # 2.0 2.2 2.8
    assert figures(listening.distributions[1]) == (3, 2.2, 2.1, 2.5, 2.0, 2.8, True)
    # +1.0, 0, -0.2
    assert change_figures(listening.changes[0]) == (3, 0.0, 1, 1, 1, True)

    beta = reports.cohort_report(story.cohort, story.baseline, team_id=story.beta.id)
    assert beta.participants == 2
    assert beta.submitted == {story.first.id: 2, story.midpoint.id: 1}
    listening = area(beta, LISTENING)
    # 3.8 5.0: quartiles a quarter and three quarters of the way, 4.1 and 4.7
    assert figures(listening.distributions[0]) == (2, 4.4, 4.1, 4.7, 3.8, 5.0, True)
    # one value: everything equals it
    assert figures(listening.distributions[1]) == (1, 4.8, 4.8, 4.8, 4.8, 4.8, True)
    assert change_figures(listening.changes[0]) == (1, 1.0, 1, 0, 0, True)

    gamma = reports.cohort_report(story.cohort, story.baseline, team_id=story.gamma.id)
    assert gamma.participants == 0
    assert gamma.submitted == {story.first.id: 0, story.midpoint.id: 0}
    listening = area(gamma, LISTENING)
    assert figures(listening.distributions[0]) == (0, None, None, None, None, None, True)
    assert change_figures(listening.changes[0]) == (0, None, 0, 0, 0, True)


def test_only_the_baseline_and_nobody_yet(ctx):
    baseline = current_baseline()
    cohort = factories.make_cohort()
    factories.add_member(cohort, factories.make_user(), CohortRole.PARTICIPANT)
    report = reports.cohort_report(cohort, baseline)
    assert [c.kind for c in report.checkpoints] == [CheckpointKind.BASELINE]
    assert report.participants == 1
    assert report.teams == []
    for line in report.areas:
        assert [d.count for d in line.distributions] == [0]
        assert line.changes == []


def test_a_distribution_of_one_and_the_quartiles_of_statistics():
    from fractions import Fraction

    one = reports.distribution(None, [Fraction(17, 5)])
    assert figures(one) == (1, 3.4, 3.4, 3.4, 3.4, 3.4, True)
    # thirds stay exact until rounded: 1, 4/3, 5/3, 2, 7/3, 8/3
    many = reports.distribution(None, [Fraction(n, 3) for n in (3, 4, 5, 6, 7, 8)])
    assert figures(many) == (6, 1.83, 1.42, 2.25, 1.0, 2.67, False)


# --- needs and barriers -----------------------------------------------------------------------


def written(summary) -> list[tuple]:
    return [(w.name, w.team, w.checkpoint, w.text) for w in summary.answers]


def test_needs_and_barriers(story):
    summaries = {s.question.id: s for s in reports.needs_and_barriers(story.cohort,
                                                                      story.baseline)}
    assert list(summaries) == list(story.baseline.questions)

    needs = summaries["needs"]
    assert needs.answered == 4
    assert needs.choices == []
    # by team, then name; the latest answer of each (Ben's empty mid-point answer does not
    # replace his baseline one; Abe's comes from a mid-point he did not send)
    assert written(needs) == [
        ("Ben Person", "Alpha", "Baseline", "Help with video"),
        ("Cara Person", "Alpha", "Mid-point checkpoint", "Time to practise"),
        ("Abe Person", "Beta", "Mid-point checkpoint", "Someone to ask"),
        ("Erin Person", "Beta", "Baseline", EVIL),
    ]
    assert [(team, len(answers)) for team, answers in needs.by_team] == [("Alpha", 2),
                                                                         ("Beta", 2)]
    assert needs.is_small

    barriers = summaries["barriers"]
    # Cara (her latest: time only), Ben, Erin and Abe (text only)
    assert barriers.answered == 4
    assert [(c.choice.id, c.people, c.share, c.percent) for c in barriers.choices] == [
        ("time", 2, 0.5, 50), ("it-restrictions", 1, 0.25, 25), ("confidence", 0, 0.0, 0),
        ("access", 1, 0.25, 25), ("other", 0, 0.0, 0)]
    assert written(barriers) == [("Ben Person", "Alpha", "Baseline", "Blocked YouTube"),
                                 ("Abe Person", "Beta", "Mid-point checkpoint", "My manager")]

    for question_id in ("learning", "anything-else"):
        assert summaries[question_id].answered == 0
        assert summaries[question_id].answers == []


def test_needs_and_barriers_of_one_team(story):
    summaries = {s.question.id: s for s in reports.needs_and_barriers(
        story.cohort, story.baseline, team_id=story.beta.id)}
    assert [a.name for a in summaries["needs"].answers] == ["Abe Person", "Erin Person"]
    barriers = summaries["barriers"]
    assert barriers.answered == 2
    assert [(c.choice.id, c.people, c.share) for c in barriers.choices] == [
        ("time", 0, 0.0), ("it-restrictions", 0, 0.0), ("confidence", 0, 0.0),
        ("access", 1, 0.5), ("other", 0, 0.0)]


# --- the CSVs ---------------------------------------------------------------------------------


def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_answers_csv(story):
    baseline = story.baseline
    rows = read(reports.answers_csv(story.cohort, baseline))
    header, body = rows[0], rows[1:]
    statements = list(baseline.statements)
    assert header[:6] == ["name", "email", "team", "checkpoint", "started", "submitted"]
    assert header[6:6 + len(statements)] == statements
    means = header[6 + len(statements):6 + len(statements) + len(baseline.areas)]
    assert means == [f"{slug} (mean)" for slug in baseline.areas]
    assert header[-5:] == ["needs", "learning", "barriers (choices)", "barriers (text)",
                           "anything-else"]
    # every assessment of the active participants, sent or not; Rory's left out
    assert [(r[0], r[3]) for r in body] == [
        ("Ben Person", "Baseline"), ("Ben Person", "Mid-point checkpoint"),
        ("Cara Person", "Baseline"), ("Cara Person", "Mid-point checkpoint"),
        ("Dev Person", "Baseline"), ("Dev Person", "Mid-point checkpoint"),
        ("Abe Person", "Baseline"), ("Abe Person", "Mid-point checkpoint"),
        ("Erin Person", "Baseline"), ("Erin Person", "Mid-point checkpoint")]
    column = {name: i for i, name in enumerate(header)}
    ben = dict(zip(header, body[0], strict=True))
    assert ben["email"] == "ben@example.org"
    assert ben["team"] == "Alpha"
    assert ben["started"].endswith(("+00:00", "+01:00"))
    assert ben["submitted"] != ""
    assert [ben[s.id] for s in baseline.areas[LISTENING].statements] == ["2", "2", "2", "2", "3"]
    assert ben[f"{LISTENING} (mean)"] == "2.2"
    assert ben["collaboration-tools (mean)"] == "3.0"
    assert ben["barriers (choices)"] == "Finding the time; IT restrictions, such as blocked " \
                                        "sites, no admin rights or old equipment"
    assert ben["barriers (text)"] == "Blocked YouTube"
    assert ben["needs"] == "Help with video"
    # Abe's mid-point: begun, not sent, two statements rated
    abe = dict(zip(header, body[7], strict=True))
    assert abe["submitted"] == ""
    listening = [abe[s.id] for s in baseline.areas[LISTENING].statements]
    assert listening == ["4", "2", "", "", ""]
    assert abe[f"{LISTENING} (mean)"] == "3.0"
    assert abe["collaboration-tools (mean)"] == ""
    assert abe["barriers (choices)"] == ""
    assert abe["barriers (text)"] == "My manager"
    # Erin's "=HYPERLINK(…)" is text in a spreadsheet, not a formula
    erin = body[8]
    assert erin[column["needs"]] == "'" + EVIL


def test_answers_csv_of_one_team(story):
    body = read(reports.answers_csv(story.cohort, story.baseline, team_id=story.beta.id))[1:]
    assert {r[0] for r in body} == {"Abe Person", "Erin Person"}
    assert len(body) == 4


def test_barriers_csv(story):
    text = reports.barriers_csv(story.cohort, story.baseline)
    rows = read(text)
    assert rows[0] == ["section", "team", "question", "answer", "people", "of_people_answering"]
    labels = [c.label for c in story.baseline.questions["barriers"].choices]
    counts = [(r[0], r[1], r[3], r[4], r[5]) for r in rows[1:] if r[0] != "free text"]
    assert all(r[2] == BARRIERS_TEXT for r in rows[1:])
    expected = []
    # Alpha and Beta each have two people answering: too few to show on their own (one
    # could tell the other's answer), so they are pooled
    for section, team, people, answering in (
            ("whole cohort", "All teams", (2, 1, 0, 1, 0), 4),
            ("by team", "Smaller teams (pooled)", (2, 1, 0, 1, 0), 4)):
        expected += [(section, team, label, str(n), str(answering))
                     for label, n in zip(labels, people, strict=True)]
    assert counts == expected
    assert [(r[0], r[1], r[3], r[4], r[5]) for r in rows[1:] if r[0] == "free text"] == [
        ("free text", "Smaller teams (pooled)", "Blocked YouTube", "", ""),
        ("free text", "Smaller teams (pooled)", "My manager", "", "")]


def test_barriers_csv_is_anonymous(story):
    text = reports.barriers_csv(story.cohort, story.baseline).casefold()
    for person in (*story.people.values(),
                   *db.session.query(User).filter(User.name == "Fay Facilitator")):
        assert person.name.casefold() not in text
        assert not re.search(rf"\b{person.name.split()[0].casefold()}\b", text)
        assert person.email.casefold() not in text
    assert "rory" not in text  # nor the removed member's answers
    for label in ("baseline", "mid-point"):
        assert label not in text


def test_barriers_csv_people_without_a_team_and_formulas(ctx):
    baseline = current_baseline()
    org = factories.make_organisation()
    team = factories.make_team(org, "Zeta")
    cohort = factories.make_cohort(org)
    first = services.ensure_baseline_checkpoint(cohort)
    for name, in_team, text in (("Solo", None, "+SUM(A1:A9)"), ("Zed", team, "")):
        person = factories.make_user(name=name)
        factories.add_member(cohort, person, CohortRole.PARTICIPANT, in_team)
        take(first, person, baseline, None, send=False,
             answers={"barriers": (text, ["confidence"])})
    rows = read(reports.barriers_csv(cohort, baseline))[1:]
    # one person in Zeta and one without a team: even pooled, two are too few to show
    assert [(r[0], r[1]) for r in rows if r[3] == "Confidence"] == [("whole cohort", "All teams")]
    assert [r for r in rows if r[0] == "free text"] == [
        ["free text", "Smaller teams (pooled)", BARRIERS_TEXT, "'+SUM(A1:A9)", "", ""]]
    # three more in Zeta: Zeta is shown on its own, the one without a team is left out
    for name in ("Zia", "Zoe", "Zak"):
        person = factories.make_user(name=name)
        factories.add_member(cohort, person, CohortRole.PARTICIPANT, team)
        take(first, person, baseline, None, send=False,
             answers={"barriers": ("", ["time"])})
    rows = read(reports.barriers_csv(cohort, baseline))[1:]
    assert [(r[1], r[4], r[5]) for r in rows if r[3] == "Confidence"] == [
        ("All teams", "2", "5"), ("Zeta", "1", "4")]
    assert [r[1] for r in rows if r[0] == "free text"] == ["Smaller teams (pooled)"]


# --- a fixed number of queries ------------------------------------------------------------------


def fill(size: int) -> tuple[int, Baseline]:
    """A cohort of ``size`` active participants in two teams, each with a sent baseline and a
    begun mid-point, rows written in bulk. Returns the cohort's id."""
    baseline = current_baseline()
    org = factories.make_organisation()
    teams = [factories.make_team(org), factories.make_team(org)]
    cohort = factories.make_cohort(org)
    first = services.ensure_baseline_checkpoint(cohort)
    midpoint = Checkpoint(cohort_id=cohort.id, kind=CheckpointKind.MIDPOINT, opened_at=now_utc())
    db.session.add(midpoint)
    people = []
    for i in range(size):
        person = factories.make_user(name=f"Bulk {i}")
        factories.add_member(cohort, person, CohortRole.PARTICIPANT, teams[i % 2])
        people.append(person)
    now = now_utc()
    db.session.execute(insert(Assessment), [
        {"checkpoint_id": c.id, "cohort_id": cohort.id, "user_id": p.id, "started_at": now,
         "updated_at": now, "submitted_at": now if c is first else None}
        for p in people for c in (first, midpoint)])
    ids = db.session.scalars(db.select(Assessment.id).where(
        Assessment.cohort_id == cohort.id)).all()
    db.session.execute(insert(Rating), [
        {"assessment_id": a, "statement_id": s.id, "area": s.area, "value": 1 + (a + n) % 5}
        for a in ids for n, s in enumerate(baseline.statements.values())])
    db.session.execute(insert(Answer), [
        {"assessment_id": a, "question_id": "barriers", "text": f"note {a}",
         "choices": "time access"} for a in ids] + [
        {"assessment_id": a, "question_id": "needs", "text": f"need {a}", "choices": ""}
        for a in ids])
    db.session.commit()
    return cohort.id, baseline


def statements_for_all_four(app, cohort_id: int, baseline: Baseline, team_id: int) -> int:
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        with counting_queries(app) as statements:
            report = reports.cohort_report(cohort, baseline)
            reports.cohort_report(cohort, baseline, team_id=team_id)
            reports.needs_and_barriers(cohort, baseline)
            reports.needs_and_barriers(cohort, baseline, team_id=team_id)
            reports.answers_csv(cohort, baseline)
            reports.answers_csv(cohort, baseline, team_id=team_id)
            reports.barriers_csv(cohort, baseline)
            # reading what the pages read loads nothing more
            for line in report.areas:
                for d in line.distributions:
                    assert d.checkpoint.label
            for team in report.teams:
                assert team.name
        assert report.participants > 0
        db.session.rollback()
        return len(statements)


def test_the_number_of_queries_does_not_grow_with_the_cohort(app):
    sizes = {}
    for size in (5, 50):
        with app.app_context():
            cohort_id, baseline = fill(size)
            team_id = reports.teams_with_participants(db.session.get(Cohort, cohort_id))[0].id
        sizes[size] = statements_for_all_four(app, cohort_id, baseline, team_id)
    assert sizes[5] == sizes[50]
    # the report: checkpoints, teams, participants and scores (4, twice); needs and
    # barriers: latest answers (1, twice); the answers CSV: assessments, ratings and
    # answers (3, twice); the barriers CSV: latest answers and teams (2)
    assert sizes[5] == 18
