"""Reading the audit log: admins everything, facilitators their cohorts."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from dap import policy
from dap.audit import queries
from dap.clock import local_date, now_utc

bp = Blueprint("audit", __name__)


def _filters() -> queries.AuditFilters:
    return queries.AuditFilters.parse(request.args.get("action"), request.args.get("person"))


def _page() -> int:
    return request.args.get("page", 1, type=int) or 1


def _csv(filters: queries.AuditFilters, *, name: str, cohort_id: int | None = None) -> Response:
    tz = current_user.timezone
    text = queries.log_csv(queries.log_entries(filters, cohort_id=cohort_id), timezone=tz)
    day = local_date(now_utc(), tz).isoformat()
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}-{day}.csv"',
        "Cache-Control": "no-store",
    })


@bp.get("/admin/audit")
@policy.admin
def admin_log():
    filters = _filters()
    return render_template("audit/log.html", log=queries.log_page(filters, page=_page()),
                           filters=filters, cohort=None, actions=sorted(queries.SENTENCES))


@bp.get("/admin/audit.csv")
@policy.admin
def admin_log_csv():
    return _csv(_filters(), name="dap-audit")


@bp.get("/cohorts/<int:cohort_id>/audit")
@policy.signed_in
def cohort_log(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    filters = _filters()
    return render_template(
        "audit/log.html", log=queries.log_page(filters, page=_page(), cohort_id=cohort.id),
        filters=filters, cohort=cohort, actions=sorted(queries.SENTENCES),
    )


@bp.get("/cohorts/<int:cohort_id>/audit.csv")
@policy.signed_in
def cohort_log_csv(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    return _csv(_filters(), name=f"dap-audit-cohort-{cohort.id}", cohort_id=cohort.id)
