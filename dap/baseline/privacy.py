"""Privacy rules for the skills baseline: what a person's export holds of their
self-assessments, and what deleting their account erases.

``export_collections`` reads; ``erase`` writes with one bulk UPDATE and never commits
(``dap.accounts.privacy.delete_account`` owns the transaction).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from dap.accounts.models import User
from dap.baseline.models import KIND_LABELS, Answer, Assessment, Checkpoint, Rating
from dap.cohorts.models import Cohort
from dap.extensions import db

NAMES = ("baseline_ratings", "baseline_answers")


def export_collections(user: User) -> dict[str, list[dict[str, Any]]]:
    """Every rating and every answer they gave (or that a facilitator recorded for them),
    checkpoint by checkpoint. Two queries whatever the number of rows."""
    ratings = db.session.execute(
        select(Rating, Assessment, Checkpoint.kind, Cohort.name)
        .join(Assessment, Assessment.id == Rating.assessment_id)
        .join(Checkpoint, Checkpoint.id == Assessment.checkpoint_id)
        .join(Cohort, Cohort.id == Assessment.cohort_id)
        .where(Assessment.user_id == user.id)
        .order_by(Assessment.id, Rating.statement_id)).all()
    answers = db.session.execute(
        select(Answer, Assessment, Checkpoint.kind, Cohort.name)
        .join(Assessment, Assessment.id == Answer.assessment_id)
        .join(Checkpoint, Checkpoint.id == Assessment.checkpoint_id)
        .join(Cohort, Cohort.id == Assessment.cohort_id)
        .where(Assessment.user_id == user.id)
        .order_by(Assessment.id, Answer.question_id)).all()

    def common(assessment: Assessment, kind: Any, cohort: str) -> dict[str, Any]:
        return {"cohort": cohort, "checkpoint": KIND_LABELS[kind],
                "submitted_at": assessment.submitted_at,
                "recorded_by_someone_else": assessment.recorded_by_id not in (None, user.id)}

    return {
        "baseline_ratings": [
            {**common(a, kind, cohort), "area": r.area, "statement": r.statement_id,
             "rating": r.value} for r, a, kind, cohort in ratings],
        "baseline_answers": [
            {**common(a, kind, cohort), "question": ans.question_id,
             "choices": ans.choices, "text": ans.text} for ans, a, kind, cohort in answers],
    }


def erase(user: User) -> None:
    """The words they wrote in answer to the open questions. Kept, without a name (the
    account is anonymised): the ratings and the choices picked, which the cohort's
    figures are made of."""
    mine = select(Assessment.id).where(Assessment.user_id == user.id).scalar_subquery()
    db.session.execute(update(Answer).where(Answer.assessment_id.in_(mine)).values(text=""))
