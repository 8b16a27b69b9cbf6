"""Forms for logging web time: shape and types; dap.timecap.services checks meaning."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from dap.core.forms import WholeNumberField
from dap.timecap.models import ACTIVITY_LABELS


class WebActivityForm(FlaskForm):
    kind = SelectField("What did you do?", choices=[
        SelectChoice(kind.value, label) for kind, label in ACTIVITY_LABELS.items()])
    title = StringField("What was it?", render_kw={"maxlength": 200, "autocomplete": "off"},
                        description="A few words: “Read a guide to writing for screens”.")
    url = StringField("Link (optional)", render_kw={"inputmode": "url", "placeholder": "https://"})
    minutes = WholeNumberField("Minutes", what="minutes", validators=[Optional()],
                               render_kw={"inputmode": "numeric", "min": 1, "max": 600,
                                          "class": "input-short"})
    goal = SelectField("For which goal (optional)", choices=[], validate_choice=False)
    day = DateField("When", validators=[Optional()],
                    description="Today, or a day in the last two weeks.")
    note = TextAreaField("Note (optional)", render_kw={"rows": 2})


class ExemptionForm(FlaskForm):
    """Exempt a participant from the cap (``exempt`` = "1", with a reason) or end it ("0")."""

    exempt = HiddenField(default="1")
    reason = StringField("Reason", render_kw={"maxlength": 200},
                         description="Supported digital, accessibility, … Recorded in the "
                                     "cohort's audit log.")
