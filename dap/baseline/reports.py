"""The facilitators' reports on a cohort's skills baseline: the distribution of area scores
at each checkpoint and the change since the baseline, the needs and barriers people wrote,
the answers as CSV, and an anonymous CSV of barriers per team for the organisation.

Pure functions of the cohort and the loaded ``Baseline`` (no request, no signed-in user):
each runs a fixed number of queries however many people the cohort has, with the
per-person sums and the joins done in SQL and the statistics in Python.

Who counts: active participants of the cohort (role participant, status active), and with
a team filter those whose membership is in that team. A person's score in an area is the
mean of their ratings in that area (``Rating.area``), kept exact (a fraction) until the
figures are rounded to two decimals.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select

from dap.accounts.models import User
from dap.baseline import services
from dap.baseline.models import KIND_LABELS, KIND_ORDER, Answer, Assessment, Checkpoint, Rating
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus, Team
from dap.content.baseline import Baseline, BaselineArea, Choice, Question
from dap.core.csv import write_csv
from dap.extensions import db

#: fewer people than this is "too few to read much into"
SMALL = 5
#: the team cell of the whole cohort's rows in ``barriers_csv``, and of people without a team
ALL_TEAMS = "All teams"
NO_TEAM = "No team"
#: in ``barriers_csv``, a team with fewer people answering is not shown on its own
GROUP_MIN = 3
SMALL_TEAMS = "Smaller teams (pooled)"


def _round(value: Fraction) -> float:
    return float(round(value, 2))


def _is_small(count: int) -> bool:
    return count < SMALL


# --- who counts -------------------------------------------------------------------------------


def _active(cohort: Cohort, team_id: int | None) -> list:
    """The criteria on ``Membership`` of the people a report counts."""
    criteria = [Membership.cohort_id == cohort.id, Membership.role == CohortRole.PARTICIPANT,
                Membership.status == MembershipStatus.ACTIVE]
    if team_id is not None:
        criteria.append(Membership.team_id == team_id)
    return criteria


def _with_membership(query: Select, cohort: Cohort, team_id: int | None) -> Select:
    """``query`` (over ``Assessment``) narrowed to the assessments of the people who count."""
    return (query.join(Membership, and_(Membership.cohort_id == Assessment.cohort_id,
                                        Membership.user_id == Assessment.user_id))
            .where(Assessment.cohort_id == cohort.id, *_active(cohort, team_id)))


def teams_with_participants(cohort: Cohort) -> list[Team]:
    """The teams of the cohort's organisation with at least one active participant in the
    cohort, by name (for a team filter; one query)."""
    with_people = select(Membership.team_id).where(*_active(cohort, None),
                                                   Membership.team_id.is_not(None))
    return list(db.session.scalars(
        select(Team).where(Team.organisation_id == cohort.organisation_id,
                           Team.id.in_(with_people)).order_by(Team.name, Team.id)))


def _team_order(team: str | None) -> tuple[bool, str]:
    """Teams by name, people without a team last."""
    return team is None, (team or "").casefold()


# --- the distribution of scores -----------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    """The area scores of the people who sent an assessment at one checkpoint: how many,
    the median, the quartiles, the lowest and the highest (two decimals; None when nobody
    sent one)."""

    checkpoint: Checkpoint
    count: int
    median: float | None = None
    lower_quartile: float | None = None
    upper_quartile: float | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def is_small(self) -> bool:
        """Fewer than ``SMALL`` people: too few to read much into."""
        return _is_small(self.count)


def distribution(checkpoint: Checkpoint, values: Sequence[Fraction]) -> Distribution:
    """The distribution of ``values``. The quartiles are ``statistics.quantiles(values, n=4,
    method="inclusive")``: the lowest value is the 0th percentile and the highest the 100th,
    so they lie between the values themselves (interpolated). With one value, the median,
    both quartiles, the lowest and the highest all equal it."""
    if not values:
        return Distribution(checkpoint=checkpoint, count=0)
    ordered = sorted(values)
    if len(ordered) == 1:
        lower = upper = ordered[0]
    else:
        lower, _, upper = statistics.quantiles(ordered, n=4, method="inclusive")
    return Distribution(checkpoint=checkpoint, count=len(ordered),
                        median=_round(statistics.median(ordered)), lower_quartile=_round(lower),
                        upper_quartile=_round(upper), minimum=_round(ordered[0]),
                        maximum=_round(ordered[-1]))


@dataclass(frozen=True)
class Change:
    """The change in an area from the baseline to a later checkpoint, among the people who
    sent both: how many, the median of their changes (later score minus baseline score, two
    decimals; None without anyone), and how many went up, stayed the same or went down."""

    checkpoint: Checkpoint
    count: int
    median: float | None
    up: int
    same: int
    down: int

    @property
    def is_small(self) -> bool:
        """Fewer than ``SMALL`` people: too few to read much into."""
        return _is_small(self.count)


def change(checkpoint: Checkpoint, differences: Sequence[Fraction]) -> Change:
    """The change figures of the per-person ``differences`` (later minus baseline)."""
    return Change(checkpoint=checkpoint, count=len(differences),
                  median=_round(statistics.median(differences)) if differences else None,
                  up=sum(1 for d in differences if d > 0),
                  same=sum(1 for d in differences if d == 0),
                  down=sum(1 for d in differences if d < 0))


@dataclass(frozen=True)
class AreaReport:
    area: BaselineArea
    #: one per checkpoint of the report, in the same order
    distributions: list[Distribution]
    #: one per checkpoint after the baseline, in order (empty while there is only the baseline)
    changes: list[Change]


@dataclass(frozen=True)
class Report:
    """A cohort's (or one team's) area scores at each checkpoint."""

    #: the cohort's checkpoints in order, the baseline first
    checkpoints: list[Checkpoint]
    #: active participants (in the team, with a team filter)
    participants: int
    #: checkpoint id → how many of them sent an assessment there
    submitted: dict[int, int]
    #: the teams to filter by (``teams_with_participants``), whatever the filter
    teams: list[Team]
    team_id: int | None
    #: one per skill area of the baseline, in the file's order
    areas: list[AreaReport]

    def submitted_at(self, checkpoint: Checkpoint) -> int:
        return self.submitted.get(checkpoint.id, 0)


def _scores(cohort: Cohort, baseline: Baseline,
            team_id: int | None) -> dict[tuple[int, str], dict[int, Fraction]]:
    """(checkpoint id, area) → user id → score, from the submitted assessments of the people
    who count (one query: sums and counts per assessment and area in SQL)."""
    query = _with_membership(
        select(Assessment.checkpoint_id, Assessment.user_id, Rating.area,
               func.sum(Rating.value), func.count(Rating.value))
        .join(Rating, Rating.assessment_id == Assessment.id), cohort, team_id)
    rows = db.session.execute(
        query.where(Assessment.submitted_at.is_not(None), Rating.area.in_(list(baseline.areas)))
        .group_by(Assessment.checkpoint_id, Assessment.user_id, Rating.area)).all()
    scores: dict[tuple[int, str], dict[int, Fraction]] = defaultdict(dict)
    for checkpoint_id, user_id, area, total, count in rows:
        scores[checkpoint_id, area][user_id] = Fraction(int(total), int(count))
    return scores


def cohort_report(cohort: Cohort, baseline: Baseline, *, team_id: int | None = None) -> Report:
    """For each skill area of ``baseline`` and each checkpoint of ``cohort``, the
    distribution of the area scores of the people who count (optionally one team's) who
    sent (submitted) an assessment there; an assessment begun and not sent is left out.
    For each later checkpoint, the change since the baseline among the people who sent
    both. ``Report.submitted`` counts the sent assessments seen in the scores. Four
    queries once the baseline checkpoint exists (``services.checkpoints_of`` makes it on
    first need, with three more)."""
    checkpoints = services.checkpoints_of(cohort)
    teams = teams_with_participants(cohort)
    participants = db.session.scalar(
        select(func.count(Membership.id)).where(*_active(cohort, team_id))) or 0
    scores = _scores(cohort, baseline, team_id)
    submitted: dict[int, set[int]] = defaultdict(set)
    for (checkpoint_id, _), people in scores.items():
        submitted[checkpoint_id].update(people)
    first, later = checkpoints[0], checkpoints[1:]
    areas = []
    for slug, area in baseline.areas.items():
        at_first = scores.get((first.id, slug), {})
        changes = []
        for checkpoint in later:
            at_later = scores.get((checkpoint.id, slug), {})
            changes.append(change(checkpoint, [score - at_first[user_id]
                                               for user_id, score in at_later.items()
                                               if user_id in at_first]))
        areas.append(AreaReport(
            area=area,
            distributions=[distribution(c, list(scores.get((c.id, slug), {}).values()))
                           for c in checkpoints],
            changes=changes))
    return Report(checkpoints=checkpoints, participants=participants,
                  submitted={c.id: len(submitted.get(c.id, ())) for c in checkpoints},
                  teams=teams, team_id=team_id, areas=areas)


# --- needs and barriers -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Latest:
    """A person's latest non-empty answer to one question."""

    user_id: int
    name: str
    team: str | None
    kind_index: int
    question_id: str
    text: str
    choice_ids: tuple[str, ...]


def _latest_answers(cohort: Cohort, team_id: int | None,
                    questions: Iterable[str]) -> list[_Latest]:
    """Each counted person's latest answer (at the latest checkpoint they answered) to each
    of ``questions``: answers from any assessment, sent or not, with text or choices (one
    query)."""
    query = _with_membership(
        select(Assessment.user_id, User.name, Team.name, Checkpoint.kind, Answer.question_id,
               Answer.text, Answer.choices)
        .join(Answer, Answer.assessment_id == Assessment.id)
        .join(Checkpoint, Checkpoint.id == Assessment.checkpoint_id)
        .join(User, User.id == Assessment.user_id), cohort, team_id)
    rows = db.session.execute(
        query.outerjoin(Team, Team.id == Membership.team_id)
        .where(Answer.question_id.in_(list(questions)),
               or_(Answer.text != "", Answer.choices != ""))).all()
    latest: dict[tuple[int, str], _Latest] = {}
    for user_id, name, team, kind, question_id, text, choices in rows:
        found = _Latest(user_id=user_id, name=name, team=team, kind_index=KIND_ORDER.index(kind),
                        question_id=question_id, text=(text or "").strip(),
                        choice_ids=tuple(choices.split()))
        if not (found.text or found.choice_ids):
            continue
        key = (user_id, question_id)
        if key not in latest or latest[key].kind_index < found.kind_index:
            latest[key] = found
    return list(latest.values())


def _picked(question: Question, answer: _Latest) -> list[Choice]:
    """The choices of ``question`` in ``answer``, in the file's order (a choice no longer in
    the file is left out; none for a text question)."""
    if question.kind != "choices":
        return []
    return [c for c in question.choices if c.id in answer.choice_ids]


def _has_answer(question: Question, answer: _Latest) -> bool:
    return bool(answer.text or _picked(question, answer))


@dataclass(frozen=True)
class ChoiceCount:
    choice: Choice
    #: how many people picked it
    people: int
    #: of the people who answered the question, 0 to 1 (two decimals; 0 without answers)
    share: float

    @property
    def percent(self) -> int:
        return round(self.share * 100)


@dataclass(frozen=True)
class WrittenAnswer:
    user_id: int
    name: str
    #: the person's team in the cohort, None without one
    team: str | None
    #: the label of the checkpoint the answer is from
    checkpoint: str
    text: str


@dataclass(frozen=True)
class QuestionSummary:
    """One open question: how many people answered (their latest answer, with text or
    choices), for a choices question how many picked each choice, and the written answers
    sorted by team (people without a team last), then name."""

    question: Question
    answered: int
    #: one per choice of the question, in the file's order (empty for a text question)
    choices: list[ChoiceCount]
    answers: list[WrittenAnswer]

    @property
    def is_small(self) -> bool:
        """Fewer than ``SMALL`` people answered: too few to read much into."""
        return _is_small(self.answered)

    @property
    def by_team(self) -> list[tuple[str | None, list[WrittenAnswer]]]:
        """The written answers grouped by team, in the same order."""
        groups: dict[str | None, list[WrittenAnswer]] = {}
        for answer in self.answers:
            groups.setdefault(answer.team, []).append(answer)
        return list(groups.items())


def _share(people: int, answered: int) -> float:
    return _round(Fraction(people, answered)) if answered else 0.0


def _choice_counts(question: Question, answers: list[_Latest]) -> list[ChoiceCount]:
    picked: dict[str, int] = defaultdict(int)
    for answer in answers:
        for choice in _picked(question, answer):
            picked[choice.id] += 1
    return [ChoiceCount(choice=c, people=picked[c.id], share=_share(picked[c.id], len(answers)))
            for c in question.choices] if question.kind == "choices" else []


def needs_and_barriers(cohort: Cohort, baseline: Baseline, *,
                       team_id: int | None = None) -> list[QuestionSummary]:
    """Each open question of ``baseline`` in the file's order, from each counted person's
    latest answer (the latest checkpoint at which they answered it, sent or not): for a
    choices question the people per choice and their share of the people who answered; the
    written answers (of a text question, or a choices question's free text), each with the
    person's name and team and the checkpoint, sorted by team, then name. One query."""
    by_question: dict[str, list[_Latest]] = defaultdict(list)
    for answer in _latest_answers(cohort, team_id, baseline.questions):
        by_question[answer.question_id].append(answer)
    summaries = []
    for question_id, question in baseline.questions.items():
        answers = [a for a in by_question.get(question_id, []) if _has_answer(question, a)]
        written = sorted(
            (WrittenAnswer(user_id=a.user_id, name=a.name, team=a.team,
                           checkpoint=KIND_LABELS[KIND_ORDER[a.kind_index]], text=a.text)
             for a in answers if a.text),
            key=lambda w: (*_team_order(w.team), w.name.casefold(), w.user_id))
        summaries.append(QuestionSummary(question=question, answered=len(answers),
                                         choices=_choice_counts(question, answers),
                                         answers=written))
    return summaries


# --- the answers as CSV -------------------------------------------------------------------------


def _question_columns(question: Question) -> list[str]:
    if question.kind != "choices":
        return [question.id]
    return [f"{question.id} (choices)", *([f"{question.id} (text)"] if question.free_text else [])]


def answers_header(baseline: Baseline) -> list[str]:
    """name, email, team, checkpoint, started, submitted; a column per statement (its id);
    one per area mean ("<area> (mean)"); per question its text ("<id>"), or for a choices
    question its choices ("<id> (choices)") and, with a free-text box, the text
    ("<id> (text)")."""
    return ["name", "email", "team", "checkpoint", "started", "submitted",
            *baseline.statements, *(f"{slug} (mean)" for slug in baseline.areas),
            *(column for q in baseline.questions.values() for column in _question_columns(q))]


def _question_cells(question: Question, answer: Answer | None) -> list[str]:
    text = answer.text if answer is not None else ""
    if question.kind != "choices":
        return [text]
    ids = answer.choice_ids if answer is not None else []
    labels = "; ".join(c.label for c in question.choices if c.id in ids)
    return [labels, *([text] if question.free_text else [])]


def answers_rows(cohort: Cohort, baseline: Baseline, *,
                 team_id: int | None = None) -> Iterator[list[object]]:
    """The lines of ``answers_csv`` below its header (``answers_header``), for a streamed
    download. The three queries run at once, when called (in the view, inside the request);
    the lines are made as they are read. What it holds meanwhile is bounded by the people
    and checkpoints of the cohort (a few per person), never by the size of the document."""
    zone = ZoneInfo(cohort.timezone)
    assessments = db.session.execute(_with_membership(
        select(Assessment.id, User.id, User.name, User.email, Team.name, Checkpoint.kind,
               Assessment.started_at, Assessment.submitted_at)
        .join(Checkpoint, Checkpoint.id == Assessment.checkpoint_id)
        .join(User, User.id == Assessment.user_id), cohort, team_id)
        .outerjoin(Team, Team.id == Membership.team_id)).all()
    ids = _with_membership(select(Assessment.id), cohort, team_id)
    ratings: dict[int, dict[str, int]] = defaultdict(dict)
    areas: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for assessment_id, statement_id, area, value in db.session.execute(
            select(Rating.assessment_id, Rating.statement_id, Rating.area, Rating.value)
            .where(Rating.assessment_id.in_(ids))):
        ratings[assessment_id][statement_id] = value
        areas[assessment_id][area].append(value)
    answers: dict[int, dict[str, Answer]] = defaultdict(dict)
    for answer in db.session.scalars(select(Answer).where(Answer.assessment_id.in_(ids))):
        answers[answer.assessment_id][answer.question_id] = answer

    def local(moment):
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else None

    ordered = sorted(assessments, key=lambda r: (*_team_order(r[4]), r[2].casefold(), r[1],
                                                 KIND_ORDER.index(r[5])))

    def lines() -> Iterator[list[object]]:
        for assessment_id, _, name, email, team, kind, started, submitted in ordered:
            given, means = ratings[assessment_id], areas[assessment_id]
            said = answers[assessment_id]
            yield [
                name, email or "", team or "", KIND_LABELS[kind], local(started),
                local(submitted),
                *(given.get(statement_id) for statement_id in baseline.statements),
                *(_round(Fraction(sum(means[slug]), len(means[slug]))) if means.get(slug)
                  else None for slug in baseline.areas),
                *(cell for qid, q in baseline.questions.items()
                  for cell in _question_cells(q, said.get(qid)))]

    return lines()


def answers_csv(cohort: Cohort, baseline: Baseline, *, team_id: int | None = None) -> str:
    """One line per assessment (begun or sent) of the counted people (optionally one team's),
    by team, name, then checkpoint: who, the checkpoint, when it was started and sent (ISO
    8601 in the cohort's time zone; sent empty while not sent), each statement's rating
    (empty when not rated), each area's mean of the ratings given (two decimals), and the
    answers (choices by label, joined with "; "). See ``answers_header``; the lines are
    ``answers_rows``. Cells go through ``dap.core.csv`` (formula-safe). Three queries."""
    return write_csv(answers_rows(cohort, baseline, team_id=team_id), answers_header(baseline))


# --- barriers for the organisation (anonymous) -------------------------------------------------

BARRIERS_HEADER = ("section", "team", "question", "answer", "people", "of_people_answering")
#: the ``section`` column of ``barriers_csv``
WHOLE_COHORT, BY_TEAM, FREE_TEXT = "whole cohort", "by team", "free text"


def barriers_csv(cohort: Cohort, baseline: Baseline) -> str:
    """Anonymous counts of the choices questions (the barriers) for the organisation, from
    each active participant's latest answer. Columns ``BARRIERS_HEADER``; first, for each
    choices question and each choice, the whole cohort's line (section "whole cohort", team
    "All teams"), then a line per team with active participants (by name; "No team" last
    when someone without a team answered; section "by team"): how many people picked the
    choice, of how many who answered the question. Then the free-text answers of those
    questions (section "free text"), with the team only, sorted by team then text (not by
    person or time). No name, email or checkpoint. Two queries.

    Small teams would give people away (one person in a team is their answer), so a team
    where fewer than ``GROUP_MIN`` people answered a question gets no lines of its own:
    such teams are pooled as ``SMALL_TEAMS`` (left out too if the pool is still smaller),
    and their free-text answers are labelled ``SMALL_TEAMS`` instead of the team."""
    questions = [q for q in baseline.questions.values() if q.kind == "choices"]
    latest = _latest_answers(cohort, None, [q.id for q in questions])
    teams: list[str | None] = [t.name for t in teams_with_participants(cohort)]
    if any(a.team is None for a in latest):
        teams.append(None)
    rows: list[list[object]] = []
    small: dict[str, set[str | None]] = {}
    for question in questions:
        answers = [a for a in latest if a.question_id == question.id and _has_answer(question, a)]
        by_team = {team: [a for a in answers if a.team == team] for team in teams}
        small[question.id] = {team for team, group in by_team.items() if len(group) < GROUP_MIN}
        pooled = [a for team in small[question.id] for a in by_team[team]]
        groups = [(WHOLE_COHORT, ALL_TEAMS, answers)] + [
            (BY_TEAM, team or NO_TEAM, group) for team, group in by_team.items()
            if team not in small[question.id]]
        if len(pooled) >= GROUP_MIN:
            groups.append((BY_TEAM, SMALL_TEAMS, pooled))
        for section, team, group in groups:
            rows.extend([section, team, question.text, count.choice.label, count.people,
                         len(group)] for count in _choice_counts(question, group))
    for question in questions:
        written = sorted(((SMALL_TEAMS if a.team in small[question.id] else a.team or NO_TEAM,
                           a.text) for a in latest if a.question_id == question.id and a.text),
                         key=lambda w: (w[0] == SMALL_TEAMS, *_team_order(w[0]),
                                        w[1].casefold(), w[1]))
        rows.extend([FREE_TEXT, team, question.text, text, None, None] for team, text in written)
    return write_csv(rows, BARRIERS_HEADER)
