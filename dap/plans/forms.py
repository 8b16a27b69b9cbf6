"""Forms for a participant's plan: shape and types only; dap.plans.services checks meaning
(ranges, required text, dates within the programme)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from dap.core.forms import WholeNumberField
from dap.plans.endorsements import COMMENT_MAX
from dap.plans.models import GoalStatus, Visibility

VISIBILITY_CHOICES = [
    SelectChoice(Visibility.PATRONS.value, "My patrons"),
    SelectChoice(Visibility.COHORT.value, "Everyone in my cohort"),
    SelectChoice(Visibility.PRIVATE.value, "Only me"),
]
VISIBILITY_HINT = "Your facilitators always see your plan."
STATUS_CHOICES = [
    SelectChoice(GoalStatus.ACTIVE.value, "Active — I'm working on it"),
    SelectChoice(GoalStatus.PLANNED.value, "Planned — for later"),
    SelectChoice(GoalStatus.DROPPED.value, "Dropped"),
]


class _GoalDetails(FlaskForm):
    why = TextAreaField(
        "Why it matters to me (optional)",
        description="What you need from it, in your words — for example "
                    "“listen to the needs of individuals”.",
        render_kw={"rows": 3},
    )
    target_date = DateField("Target date (optional)", validators=[Optional()])
    visibility = SelectField("Who can see this goal", choices=VISIBILITY_CHOICES,
                             default=Visibility.PATRONS.value, description=VISIBILITY_HINT)


class AdoptForm(_GoalDetails):
    slug = HiddenField("Goal")
    #: only used from the library page when the participant is in several cohorts
    cohort = SelectField("Cohort", choices=[], validate_choice=False)


class PickForm(_GoalDetails):
    """Choosing a library goal from a list, on the "add a goal" page."""

    slug = SelectField("Goal from the library", choices=[], validate_choice=False)


class GoalForm(_GoalDetails):
    """Writing one's own goal, or editing a goal (the title only for one's own)."""

    title = StringField("Goal", render_kw={"autocomplete": "off", "maxlength": 160},
                        description="Something you want to be able to do, "
                                    "e.g. “Run a poll on our intranet”.")


class CheckInForm(FlaskForm):
    progress = WholeNumberField(
        "Progress (%)", what="progress", validators=[Optional()],
        render_kw={"inputmode": "numeric", "min": 0, "max": 100, "step": 1,
                   "class": "input-short"},
    )
    minutes = WholeNumberField(
        "Minutes on the web", what="minutes", validators=[Optional()],
        render_kw={"inputmode": "numeric", "min": 1, "max": 600, "step": 1,
                   "class": "input-short"},
    )
    note = TextAreaField("Note (optional)", render_kw={"rows": 2})


class DoneForm(FlaskForm):
    reflection = TextAreaField(
        "What did you do and learn?", render_kw={"rows": 4})
    evidence = FieldList(URLField("Link to evidence (optional)",
                                  render_kw={"placeholder": "https://"}),
                         min_entries=3, max_entries=3)


class StatusForm(FlaskForm):
    status = SelectField("Status", choices=STATUS_CHOICES)
    reason = StringField("Reason for dropping it", description="Only needed when dropping.",
                         render_kw={"maxlength": 300})


class MoveForm(FlaskForm):
    direction = SelectField(choices=[SelectChoice("up", "Up"), SelectChoice("down", "Down")])


WEEKDAY_CHOICES = [SelectChoice(str(i), name) for i, name in enumerate(
    ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))]


class RhythmForm(FlaskForm):
    days_per_week = WholeNumberField(
        "Days a week with a check-in", what="days", validators=[Optional()],
        description="Your target: the streak counts the weeks in a row you meet it.",
        render_kw={"inputmode": "numeric", "min": 1, "max": 7})
    rhythm_days = SelectMultipleField(
        "The days you usually learn", choices=WEEKDAY_CHOICES, coerce=int,
        description="Reminders use these days. Hold Ctrl (or Cmd) to choose several.")
    rhythm_time = StringField("At what time", validators=[Optional()],
                              description="Like 12:30. Leave empty for no set time.",
                              render_kw={"inputmode": "numeric", "placeholder": "12:30"})
    rhythm_minutes = WholeNumberField("For how many minutes", what="minutes",
                                      validators=[Optional()],
                                      render_kw={"inputmode": "numeric"})


class PauseForm(FlaskForm):
    until = DateField("Pause until", validators=[Optional()],
                      description="The last day of your pause (up to three months).")
    reason = StringField("Why", description="Illness, leave, a busy time… Your patrons see "
                         "“paused”, not the reason.")


def _one_line_end(value: str | None) -> str | None:
    """Browsers send a textarea's line ends as CRLF but count them as one character (its
    ``maxlength``): count them the same way, and ignore surrounding spaces."""
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


class EndorseForm(FlaskForm):
    """Endorsing a finished goal, or editing one's endorsement of it."""

    comment = TextAreaField(
        "A short comment (optional)", filters=[_one_line_end],
        validators=[Length(max=COMMENT_MAX,
                           message="Use at most %(max)d characters (this has %(length)d).")],
        description=f"Up to {COMMENT_MAX} characters. They see it with your name.",
        render_kw={"rows": 2, "maxlength": COMMENT_MAX})
