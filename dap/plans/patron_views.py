"""The patron home (``/patron``): the people the signed-in person is patron to, across
cohorts, each with their goals, activity, streak, this week's time and what is coming up
(read in dap.plans.patrons). Each row leads to the participant's plan, read-only for a
patron. Anyone signed in may open it: someone who is patron to nobody sees an empty page.

The route shares the plans blueprint."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from dap import policy
from dap.plans import patrons
from dap.plans.views import bp


@bp.get("/patron")
@policy.signed_in
def patron_home():
    return render_template("plans/patron_home.html",
                           glances=patrons.overview(current_user._get_current_object()))
