"""Setting up programmes: organisations, teams, cohorts; the "My cohort" page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cohorts", __name__)
