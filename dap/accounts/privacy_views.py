"""Privacy: download everything DAP holds about me; delete my account."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("privacy", __name__)
