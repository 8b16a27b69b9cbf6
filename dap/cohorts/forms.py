"""Programme set-up forms: shape only (parsing, lengths); meaning is checked by services."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length
from wtforms.widgets import NumberInput

from dap.cohorts.services import CohortSettings

#: the largest id a row can have (a 32-bit ``integer`` primary key)
MAX_ID = 2_147_483_647


def optional_int(value: Any) -> int | None:
    """Coerce a select's value to an id; anything else (garbage, or a number no row can
    have) becomes ``None``, so the service asks for a choice from the list instead of the
    form or the database choking on it."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            return None
    return number if 0 <= number <= MAX_ID else None


class WholeNumberField(IntegerField):
    """An integer field with a message people understand."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        raw = str(valuelist[0]).strip().replace(",", "")
        try:
            self.data = int(raw)
        except ValueError:
            self.data = None
            raise ValueError("Enter a whole number, like 60.") from None


class DayField(DateField):
    """A date field (``<input type=date>``, ISO ``YYYY-MM-DD``) with a clear message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        raw = str(valuelist[0]).strip()
        try:
            self.data = datetime.strptime(raw, "%Y-%m-%d").date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            self.data = None
            raise ValueError("Enter a date, for example 2026-03-02.") from None


class PercentField(Field):
    """A share entered as a percentage ("50", "50%") or as a decimal ("0.5"); ``data`` is
    the fraction (0.5). Values below 1 are read as decimals: the accepted range (10% to
    90%) makes that unambiguous."""

    widget = NumberInput(step="any")

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if isinstance(self.data, int | float):
            return f"{round(self.data * 100, 2):g}"
        return ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        raw = str(valuelist[0]).strip().rstrip("%").strip()
        try:
            number = Decimal(raw)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.data = None
            raise ValueError("Enter a percentage, like 50.")
        self.data = float(number if number < 1 else number / 100)


class OrganisationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name for the organisation."),
                                           Length(max=160, message="Use at most 160 characters.")],
                       description="For example: Northshire County Council.")


class TeamForm(FlaskForm):
    name = StringField("Team name", validators=[DataRequired("Enter a name for the team."),
                                                Length(max=120, message="Use at most 120 characters.")],
                       description="Any name: customer service, senior management, communications…")


class CohortForm(FlaskForm):
    name = StringField("Cohort name", validators=[DataRequired("Enter a name for the cohort."),
                                                  Length(max=160, message="Use at most 160 characters.")])
    organisation_id = SelectField("Organisation", coerce=optional_int, validate_choice=False,
                                  validators=[DataRequired("Choose an organisation from the list.")])
    description = TextAreaField(
        "Description", validators=[Length(max=20_000, message="Use at most 20,000 characters.")],
        description="Shown to members on the cohort page. Markdown works: **bold**, *italics*, "
                    "[links](https://example.org), lists.",
        render_kw={"rows": 8},
    )
    start_date = DayField("Start date")
    end_date = DayField("End date", description="On or after the start date.")
    timezone = SelectField("Time zone", validate_choice=False,
                           description="Defines the cohort's week and the times of its reminders.")
    is_volunteer = BooleanField("Volunteer cohort",
                                description="The people taking part are volunteers, not staff.")
    platform_minutes_per_week = WholeNumberField(
        "Platform minutes per week", default=60,
        description="The most time a participant spends on DAP in a week: 0 to 10,080.",
    )
    web_share = PercentField(
        "Share of learning time on the wider web (%)", default=0.5,
        description="A percentage from 10 to 90; 50 means half of learning time is spent out on "
                    "the wider web. A decimal like 0.5 works too.",
    )
    grace_minutes = WholeNumberField(
        "Grace minutes", default=15,
        description="Platform minutes allowed each week on top of what logged web time earns: "
                    "0 to 600.",
    )
    silent_after_days = WholeNumberField(
        "Silent after (days)", default=10,
        description="Participants with no activity for this many days are flagged to you: 1 to 90.",
    )
    support_bookings_max = WholeNumberField(
        "1:1 sessions a participant may book at once", default=1,
        description="Sessions still to come: 1 to 10.",
    )
    emails_per_day_max = WholeNumberField(
        "Emails a day, at most", default=2,
        description="To one person, from DAP, facilitators and patrons together: 1 to 10. "
                    "Urgent changes (a cancelled workshop) always go; the rest wait for the "
                    "next morning's digest.",
    )
    emails_per_week_max = WholeNumberField(
        "Emails a week, at most", default=8,
        description="The same, over a week (Monday to Sunday): 1 to 50.",
    )

    def settings(self) -> CohortSettings:
        """The entered values, for ``services.create_cohort`` / ``update_cohort``."""
        return CohortSettings(
            name=self.name.data or "",
            organisation_id=self.organisation_id.data,
            description=self.description.data or "",
            start_date=self.start_date.data if isinstance(self.start_date.data, date) else None,
            end_date=self.end_date.data if isinstance(self.end_date.data, date) else None,
            timezone=self.timezone.data or "",
            is_volunteer=bool(self.is_volunteer.data),
            platform_minutes_per_week=self.platform_minutes_per_week.data,
            web_share=self.web_share.data,
            grace_minutes=self.grace_minutes.data,
            silent_after_days=self.silent_after_days.data,
            support_bookings_max=self.support_bookings_max.data,
            emails_per_day_max=self.emails_per_day_max.data,
            emails_per_week_max=self.emails_per_week_max.data,
        )


class AddFacilitatorForm(FlaskForm):
    email = EmailField("Email of a site facilitator",
                       validators=[Length(max=254, message="That email address is too long.")],
                       description="They must already have a DAP account with the facilitator role.")
