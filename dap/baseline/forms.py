"""The facilitators' checkpoint forms. (The questionnaire's pages are built from
content/baseline.md, so their fields are read in the views and checked by the services.)"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from dap.baseline.models import KIND_LABELS, CheckpointKind
from dap.cohorts.forms import DayField


class OptionalDayField(DayField):
    """A date that may be left empty (``data`` None)."""

    def process_formdata(self, valuelist: list) -> None:
        if valuelist and not str(valuelist[0]).strip():
            self.data = None
            return
        super().process_formdata(valuelist)


class OpenCheckpointForm(FlaskForm):
    kind = SelectField("Checkpoint", choices=[
        SelectChoice(kind.value, KIND_LABELS[kind])
        for kind in (CheckpointKind.MIDPOINT, CheckpointKind.FINAL)])
    closes_on = OptionalDayField("Open until (optional)", description=(
        "Answers are accepted until the end of this day in the cohort's time zone. Leave it "
        "empty to close the checkpoint yourself."))


class ReopenCheckpointForm(FlaskForm):
    closes_on = OptionalDayField("Open until (optional)")
