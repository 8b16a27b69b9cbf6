"""Forms for 1:1 support: shape and types; dap.support.services checks meaning."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from dap.core.forms import WholeNumberField
from dap.support.models import MODE_LABELS


class AvailabilityForm(FlaskForm):
    day = DateField("Day", validators=[Optional()])
    starts = TimeField("From", validators=[Optional()], render_kw={"class": "input-short"})
    ends = TimeField("Until", validators=[Optional()], render_kw={"class": "input-short"},
                     description="Times are in the cohort’s time zone.")
    slot_minutes = WholeNumberField(
        "Length of each slot, in minutes (optional)", what="the length of a slot",
        validators=[Optional()], render_kw={"inputmode": "numeric", "class": "input-short"},
        description="To split the time into equal slots, e.g. 10:00–12:00 in 30-minute "
                    "slots makes four. Leave empty for one slot.")
    buffer_minutes = WholeNumberField(
        "Buffer between slots, in minutes", what="the buffer", validators=[Optional()],
        default=0, render_kw={"inputmode": "numeric", "class": "input-short"})
    mode = SelectField("How", choices=[SelectChoice(m.value, label)
                                       for m, label in MODE_LABELS.items()])
    place = StringField("Where, or how you will call (in person: required)",
                        render_kw={"maxlength": 300})
    join_url = StringField("Video call link (for video calls)",
                           render_kw={"inputmode": "url", "placeholder": "https://"},
                           description="Shown only to the person who books.")
    book_until_minutes = WholeNumberField(
        "Booking closes, minutes before the start", what="minutes", default=60,
        render_kw={"inputmode": "numeric", "class": "input-short"})
    cancel_until_minutes = WholeNumberField(
        "Participants may cancel until, minutes before the start", what="minutes", default=120,
        render_kw={"inputmode": "numeric", "class": "input-short"})


class BookForm(FlaskForm):
    note = TextAreaField("What you’d like help with (optional)",
                         render_kw={"rows": 3, "maxlength": 1000},
                         description="A line or two helps your facilitator prepare.")


class CancelBookingForm(FlaskForm):
    message = TextAreaField("Message to the participant (optional)",
                            render_kw={"rows": 2, "maxlength": 1000})


class SessionNotesForm(FlaskForm):
    """The facilitator's private notes on a session; empty removes them."""

    body = TextAreaField("Your private notes", render_kw={"rows": 12, "maxlength": 10000},
                         description="Only the cohort’s facilitators see these: never the "
                                     "participant or their patrons. Markdown: **bold**, lists, "
                                     "links, up to 10,000 characters. Leave empty to "
                                     "remove them.")


class ActionPointForm(FlaskForm):
    text = TextAreaField("Action point", render_kw={"rows": 2, "maxlength": 300},
                         description="Something agreed, in a line (up to 300 characters). The "
                                     "participant sees it; they choose whether their patrons do.")


class BookForForm(FlaskForm):
    """A facilitator books a slot for a participant without an account (choices: the
    cohort's managed participants; the service checks whoever is sent)."""

    participant = SelectField("Who it is for", choices=[], validate_choice=False)
    note = TextAreaField("What they’d like help with (optional)",
                         render_kw={"rows": 3, "maxlength": 1000})
