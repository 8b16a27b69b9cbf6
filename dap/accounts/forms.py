"""Account forms: shape only (lengths, required); meaning is checked by services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

EMAIL = [
    DataRequired("Enter your email address."),
    Length(max=254, message="That email address is too long."),
]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL, render_kw={"autocomplete": "username"})
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me signed in on this device")


class ResetRequestForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL, render_kw={"autocomplete": "email"})


def new_password_field(label: str, description: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[InputRequired("Choose a new password."),
                    Length(min=10, max=200, message="Use between 10 and 200 characters.")],
        render_kw={"autocomplete": "new-password"},
        description=description,
    )


def confirm_field(other: str) -> PasswordField:
    return PasswordField(
        "Repeat the new password",
        validators=[InputRequired("Repeat the new password."),
                    EqualTo(other, message="The two passwords are not the same.")],
        render_kw={"autocomplete": "new-password"},
    )


class ResetPasswordForm(FlaskForm):
    password = new_password_field(
        "New password", "At least 10 characters. A few unrelated words make a strong password.")
    confirm = confirm_field("password")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[InputRequired("Enter your current password."),
                                        Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = new_password_field(
        "New password", "At least 10 characters. Changing it signs you out everywhere else.")
    confirm = confirm_field("new_password")


class ProfileForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter your name."),
                                           Length(max=120, message="Use at most 120 characters.")],
                       render_kw={"autocomplete": "name"})
    timezone = SelectField("Time zone", validate_choice=False,
                           description="Times across DAP are shown in this zone.")


class UserCreateForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name."),
                                           Length(max=120, message="Use at most 120 characters.")])
    email = EmailField("Email", validators=EMAIL)
    is_facilitator = BooleanField("Facilitator (may create and run cohorts)")
    is_admin = BooleanField("Administrator (may manage everything)")
    send_reset = BooleanField("Email them a link to set their password", default=True)


class UserRolesForm(FlaskForm):
    is_facilitator = BooleanField("Facilitator (may create and run cohorts)")
    is_admin = BooleanField("Administrator (may manage everything)")


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        "Your password",
        validators=[InputRequired("Enter your password to confirm."), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class TokenForm(FlaskForm):
    """A new personal access token: shape only; the service checks the expiry day."""

    name = StringField("What is it for?", validators=[
        DataRequired("Enter a name for the token."),
        Length(max=80, message="Use at most 80 characters.")],
        description="For example “Phone shortcut” or “Team dashboard script”.")
    scope = RadioField("It may", choices=[
        SelectChoice("read", "Read only: see my goals, check-ins and time"),
        SelectChoice("read-write", "Read and write: also check in, log web time and change "
                                   "goals")],
        default="read-write", validators=[InputRequired("Choose what it may do.")])
    expires_on = DateField("Last day it works (optional)", validators=[Optional()],
                           description="Leave empty for a token that works until you revoke "
                                       "it; at most a year ahead.")
