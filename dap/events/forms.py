"""Forms for events: shape and types; dap.events.services checks meaning."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from dap.core.forms import WholeNumberField
from dap.events.feedback import TEXT_MAX as FEEDBACK_TEXT_MAX
from dap.events.feedback import USEFULNESS_LABELS
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
    invite = BooleanField("Email the cohort’s participants an invitation", default=True,
                          description="With a calendar entry; a series goes in one email. "
                                      "Changes and a cancellation are emailed too.")


class AnswerForm(FlaskForm):
    """Going ("yes") or can't go ("no")."""

    answer = HiddenField()


class CancelForm(FlaskForm):
    reason = TextAreaField("Why (optional, sent to everyone going or waiting)",
                           render_kw={"rows": 2, "maxlength": 1000})


class CheckInForm(FlaskForm):
    """Self check-in: the code on the facilitator's screen (dap.events.checkin checks it)."""

    code = StringField("Code on the screen",
                       render_kw={"maxlength": 16, "autocomplete": "off", "spellcheck": "false",
                                  "autocapitalize": "characters", "class": "input-code"},
                       description="8 letters and numbers; it changes every minute.")


class FeedbackForm(FlaskForm):
    """Feedback after an event; dap.events.feedback checks the level and the lengths."""

    # validate_choice off: an unknown level gets the service's sentence, not "Not a valid
    # choice"
    usefulness = RadioField("How useful was it for you?", validate_choice=False, choices=[
        SelectChoice(str(level), f"{level} – {label}")
        for level, label in USEFULNESS_LABELS.items()])
    what_worked = TextAreaField("What worked? (optional)",
                                render_kw={"rows": 4, "maxlength": FEEDBACK_TEXT_MAX})
    what_to_change = TextAreaField("What would you change? (optional)",
                                   render_kw={"rows": 4, "maxlength": FEEDBACK_TEXT_MAX})


class RecapNoteForm(FlaskForm):
    """My notes on an event; empty removes them. dap.events.recaps checks the length."""

    body = TextAreaField("Your notes", render_kw={"rows": 6},
                         description="What happened, what you learnt, what you will try next. "
                                     "Markdown: **bold**, lists, links. Leave empty to remove.")


class PhotoForm(FlaskForm):
    """Photos for an event's recap; dap.events.recaps checks each file."""

    photos = MultipleFileField(
        "Photos", render_kw={"accept": "image/jpeg,image/png,image/webp"},
        description="JPEG, PNG or WebP, up to 10 MB each, 5 at a time. Location and camera "
                    "details are removed. Only share photos of people who are happy to be "
                    "shared.")
    caption = StringField("What the photos show (optional)", render_kw={"maxlength": 300},
                          description="Read out to people who cannot see them.")
