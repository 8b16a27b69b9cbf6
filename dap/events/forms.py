"""Forms for events: shape and types; dap.events.services checks meaning."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from dap.core.forms import WholeNumberField
from dap.events.models import KIND_LABELS, MODE_LABELS
from dap.events.services import Repeat


class EventForm(FlaskForm):
    kind = SelectField("Kind of event", choices=[
        SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()])
    title = StringField("Title", render_kw={"maxlength": 160})
    description = TextAreaField(
        "Description (optional)", render_kw={"rows": 5},
        description="What happens, what to bring. Markdown: **bold**, lists, links.")
    day = DateField("Day", validators=[Optional()])
    starts = TimeField("Starts", validators=[Optional()], render_kw={"class": "input-short"})
    ends = TimeField("Ends", validators=[Optional()], render_kw={"class": "input-short"},
                     description="Times are in the cohort’s time zone.")
    mode = SelectField("How people take part", choices=[
        SelectChoice(mode.value, label) for mode, label in MODE_LABELS.items()])
    venue = StringField("Venue", render_kw={"maxlength": 160},
                        description="For events in person: the room or building.")
    address = StringField("Address (optional)", render_kw={"maxlength": 300})
    join_url = StringField("Join link (optional)",
                           render_kw={"inputmode": "url", "placeholder": "https://"},
                           description="Shown only to people who are going.")
    capacity = WholeNumberField("Seats (optional)", what="the number of seats",
                                validators=[Optional()],
                                render_kw={"inputmode": "numeric", "class": "input-short"},
                                description="Leave empty for no limit. When it is full, "
                                            "people join a waitlist.")
    rsvp_deadline = DateTimeLocalField("Answers close (optional)", validators=[Optional()],
                                       description="Leave empty to take answers until it "
                                                   "starts.")
    repeat = SelectField("Repeats", choices=[
        SelectChoice(str(Repeat.NONE), "Once"),
        SelectChoice(str(Repeat.WEEKLY), "Every week"),
        SelectChoice(str(Repeat.FORTNIGHTLY), "Every two weeks")])
    count = WholeNumberField("How many times", what="how many times", validators=[Optional()],
                             render_kw={"inputmode": "numeric", "class": "input-short"},
                             description="For a series: from 2 to 26 events.")


class AnswerForm(FlaskForm):
    """Going ("yes") or can't go ("no")."""

    answer = HiddenField()


class CancelForm(FlaskForm):
    reason = TextAreaField("Why (optional, sent to everyone going or waiting)",
                           render_kw={"rows": 2, "maxlength": 1000})
