"""The goal library: browse, filter, search, and a goal's page."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from dap import policy
from dap.content.library import LEVELS, Goal, current_library
from dap.plans import queries
from dap.plans.forms import AdoptForm

bp = Blueprint("library", __name__, url_prefix="/library")


@bp.get("/")
@policy.signed_in
def index():
    library = current_library()
    area = request.args.get("area") or None
    level = request.args.get("level") or None
    if area not in library.areas:
        area = None
    if level not in LEVELS:
        level = None
    query = request.args.get("q", "")[:100].strip()
    goals = library.search(query, area=area, level=level)
    return render_template("content/library.html", library=library, goals=goals, area=area,
                           level=level, q=query, levels=LEVELS)


@bp.get("/<slug>")
@policy.signed_in
def goal(slug: str):
    library = current_library()
    found = library.goals.get(slug)
    if found is None:
        abort(404)
    return goal_page(found)


def goal_page(found: Goal, *, adopt_form: AdoptForm | None = None, status: int = 200):
    """A library goal's page; participants get an "Add to my plan" form for their cohorts
    (the plans blueprint re-renders it with errors)."""
    library = current_library()
    related = [g for g in library.goals_in(found.area) if g.slug != found.slug][:4]
    cohorts = queries.participant_cohorts(current_user)
    if adopt_form is None and cohorts:
        adopt_form = AdoptForm(slug=found.slug, formdata=None)
    if adopt_form is not None:
        adopt_form.cohort.choices = [SelectChoice(str(c.id), c.name) for c in cohorts]
    return render_template(
        "content/goal.html", goal=found, area=library.areas[found.area], related=related,
        adopt_form=adopt_form, adopt_cohorts=cohorts,
        adopted=queries.adopted_in(current_user, found.slug) if cohorts else {},
    ), status
