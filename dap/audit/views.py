"""Reading the audit log: admins everything, facilitators their cohorts."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__)
