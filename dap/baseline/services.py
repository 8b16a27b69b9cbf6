"""The rules of the skills baseline: checkpoints opening and closing, taking an assessment
page by page, submitting it, the invitation on first arrival and sharing with patrons.

Answers are stored against the ids of ``content/baseline.md`` (dap.content.baseline), so
every function that reads or checks answers takes the loaded ``Baseline``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dap.accounts.models import User
from dap.audit.services import record
from dap.baseline.models import (
    KIND_LABELS,
    KIND_ORDER,
    Answer,
    Assessment,
    Checkpoint,
    CheckpointKind,
    Rating,
)
from dap.clock import as_utc, now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.content.baseline import Baseline, BaselineArea, Question
from dap.db import insert_for
from dap.errors import DomainError
from dap.extensions import db
from dap.text import clean_text

#: the longest written answer to an open question
ANSWER_MAX = 2_000
#: a closing time at least this far ahead, at most this far (a checkpoint is weeks, not years)
CLOSES_MIN = timedelta(hours=1)
CLOSES_MAX = timedelta(days=366)
#: the form field of a statement's rating, and of a question's text and choices
RATING_FIELD = "rating-{}"
TEXT_FIELD = "answer-{}"
CHOICE_FIELD = "choice-{}"


class CheckpointClosedError(DomainError):
    """Answers to a closed checkpoint are refused (and nothing already saved is lost)."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        super().__init__(f"The {checkpoint.label.lower()} has closed, so answers can no longer "
                         "be changed. Everything saved before it closed is kept.",
                         code="checkpoint_closed")


# --- checkpoints ----------------------------------------------------------------------------


def ensure_baseline_checkpoint(cohort: Cohort) -> Checkpoint:
    """The cohort's baseline checkpoint, made (open, since the cohort began) when first
    needed. Safe when two requests make it at once."""
    query = select(Checkpoint).where(Checkpoint.cohort_id == cohort.id,
                                     Checkpoint.kind == CheckpointKind.BASELINE)
    found = db.session.scalars(query).first()
    if found is not None:
        return found
    insert = insert_for(db.session)
    db.session.execute(
        insert(Checkpoint).values(cohort_id=cohort.id, kind=CheckpointKind.BASELINE,
                                  opened_at=cohort.created_at or now_utc())
        .on_conflict_do_nothing(index_elements=["cohort_id", "kind"]))
    return db.session.scalars(query).one()


def checkpoints_of(cohort: Cohort) -> list[Checkpoint]:
    """The cohort's checkpoints in order (baseline, mid-point, final); the baseline always
    (one query once it exists; made on first need)."""
    found = db.session.scalars(select(Checkpoint).where(Checkpoint.cohort_id == cohort.id)).all()
    if not any(c.kind is CheckpointKind.BASELINE for c in found):
        found = [*found, ensure_baseline_checkpoint(cohort)]
    return sorted(found, key=lambda c: KIND_ORDER.index(c.kind))


def _check_closes_at(closes_at: datetime | None, now: datetime) -> datetime | None:
    if closes_at is None:
        return None
    if closes_at < now + CLOSES_MIN:
        raise DomainError("Choose a closing time in the future (at least an hour from now), "
                          "or leave it empty to close the checkpoint yourself.",
                          field="closes_at")
    if closes_at > now + CLOSES_MAX:
        raise DomainError("Choose a closing time within a year.", field="closes_at")
    return closes_at


def open_checkpoint(cohort: Cohort, kind: CheckpointKind, *, actor: User,
                    closes_at: datetime | None = None, now: datetime | None = None,
                    link: str = "") -> Checkpoint:
    """Open the mid-point or final checkpoint and tell every active participant.

    :raise DomainError: for the baseline (always there), a kind already opened, an archived
        cohort, or a closing time in the past or more than a year ahead.
    """
    now = now or now_utc()
    if cohort.is_archived:
        raise DomainError("This cohort is archived, so no checkpoint can be opened.")
    if kind not in (CheckpointKind.MIDPOINT, CheckpointKind.FINAL):
        raise DomainError("Choose the mid-point or the final checkpoint.", field="kind")
    existing = {c.kind for c in checkpoints_of(cohort)}
    if kind in existing:
        raise DomainError(f"The {KIND_LABELS[kind].lower()} is already open or was opened "
                          "before; reopen it from the list instead.", field="kind")
    closes_at = _check_closes_at(closes_at, now)
    checkpoint = Checkpoint(cohort_id=cohort.id, kind=kind, opened_at=now,
                            opened_by_id=actor.id, closes_at=closes_at)
    try:
        with db.session.begin_nested():  # two facilitators at once: one opens it
            db.session.add(checkpoint)
    except IntegrityError:
        raise DomainError(f"The {KIND_LABELS[kind].lower()} was opened a moment ago by "
                          "someone else.", field="kind") from None
    record("baseline.checkpoint_opened", actor=actor, cohort=cohort, kind=kind.value,
           closes_at=closes_at.isoformat() if closes_at else None)
    _tell_participants(cohort, checkpoint, link=link)
    return checkpoint


def _tell_participants(cohort: Cohort, checkpoint: Checkpoint, *, link: str) -> None:
    from dap.nudges.models import NotificationKind
    from dap.nudges.notify import Message, send

    people = db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id).where(
            Membership.cohort_id == cohort.id, Membership.role == CohortRole.PARTICIPANT,
            Membership.status == MembershipStatus.ACTIVE)).all()
    until = ""
    if checkpoint.closes_at is not None:
        local = as_utc(checkpoint.closes_at).astimezone(ZoneInfo(cohort.timezone))
        until = f" It is open until {local:%-d %B %Y at %H:%M}."
    send([Message(
        person=person, kind=NotificationKind.CHECKPOINT_OPENED, cohort=cohort,
        title=f"{checkpoint.label}: how are your digital skills now?",
        body=("Take a few minutes to rate yourself against the same statements as at the "
              f"start of the programme, so you can see how far you have come.{until}"),
        link=link, dedup_key=f"checkpoint:{checkpoint.id}:opened:{person.id}",
    ) for person in people])


def close_checkpoint(checkpoint: Checkpoint, *, actor: User, now: datetime | None = None) -> None:
    """Close a checkpoint now: answers can no longer be changed.

    :raise DomainError: when it is already closed.
    """
    now = now or now_utc()
    if not checkpoint.is_open(now):
        raise DomainError(f"The {checkpoint.label.lower()} is already closed.")
    checkpoint.closed_at = now
    record("baseline.checkpoint_closed", actor=actor, cohort=checkpoint.cohort,
           kind=checkpoint.kind.value)


def reopen_checkpoint(checkpoint: Checkpoint, *, actor: User, closes_at: datetime | None = None,
                      now: datetime | None = None) -> None:
    """Open a closed checkpoint again (with a new optional closing time); nobody is told
    again.

    :raise DomainError: when it is open, or the cohort is archived.
    """
    now = now or now_utc()
    if checkpoint.cohort.is_archived:
        raise DomainError("This cohort is archived, so no checkpoint can be reopened.")
    if checkpoint.is_open(now):
        raise DomainError(f"The {checkpoint.label.lower()} is already open.")
    checkpoint.closes_at = _check_closes_at(closes_at, now)
    checkpoint.closed_at = None
    record("baseline.checkpoint_reopened", actor=actor, cohort=checkpoint.cohort,
           kind=checkpoint.kind.value)


# --- assessments ----------------------------------------------------------------------------


def assessment_of(checkpoint: Checkpoint, user: User) -> Assessment | None:
    return db.session.scalars(select(Assessment).where(
        Assessment.checkpoint_id == checkpoint.id, Assessment.user_id == user.id)).first()


def assessments_of(cohort: Cohort, user: User) -> dict[int, Assessment]:
    """A participant's assessments in a cohort, by checkpoint id (one query)."""
    found = db.session.scalars(select(Assessment).where(
        Assessment.cohort_id == cohort.id, Assessment.user_id == user.id)).all()
    return {a.checkpoint_id: a for a in found}


def start(checkpoint: Checkpoint, user: User, *, actor: User,
          now: datetime | None = None) -> Assessment:
    """The person's assessment at an open checkpoint, begun now if need be (a double
    click makes one).

    :raise CheckpointClosedError: when the checkpoint is closed and nothing was begun.
    """
    now = now or now_utc()
    found = assessment_of(checkpoint, user)
    if found is not None:
        return found
    if not checkpoint.is_open(now):
        raise CheckpointClosedError(checkpoint)
    insert = insert_for(db.session)
    db.session.execute(
        insert(Assessment).values(
            checkpoint_id=checkpoint.id, cohort_id=checkpoint.cohort_id, user_id=user.id,
            recorded_by_id=None if actor.id == user.id else actor.id,
            started_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["checkpoint_id", "user_id"]))
    return assessment_of(checkpoint, user)  # type: ignore[return-value]


def _require_open(assessment: Assessment, now: datetime) -> None:
    if not assessment.checkpoint.is_open(now):
        raise CheckpointClosedError(assessment.checkpoint)


def ratings_of(assessment: Assessment) -> dict[str, int]:
    """Statement id → value."""
    rows = db.session.execute(select(Rating.statement_id, Rating.value).where(
        Rating.assessment_id == assessment.id)).all()
    return dict(rows)  # type: ignore[arg-type]


def rating_counts(assessments: list[Assessment]) -> dict[int, int]:
    """How many statements each assessment has rated, by assessment id (one query)."""
    if not assessments:
        return {}
    rows = db.session.execute(
        select(Rating.assessment_id, func.count()).where(
            Rating.assessment_id.in_([a.id for a in assessments]))
        .group_by(Rating.assessment_id)).all()
    return dict(rows)  # type: ignore[arg-type]


def answers_of(assessment: Assessment) -> dict[str, Answer]:
    rows = db.session.scalars(select(Answer).where(Answer.assessment_id == assessment.id)).all()
    return {a.question_id: a for a in rows}


def parse_rating(raw: object, *, field: str) -> int | None:
    """A rating from a form or JSON: None when not given, else a whole number 1 to 5.

    :raise DomainError: naming ``field`` for anything else (0, 6, 2.5, "three", True…).
    """
    if isinstance(raw, str):
        raw = raw.strip()
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 2:
        value = int(raw)
    else:
        value = None
    if value is None or not 1 <= value <= 5:
        raise DomainError("Choose one of the five points of the scale (1 to 5).", field=field)
    return value


def save_area(assessment: Assessment, area: BaselineArea, raw: Mapping[str, object], *,
              now: datetime | None = None) -> int:
    """Save the ratings given for one area's statements (``raw`` maps statement id to a
    value). Statements left out keep what was saved before; a partial page is fine.
    Returns how many were saved.

    :raise CheckpointClosedError: when the checkpoint has closed.
    :raise DomainError: naming the statement's field, for a value off the scale or a
        statement that is not in this area (nothing of the page is saved then).
    """
    now = now or now_utc()
    _require_open(assessment, now)
    known = {s.id for s in area.statements}
    for statement_id in raw:
        if statement_id not in known:
            raise DomainError("That statement is not part of this page.",
                              field=RATING_FIELD.format(statement_id))
    values = {}
    for statement in area.statements:
        value = parse_rating(raw.get(statement.id), field=RATING_FIELD.format(statement.id))
        if value is not None:
            values[statement.id] = value
    if values:
        insert = insert_for(db.session)
        statement = insert(Rating).values([
            {"assessment_id": assessment.id, "statement_id": sid, "area": area.slug,
             "value": value} for sid, value in values.items()])
        db.session.execute(statement.on_conflict_do_update(
            index_elements=["assessment_id", "statement_id"],
            set_={"value": statement.excluded.value}))
    assessment.updated_at = now
    return len(values)


def _clean_choices(question: Question, picked: list[str]) -> str:
    field = CHOICE_FIELD.format(question.id)
    ids = [c.id for c in question.choices]
    picked = list(dict.fromkeys(p.strip() for p in picked if p and p.strip()))
    unknown = [p for p in picked if p not in ids]
    if unknown:
        raise DomainError("Choose from the options shown.", field=field)
    if len(picked) > 1 and not question.multiple:
        raise DomainError("Choose one option.", field=field)
    return " ".join(i for i in ids if i in picked)


def save_answers(assessment: Assessment, baseline: Baseline,
                 raw: Mapping[str, tuple[str | None, list[str]]], *,
                 now: datetime | None = None) -> None:
    """Save answers to the open questions: ``raw`` maps question id to (text, picked
    choice ids). Answers may be empty (the questions are optional); an empty answer
    replaces an earlier one.

    :raise CheckpointClosedError: when the checkpoint has closed.
    :raise DomainError: naming the field, for an unknown question or choice, several
        choices where one is asked, or text over ``ANSWER_MAX`` characters.
    """
    now = now or now_utc()
    _require_open(assessment, now)
    rows = []
    for question_id, (text, picked) in raw.items():
        question = baseline.questions.get(question_id)
        if question is None:
            raise DomainError("That question is not part of this page.",
                              field=TEXT_FIELD.format(question_id))
        choices = _clean_choices(question, picked) if question.kind == "choices" else ""
        if question.kind == "choices" and not question.free_text:
            text = ""
        text = clean_text(text, field=TEXT_FIELD.format(question_id), max_len=ANSWER_MAX,
                          label="an answer")
        rows.append({"assessment_id": assessment.id, "question_id": question_id,
                     "text": text, "choices": choices})
    if rows:
        insert = insert_for(db.session)
        statement = insert(Answer).values(rows)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=["assessment_id", "question_id"],
            set_={"text": statement.excluded.text, "choices": statement.excluded.choices}))
    assessment.updated_at = now


@dataclass(frozen=True)
class AreaProgress:
    area: BaselineArea
    rated: int

    @property
    def total(self) -> int:
        return len(self.area.statements)

    @property
    def is_complete(self) -> bool:
        return self.rated >= self.total


def progress(assessment: Assessment | None, baseline: Baseline,
             ratings: Mapping[str, int] | None = None) -> list[AreaProgress]:
    """How many statements of each area are rated (in the file's order)."""
    if ratings is None:
        ratings = ratings_of(assessment) if assessment is not None else {}
    return [AreaProgress(area=area, rated=sum(1 for s in area.statements if s.id in ratings))
            for area in baseline.areas.values()]


def submit(assessment: Assessment, baseline: Baseline, *, now: datetime | None = None) -> None:
    """Send a complete assessment: every statement rated (the open questions are
    optional). Sending again changes nothing.

    :raise CheckpointClosedError: when the checkpoint has closed.
    :raise DomainError: (code ``incomplete``) naming the areas with statements not yet rated.
    """
    now = now or now_utc()
    _require_open(assessment, now)
    missing = [p for p in progress(assessment, baseline) if not p.is_complete]
    if missing:
        names = ", ".join(f"{p.area.name} ({p.total - p.rated} of {p.total})" for p in missing)
        raise DomainError(f"A few statements are not rated yet: {names}. Everything you "
                          "have answered is saved; rate the rest to send it.",
                          code="incomplete")
    if assessment.submitted_at is None:
        assessment.submitted_at = now
    assessment.updated_at = now


# --- the invitation and sharing ----------------------------------------------------------------


def should_invite(membership: Membership, checkpoint: Checkpoint, assessment: Assessment | None,
                  *, now: datetime | None = None) -> bool:
    """Whether to invite a participant to take the baseline: they have not begun it, not
    said "not now", and it is open."""
    return (membership.role is CohortRole.PARTICIPANT and assessment is None
            and membership.baseline_skipped_at is None
            and checkpoint.is_open(now or now_utc()))


def skip(membership: Membership, *, now: datetime | None = None) -> None:
    """"Not now": the invitation is not shown again (the baseline stays on the plan page)."""
    if membership.baseline_skipped_at is None:
        membership.baseline_skipped_at = now or now_utc()


def set_shared(membership: Membership, shared: bool) -> None:
    """Whether the participant's patrons see their skills summary."""
    membership.baseline_shared = shared


@dataclass(frozen=True)
class Prompt:
    """What a participant's plan page says about the baseline."""

    #: the first-arrival invitation (not begun, not skipped, open)
    invite: bool
    #: an open checkpoint they have not sent (the baseline once begun, or a later one)
    due: Checkpoint | None
    #: they have begun ``due`` (carry on rather than start)
    begun: bool


def prompt_for(membership: Membership, *, now: datetime | None = None) -> Prompt:
    """The plan page's invitation or reminder for a participant (two queries)."""
    now = now or now_utc()
    checkpoints = checkpoints_of(membership.cohort)
    taken = assessments_of(membership.cohort, membership.user)
    first = checkpoints[0]
    invite = should_invite(membership, first, taken.get(first.id), now=now)
    due = None
    for checkpoint in reversed(checkpoints):
        mine = taken.get(checkpoint.id)
        if checkpoint.is_open(now) and not (mine and mine.is_submitted):
            if checkpoint.kind is CheckpointKind.BASELINE and mine is None:
                continue  # the invitation covers it (or they said "not now")
            due = checkpoint
            break
    return Prompt(invite=invite, due=due,
                  begun=due is not None and due.id in taken)
