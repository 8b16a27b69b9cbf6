"""The admins' organisation report: every cohort side by side, as a page and as CSV."""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from dap import policy
from dap.clock import local_date, now_utc
from dap.core.csv import csv_download
from dap.insights import organisation

bp = Blueprint("org_report", __name__)

#: an organisation id as the filter sends it: ASCII digits (``isdigit`` also takes "²")
ID = re.compile(r"[0-9]+")
#: the largest id a database integer holds; larger ones cannot exist (as in route ids)
MAX_ID = 2_147_483_647
def _filters() -> tuple[int | None, bool]:
    """``?organisation=<id>`` (empty: all) and ``?archived=1`` (``0`` or empty: no).

    :raise 400: for a value of another shape.
    :raise 404: for an organisation that does not exist.
    """
    raw = request.args.get("organisation", "")
    organisation_id = None
    if raw:
        if not ID.fullmatch(raw):
            abort(400, "Choose an organisation from the list.")
        # more digits than any id has: not converted (Python refuses very long ones)
        organisation_id = int(raw) if len(raw) <= len(str(MAX_ID)) else 0
        if not 0 < organisation_id <= MAX_ID:
            abort(404)
        policy.load_organisation(organisation_id)
    archived = request.args.get("archived", "")
    if archived not in ("", "0", "1"):
        abort(400, "Archived cohorts are shown with archived=1, or left out with archived=0.")
    return organisation_id, archived == "1"


@bp.get("/admin/insights")
@policy.admin
def report():
    organisation_id, archived = _filters()
    return render_template(
        "insights/organisation.html",
        report=organisation.organisation_report(organisation_id=organisation_id,
                                                include_archived=archived),
        organisations=organisation.organisations(),
        small=organisation.SMALL)


@bp.get("/admin/insights.csv")
@policy.admin
def report_csv():
    organisation_id, archived = _filters()
    text = organisation.report_csv(organisation.organisation_report(
        organisation_id=organisation_id, include_archived=archived))
    day = local_date(now_utc(), current_user.timezone).isoformat()
    return csv_download(text, f"dap-organisation-report-{day}.csv")
