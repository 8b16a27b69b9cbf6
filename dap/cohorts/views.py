"""Setting up programmes: organisations, teams, cohorts; the "My cohort" page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from dap import policy
from dap.accounts.services import timezone_names
from dap.cohorts import services
from dap.cohorts.forms import AddFacilitatorForm, CohortForm, OrganisationForm, TeamForm
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus, Organisation, Team
from dap.community import queries as community_queries
from dap.community.services import can_use_feed
from dap.content.render import render_markdown
from dap.core.forms import ConfirmForm, attempt
from dap.extensions import db
from dap.plans.queries import looked_after

bp = Blueprint("cohorts", __name__)

PER_PAGE = 25
#: the order of the status columns in the overview's counts
STATUSES = [MembershipStatus.ACTIVE, MembershipStatus.INVITED, MembershipStatus.REMOVED]


def _archived_filter() -> bool:
    """``?status=archived`` lists archived things; anything else, the active ones."""
    return request.args.get("status") == "archived"


def _page() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), 100_000)


def _confirmed() -> None:
    """Action buttons post a bare CSRF form; a missing or stale token is a 400."""
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _me():
    """The signed-in user as a model object (services get objects, not the proxy)."""
    return current_user._get_current_object()


# --- organisations and teams ----------------------------------------------------------------


@bp.route("/organisations", methods=["GET", "POST"])
@policy.facilitator
def organisations():
    form = OrganisationForm()
    created: list[Organisation] = []
    if form.validate_on_submit() and attempt(form, lambda: created.append(
            services.create_organisation(name=form.name.data or "", actor=_me()))):
        organisation = created[0]
        flash(f"{organisation.name} has been added. Now add its teams.", "success")
        return redirect(url_for("cohorts.organisation", organisation_id=organisation.id), 303)
    archived = _archived_filter()
    status = 400 if request.method == "POST" else 200
    return render_template("cohorts/organisations.html", form=form, archived=archived,
                           organisations=services.list_organisations(archived=archived)), status


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@policy.facilitator
def organisation(organisation_id: int):
    organisation = policy.load_organisation(organisation_id)
    form = OrganisationForm(prefix="org", obj=organisation if request.method == "GET" else None)
    if form.validate_on_submit() and attempt(form, lambda: services.rename_organisation(
            organisation, name=form.name.data or "", actor=_me())):
        flash("The organisation has been renamed.", "success")
        return redirect(url_for("cohorts.organisation", organisation_id=organisation.id), 303)
    status = 400 if request.method == "POST" else 200
    return _organisation_page(organisation, rename=form, team=TeamForm(prefix="team"), status=status)


def _organisation_page(organisation: Organisation, *, rename: OrganisationForm, team: TeamForm,
                       status: int):
    return render_template("cohorts/organisation.html", organisation=organisation, rename=rename,
                           team_form=team, confirm=ConfirmForm()), status


@bp.post("/organisations/<int:organisation_id>/archive")
@policy.facilitator
def organisation_archive(organisation_id: int):
    organisation = policy.load_organisation(organisation_id)
    _confirmed()
    archived = request.form.get("archived") == "1"
    services.set_organisation_archived(organisation, archived=archived, actor=_me())
    db.session.commit()
    flash(f"{organisation.name} {'has been archived' if archived else 'is active again'}.", "success")
    return redirect(url_for("cohorts.organisation", organisation_id=organisation.id), 303)


@bp.post("/organisations/<int:organisation_id>/teams")
@policy.facilitator
def team_new(organisation_id: int):
    organisation = policy.load_organisation(organisation_id)
    form = TeamForm(prefix="team")
    created: list[Team] = []
    if form.validate_on_submit() and attempt(form, lambda: created.append(
            services.create_team(organisation, name=form.name.data or "", actor=_me()))):
        flash(f"Team {created[0].name} has been added.", "success")
        return redirect(url_for("cohorts.organisation", organisation_id=organisation.id), 303)
    return _organisation_page(organisation, rename=OrganisationForm(prefix="org", obj=organisation),
                              team=form, status=400)


@bp.route("/organisations/<int:organisation_id>/teams/<int:team_id>", methods=["GET", "POST"])
@policy.facilitator
def team(organisation_id: int, team_id: int):
    organisation = policy.load_organisation(organisation_id)
    team = services.get_team(organisation, team_id)
    if team is None:
        abort(404)
    form = TeamForm(obj=team if request.method == "GET" else None)
    if form.validate_on_submit() and attempt(form, lambda: services.rename_team(
            team, name=form.name.data or "", actor=_me())):
        flash("The team has been renamed.", "success")
        return redirect(url_for("cohorts.organisation", organisation_id=organisation.id), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("cohorts/team.html", organisation=organisation, team=team, form=form,
                           confirm=ConfirmForm()), status


@bp.post("/organisations/<int:organisation_id>/teams/<int:team_id>/archive")
@policy.facilitator
def team_archive(organisation_id: int, team_id: int):
    organisation = policy.load_organisation(organisation_id)
    team = services.get_team(organisation, team_id)
    if team is None:
        abort(404)
    _confirmed()
    archived = request.form.get("archived") == "1"
    services.set_team_archived(team, archived=archived, actor=_me())
    db.session.commit()
    flash(f"Team {team.name} {'has been archived' if archived else 'is active again'}.", "success")
    return redirect(url_for("cohorts.organisation", organisation_id=organisation.id), 303)


# --- cohorts: the facilitator's pages ------------------------------------------------------------


@bp.get("/cohorts")
@policy.facilitator
def index():
    archived = _archived_filter()
    page = _page()
    manager = None if policy.is_admin(current_user) else _me()
    cohorts, total = services.list_cohorts(manager=manager, archived=archived, page=page,
                                           per_page=PER_PAGE)
    counts = services.member_counts([c.id for c in cohorts])
    return render_template("cohorts/index.html", cohorts=cohorts, counts=counts, total=total,
                           archived=archived, page=page, per_page=PER_PAGE, roles=CohortRole)


def _cohort_form(cohort: Cohort | None = None) -> CohortForm:
    """The cohort form with its pickers filled: active organisations (plus the cohort's
    own, even if archived since) and every time zone."""
    form = CohortForm(obj=cohort if cohort is not None and request.method == "GET" else None)
    organisations = services.list_organisations(archived=False)
    if cohort is not None and cohort.organisation.is_archived:
        organisations.append(cohort.organisation)
    form.organisation_id.choices = [(0, "Choose an organisation")] + [
        (o.id, o.name + (" (archived)" if o.is_archived else "")) for o in organisations
    ]
    form.timezone.choices = timezone_names()
    if cohort is None and request.method == "GET":
        form.timezone.data = current_app.config["DEFAULT_TIMEZONE"]
        wanted = request.args.get("organisation", type=int)  # linked from an organisation's page
        form.organisation_id.data = wanted if any(o.id == wanted for o in organisations) else 0
    return form


@bp.route("/cohorts/new", methods=["GET", "POST"])
@policy.facilitator
def new():
    form = _cohort_form()
    created: list[Cohort] = []
    if form.validate_on_submit() and attempt(form, lambda: created.append(
            services.create_cohort(form.settings(), actor=_me()))):
        cohort = created[0]
        flash(f"{cohort.name} has been created. You are its facilitator.", "success")
        return redirect(url_for("cohorts.overview", cohort_id=cohort.id), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("cohorts/form.html", form=form, cohort=None), status


@bp.get("/cohorts/<int:cohort_id>")
@policy.signed_in
def overview(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    return render_template(
        "cohorts/overview.html", cohort=cohort,
        counts=services.member_counts([cohort.id])[cohort.id],
        facilitators=services.facilitators_of(cohort),
        description=render_markdown(cohort.description), confirm=ConfirmForm(),
        roles=CohortRole, statuses=STATUSES,
    )


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@policy.signed_in
def edit(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    form = _cohort_form(cohort)
    changed: list[bool] = []
    if form.validate_on_submit() and attempt(form, lambda: changed.append(
            services.update_cohort(cohort, form.settings(), actor=_me()))):
        flash("Your changes have been saved." if changed[0] else "Nothing had changed.", "success")
        return redirect(url_for("cohorts.overview", cohort_id=cohort.id), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("cohorts/form.html", form=form, cohort=cohort), status


@bp.post("/cohorts/<int:cohort_id>/archive")
@policy.signed_in
def archive(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    _confirmed()
    archived = request.form.get("archived") == "1"
    services.set_cohort_archived(cohort, archived=archived, actor=_me())
    db.session.commit()
    flash(f"{cohort.name} " + ("has been archived: it is read-only now." if archived
                               else "is active again and can be changed."), "success")
    return redirect(url_for("cohorts.overview", cohort_id=cohort.id), 303)


@bp.route("/cohorts/<int:cohort_id>/facilitators", methods=["GET", "POST"])
@policy.signed_in
def facilitators(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    form = AddFacilitatorForm()
    added: list[Membership] = []
    if form.validate_on_submit() and attempt(form, lambda: added.append(
            services.add_facilitator(cohort, email=form.email.data or "", actor=_me()))):
        flash(f"{added[0].user.name} is now a facilitator of {cohort.name}.", "success")
        return redirect(url_for("cohorts.facilitators", cohort_id=cohort.id), 303)
    status = 400 if request.method == "POST" else 200
    return _facilitators_page(cohort, form, status)


def _facilitators_page(cohort: Cohort, form: AddFacilitatorForm, status: int):
    return render_template("cohorts/facilitators.html", cohort=cohort, form=form,
                           facilitators=services.facilitators_of(cohort),
                           confirm=ConfirmForm()), status


@bp.post("/cohorts/<int:cohort_id>/facilitators/<int:user_id>/remove")
@policy.signed_in
def facilitator_remove(cohort_id: int, user_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    _confirmed()
    removed: list[Membership | None] = []
    if not attempt(None, lambda: removed.append(
            services.remove_facilitator(cohort, user_id=user_id, actor=_me()))):
        return _facilitators_page(cohort, AddFacilitatorForm(formdata=None), 400)
    membership = removed[0]
    if membership is None:  # not a facilitator here: nothing was changed
        abort(404)
    flash(f"{membership.user.name} is no longer a facilitator of {cohort.name}.", "success")
    if membership.user_id == current_user.id and not policy.is_admin(current_user):
        return redirect(url_for("cohorts.index"), 303)
    return redirect(url_for("cohorts.facilitators", cohort_id=cohort.id), 303)


# --- cohorts: the members' page --------------------------------------------------------------


@bp.get("/cohorts/<int:cohort_id>/home")
@policy.signed_in
def home(cohort_id: int):
    return _home_page(policy.load_cohort(current_user, cohort_id))


def _home_page(cohort: Cohort, status: int = 200):
    my_memberships = services.active_memberships_of(_me())
    mine = next((m for m in my_memberships if m.cohort_id == cohort.id), None)
    return render_template(
        "cohorts/home.html", cohort=cohort, mine=mine, my_memberships=my_memberships,
        facilitators=services.facilitators_of(cohort),
        members=services.visible_members(cohort),
        description=render_markdown(cohort.description),
        can_manage=policy.can_manage_cohort(current_user, cohort), confirm=ConfirmForm(),
        patron_of=looked_after(current_user, cohort.id)
        if mine is not None and mine.role is CohortRole.PATRON else [],
        # featured success stories, for the people the feed is for
        stories=community_queries.stories(cohort, featured_only=True, limit=3)
        if can_use_feed(_me(), cohort) else [],
    ), status


@bp.post("/cohorts/<int:cohort_id>/visibility")
@policy.signed_in
def visibility(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id)
    membership = policy.active_membership(current_user, cohort.id)
    if membership is None:
        abort(404)  # an admin looking in: there is no membership to show or hide
    _confirmed()
    visible = request.form.get("visible") == "1"
    if not attempt(None, lambda: services.set_visibility(membership, visible=visible)):
        return _home_page(cohort, 403)  # the cohort is archived: read-only
    flash("Other members can now see you on this page." if visible
          else "You are hidden from other members now.", "success")
    return redirect(url_for("cohorts.home", cohort_id=cohort.id), 303)
