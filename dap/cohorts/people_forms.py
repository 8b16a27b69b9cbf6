"""Forms for people in a cohort: shape only; the services check meaning."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

from dap.cohorts.models import CohortRole

ROLE_CHOICES = [
    SelectChoice(CohortRole.PARTICIPANT.value, "Participant"),
    SelectChoice(CohortRole.PATRON.value, "Patron"),
    SelectChoice(CohortRole.FACILITATOR.value, "Co-facilitator"),
]
NAME = [DataRequired("Enter a name."), Length(max=120, message="Use at most 120 characters.")]
EMAIL = [DataRequired("Enter an email address."),
         Length(max=254, message="That email address is too long.")]


class InviteForm(FlaskForm):
    name = StringField("Name", validators=NAME)
    email = EmailField("Email", validators=EMAIL)
    role = SelectField("Role", choices=ROLE_CHOICES, default=CohortRole.PARTICIPANT.value)
    team = SelectField("Team", choices=[], validate_choice=False, default="")


class ImportForm(FlaskForm):
    file = FileField("CSV file", description="Columns: name, email, role (participant, patron "
                     "or co-facilitator), and optionally team and patron email.")
    csv_text = TextAreaField(
        "Or paste the rows here", validators=[Optional(), Length(max=2 * 1024 * 1024)],
        description="Fix problems here and check again; nothing is imported until you confirm.",
        render_kw={"rows": 10, "spellcheck": "false"},
    )


class MemberForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    team = SelectField("Team", choices=[], validate_choice=False)


class LinkPatronForm(FlaskForm):
    patron = SelectField("Patron", choices=[], validate_choice=False,
                         validators=[DataRequired("Choose a patron.")])


class TakeoverForm(FlaskForm):
    email = EmailField("Their email address", validators=EMAIL)


class ManagedForm(FlaskForm):
    name = StringField("Name", validators=NAME)
    team = SelectField("Team", choices=[], validate_choice=False, default="")


class OwnPatronForm(FlaskForm):
    name = StringField("Their name", validators=NAME)
    email = EmailField("Their email", validators=EMAIL)


class JoinForm(FlaskForm):
    name = StringField("Your name", validators=NAME, render_kw={"autocomplete": "name"})
    password = PasswordField(
        "Choose a password",
        validators=[InputRequired("Choose a password."),
                    Length(min=10, max=200, message="Use between 10 and 200 characters.")],
        description="At least 10 characters.", render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[InputRequired("Repeat the password."),
                    EqualTo("password", message="The two passwords are not the same.")],
        render_kw={"autocomplete": "new-password"},
    )
