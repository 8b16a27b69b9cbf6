"""Domain errors: raised by services, mapped onto form fields or messages by views."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule said no. ``field`` names the form field at fault, if any."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
