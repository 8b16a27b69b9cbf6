"""The goal library: browse, filter, search, and a goal's page."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from dap import policy
from dap.content.library import LEVELS, current_library

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
    related = [g for g in library.goals_in(found.area) if g.slug != found.slug][:4]
    return render_template("content/goal.html", goal=found, area=library.areas[found.area],
                           related=related)
