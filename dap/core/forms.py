"""Form pieces shared by every domain."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm
from wtforms import IntegerField

from dap.errors import DomainError
from dap.extensions import db


class WholeNumberField(IntegerField):
    """An integer field whose parse error reads well; range checks are the service's."""

    def __init__(self, label: str, *, what: str, **kwargs) -> None:
        super().__init__(label, **kwargs)
        self.what = what

    def process_formdata(self, valuelist: list) -> None:
        if not valuelist:
            return
        raw = str(valuelist[0]).strip()
        if not raw:
            self.data = None
            return
        try:
            self.data = int(raw) if len(raw) <= 12 else None
        except ValueError:
            self.data = None
        if self.data is None:
            raise ValueError(f"Enter {self.what} as a whole number, like 30.")


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token: sign out, archive, remove, revoke…"""


def apply_domain_error(form: FlaskForm | None, error: DomainError) -> None:
    """Show a service's error on the field it names, or as a flashed form-level message (always
    flashed when there is no form: an action button)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]  # type: ignore[assignment]
    else:
        flash(error.message, "error")


def attempt(form: FlaskForm | None, action) -> bool:
    """Run a service call for a validated form in the request's transaction: commit and
    return True, or roll back, show the service's ``DomainError`` on the form (flash it when
    ``form`` is None) and return False."""
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        apply_domain_error(form, error)
        return False
    db.session.commit()
    return True
