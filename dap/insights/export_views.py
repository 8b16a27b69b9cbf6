"""The exports page and its CSV downloads, for a cohort's managers (facilitators and admins)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from dap import policy
from dap.clock import now_utc
from dap.core.csv import csv_stream
from dap.errors import DomainError
from dap.insights import exports

bp = Blueprint("exports", __name__)



@bp.get("/cohorts/<int:cohort_id>/exports")
@policy.signed_in
def index(cohort_id: int):
    """The exports and their filters; ``?team=`` (from the insights tabs) preselects that
    team when it is one of the list, and is otherwise ignored here."""
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    teams = exports.export_teams(cohort)
    wanted = request.args.get("team", "")
    team_id = next((team.id for team in teams if str(team.id) == wanted), None)
    return render_template(
        "insights/exports.html", cohort=cohort, exports=list(exports.EXPORTS.values()),
        teams=teams, team_id=team_id)


@bp.get("/cohorts/<int:cohort_id>/exports/<name>.csv")
@policy.signed_in
def download(cohort_id: int, name: str):
    """One export, streamed; ``?team=``, ``?from=`` and ``?to=`` narrow it (400 when
    malformed). Nothing is audited: like the other CSV downloads of the cohort's managers
    (the roster, the baseline answers), an export reads what they may already see."""
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    export = exports.EXPORTS.get(name)
    if export is None:
        abort(404)
    try:
        filters = exports.parse_filters(request.args)
    except DomainError as error:
        abort(400, description=error.message)
    return csv_stream(export.rows(cohort, filters), export.header,
                      f"dap-cohort-{cohort.id}-{export.name}-{now_utc().date()}.csv")
