"""Admin page: each scan's last run, duration, result and error."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from dap import policy
from dap.extensions import db
from dap.jobs import registry
from dap.jobs.models import JobRun
from dap.jobs.runner import latest_runs

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@bp.get("/")
@policy.admin
def index():
    recent = db.session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(20)).all()
    return render_template("jobs/index.html", jobs=registry.JOBS, latest=latest_runs(), recent=recent)
