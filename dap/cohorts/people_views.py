"""People in a cohort: roster, invitations, CSV upload, patron links, managed participants."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("people", __name__)
