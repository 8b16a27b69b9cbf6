"""People in a cohort: roster, invitations, CSV upload, patron links, managed participants,
and accepting an invitation."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from dap import policy
from dap.accounts.services import HashParams
from dap.accounts.views import sign_in_browser
from dap.clock import now_utc
from dap.cohorts import csv_import, people, roster
from dap.cohorts.models import Cohort, CohortRole, Invitation, Membership, MembershipStatus, Team
from dap.cohorts.people_forms import (
    ImportForm,
    InviteForm,
    JoinForm,
    LinkPatronForm,
    ManagedForm,
    MemberForm,
    OwnPatronForm,
    TakeoverForm,
)
from dap.core.csv import write_csv
from dap.core.forms import ConfirmForm, apply_domain_error, attempt
from dap.errors import DomainError
from dap.extensions import db, limiter
from dap.insights.activity import last_activity, silent_days
from dap.plans.queries import paused_participants
from dap.timecap import services as timecap
from dap.timecap.forms import ExemptionForm

bp = Blueprint("people", __name__)


def _links() -> people.LinkContext:
    return people.LinkContext(base_url=current_app.config["BASE_URL"],
                              secret_key=current_app.config["SECRET_KEY"])


def _team_choices(cohort: Cohort) -> list[SelectChoice]:
    return [SelectChoice("", "No team")] + [
        SelectChoice(str(t.id), t.name) for t in roster.cohort_teams(cohort)]


#: an id or page number: ASCII digits only (str.isdigit() also takes "²" and "٣", which
#: int() refuses or reads as another number)
WHOLE_NUMBER = re.compile(r"[0-9]{1,11}")


def _team(cohort: Cohort, raw: str | None) -> Team | None:
    """The chosen team, or None; a team of another organisation is refused by the service."""
    if not raw:
        return None
    if not WHOLE_NUMBER.fullmatch(raw):
        raise DomainError("Choose a team from the list.", field="team")
    team = db.session.get(Team, int(raw))
    if team is None or team.is_archived:
        raise DomainError("Choose a team from the list.", field="team")
    return team


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if WHOLE_NUMBER.fullmatch(raw) else None


def _enum_arg(enum_cls, name: str):
    raw = request.args.get(name, "")
    return next((m for m in enum_cls if m.value == raw), None)


def _roster_url(cohort: Cohort) -> str:
    return url_for("people.roster", cohort_id=cohort.id)


# --- roster -----------------------------------------------------------------------------------


def _roster_filters() -> roster.RosterFilters:
    sort = request.args.get("sort", "name")
    return roster.RosterFilters(
        q=request.args.get("q", "")[:100].strip(),
        team_id=_int_arg("team"),
        role=_enum_arg(CohortRole, "role"),
        status=_enum_arg(MembershipStatus, "status"),
        patron_id=_int_arg("patron"),
        sort=sort if sort in roster.SORTS else "name",
        descending=request.args.get("dir") == "desc",
        page=min(_int_arg("page") or 1, 100000),
    )


@bp.get("/cohorts/<int:cohort_id>/people", endpoint="roster")
@policy.signed_in
def roster_page(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    filters = _roster_filters()
    page = roster.roster(cohort, filters)
    participant_rows = [row.membership for row in page.rows
                        if row.membership.role is CohortRole.PARTICIPANT]
    latest = last_activity(cohort.id, [m.user_id for m in participant_rows])
    paused = paused_participants(cohort, [m.user_id for m in participant_rows])
    quiet = {m.user_id: silent_days(latest.get(m.user_id), joined_at=m.joined_at,
                                    after_days=cohort.silent_after_days)
             for m in participant_rows
             if m.status is MembershipStatus.ACTIVE and m.user_id not in paused}
    return render_template(
        "people/roster.html", cohort=cohort, page=page, filters=filters,
        latest=latest, quiet=quiet,
        teams=roster.cohort_teams(cohort),
        patron_choices=roster.patrons_in(cohort),
        confirm=ConfirmForm(), can_edit=policy.can_edit_cohort(current_user, cohort),
        roles=list(CohortRole), statuses=list(MembershipStatus),
    )


@bp.get("/cohorts/<int:cohort_id>/people.csv")
@policy.signed_in
def roster_csv(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    body = write_csv(roster.export_rows(cohort, _roster_filters()), roster.EXPORT_HEADER)
    filename = f"dap-cohort-{cohort.id}-people-{now_utc().date().isoformat()}.csv"
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })


@bp.route("/cohorts/<int:cohort_id>/people/invite", methods=["GET", "POST"])
@limiter.limit("200 per hour", methods=["POST"],
               key_func=lambda: f"invite:{getattr(current_user, 'id', 'anon')}")
@policy.signed_in
def invite(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    form = InviteForm()
    form.team.choices = _team_choices(cohort)
    sent: list[Invitation] = []
    if form.validate_on_submit() and attempt(form, lambda: sent.append(people.invite_member(
            cohort=cohort, actor=current_user, email=form.email.data or "",
            name=form.name.data or "", role=CohortRole(form.role.data),
            team=_team(cohort, form.team.data), links=_links()))):
        flash(f"Invitation sent to {sent[0].email}.", "success")
        return redirect(url_for("people.invite", cohort_id=cohort.id))
    status = 400 if request.method == "POST" else 200
    return render_template("people/invite.html", cohort=cohort, form=form), status


@bp.route("/cohorts/<int:cohort_id>/people/import", methods=["GET", "POST"])
@limiter.limit("60 per hour", methods=["POST"],
               key_func=lambda: f"import:{getattr(current_user, 'id', 'anon')}")
@policy.signed_in
def import_people(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    form = ImportForm()
    preview = None
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("people/import.html", cohort=cohort, form=form,
                                   preview=None), 400
        try:
            upload = form.file.data
            text = csv_import.decode(upload.read()) if upload and upload.filename else (
                form.csv_text.data or "")
            if not text.strip():
                raise DomainError("Choose a CSV file or paste the rows.", field="file")
        except DomainError as error:
            apply_domain_error(form, error)
            return render_template("people/import.html", cohort=cohort, form=form,
                                   preview=None), 400
        form.csv_text.data = text
        preview = csv_import.check(csv_import.parse(text), cohort)
        if request.form.get("action") == "import" and preview.ok:
            counts: list[int] = []
            if attempt(None, lambda: counts.append(csv_import.import_rows(
                    preview, cohort=cohort, actor=current_user, links=_links()))):
                flash(f"Invited {counts[0]} people. Their invitations are on the way.", "success")
                return redirect(_roster_url(cohort))
            status = 409
        elif not preview.ok:
            status = 400
    return render_template("people/import.html", cohort=cohort, form=form,
                           preview=preview), status


# --- one member ------------------------------------------------------------------------------


def _member_page(cohort: Cohort, membership, *, status: int = 200, member_form=None,
                 link_form=None, takeover_form=None, exemption_form=None):
    member_form = member_form or MemberForm(
        role=membership.role.value, team=str(membership.team_id or ""), prefix="member")
    member_form.team.choices = _team_choices(cohort)
    link_form = link_form or LinkPatronForm(prefix="link")
    candidates = [m for m in roster.cohort_members(cohort) if m.user_id != membership.user_id]
    link_form.patron.choices = [SelectChoice("", "Choose a patron")] + [
        SelectChoice(str(m.id), f"{m.user.name} ({m.role.value})") for m in candidates]
    return render_template(
        "people/member.html", cohort=cohort, membership=membership,
        member_form=member_form, link_form=link_form,
        takeover_form=takeover_form or TakeoverForm(prefix="takeover"),
        patron_links=roster.patron_links_of(cohort, membership.user),
        invitation=people.latest_invitations([membership.id]).get(membership.id),
        confirm=ConfirmForm(), can_edit=policy.can_edit_cohort(current_user, cohort),
        exemption_form=exemption_form or ExemptionForm(prefix="cap", formdata=None),
        time_balance=timecap.balance(membership.user_id, cohort, exempt=membership.cap_exempt)
        if membership.role is CohortRole.PARTICIPANT else None,
    ), status


@bp.get("/cohorts/<int:cohort_id>/people/<int:membership_id>")
@policy.signed_in
def member(cohort_id: int, membership_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    return _member_page(cohort, policy.load_membership(cohort, membership_id))


def _member_action(cohort_id: int, membership_id: int, *, form_cls, prefix: str,
                   page_arg: str, act):
    """What every form on a member's page shares: load in scope, validate, call the service
    (``act`` returns the message to flash), commit and go back to the page; or show the page
    again with the errors."""
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    membership = policy.load_membership(cohort, membership_id)
    form = form_cls(prefix=prefix)
    if hasattr(form, "team"):
        form.team.choices = _team_choices(cohort)
    messages: list[str] = []
    if form.validate_on_submit() and attempt(
            form, lambda: messages.append(act(cohort, membership, form))):
        flash(messages[0], "success")
        return redirect(url_for("people.member", cohort_id=cohort.id, membership_id=membership.id))
    return _member_page(cohort, membership, status=400, **{page_arg: form})


@bp.post("/cohorts/<int:cohort_id>/people/<int:membership_id>/change")
@policy.signed_in
def change_member(cohort_id: int, membership_id: int):
    def act(cohort, membership, form):
        people.change_member(membership, actor=current_user, role=CohortRole(form.role.data),
                             team=_team(cohort, form.team.data))
        return "Saved."

    return _member_action(cohort_id, membership_id, form_cls=MemberForm, prefix="member",
                          page_arg="member_form", act=act)


@bp.post("/cohorts/<int:cohort_id>/people/<int:membership_id>/cap-exemption")
@policy.signed_in
def cap_exemption(cohort_id: int, membership_id: int):
    """Exempt a participant from the platform-time cap, or end the exemption (audited)."""
    def act(cohort, membership, form):
        exempt = form.exempt.data == "1"
        timecap.set_exemption(membership, actor=current_user, exempt=exempt,
                              reason=form.reason.data or "")
        return (f"{membership.user.name} is not capped now." if exempt
                else f"{membership.user.name}'s platform time is capped again.")

    return _member_action(cohort_id, membership_id, form_cls=ExemptionForm, prefix="cap",
                          page_arg="exemption_form", act=act)


@bp.post("/cohorts/<int:cohort_id>/people/<int:membership_id>/patrons")
@policy.signed_in
def link_patron(cohort_id: int, membership_id: int):
    def act(cohort, membership, form):
        raw = form.patron.data or ""
        if not raw.isdigit() or len(raw) > 12:
            raise DomainError("Choose a patron from the list.", field="patron")
        patron = policy.load_membership(cohort, int(raw))
        people.link_patron(cohort=cohort, patron=patron, participant=membership,
                           actor=current_user)
        return f"{patron.user.name} is now {membership.user.name}'s patron."

    return _member_action(cohort_id, membership_id, form_cls=LinkPatronForm, prefix="link",
                          page_arg="link_form", act=act)


@bp.post("/cohorts/<int:cohort_id>/people/<int:membership_id>/takeover")
@policy.signed_in
def invite_takeover(cohort_id: int, membership_id: int):
    def act(cohort, membership, form):
        invitation = people.invite_managed_to_take_over(
            membership=membership, actor=current_user, email=form.email.data or "",
            links=_links())
        return f"Invitation sent to {invitation.email}."

    return _member_action(cohort_id, membership_id, form_cls=TakeoverForm, prefix="takeover",
                          page_arg="takeover_form", act=act)


@bp.post("/cohorts/<int:cohort_id>/people/<int:membership_id>/remove")
@policy.signed_in
def remove_member(cohort_id: int, membership_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    membership = policy.load_membership(cohort, membership_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not attempt(None, lambda: people.remove_member(membership, actor=current_user)):
        return redirect(url_for("people.member", cohort_id=cohort.id,
                                membership_id=membership.id)), 303
    flash(f"{membership.user.name} has been removed from the cohort. Their records stay.",
          "success")
    return redirect(_roster_url(cohort)), 303


@bp.route("/cohorts/<int:cohort_id>/people/managed/new", methods=["GET", "POST"])
@policy.signed_in
def new_managed(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    form = ManagedForm()
    form.team.choices = _team_choices(cohort)
    added: list[Membership] = []
    if form.validate_on_submit() and attempt(form, lambda: added.append(
            people.create_managed_participant(cohort=cohort, actor=current_user,
                                              name=form.name.data or "",
                                              team=_team(cohort, form.team.data)))):
        membership = added[0]
        flash(f"{membership.user.name} has been added. You keep their plan for them.", "success")
        return redirect(url_for("people.member", cohort_id=cohort.id, membership_id=membership.id))
    status = 400 if request.method == "POST" else 200
    return render_template("people/managed_new.html", cohort=cohort, form=form), status


# --- invitations and links -----------------------------------------------------------------


@bp.post("/cohorts/<int:cohort_id>/invitations/<int:invitation_id>/resend")
@limiter.limit("100 per hour", key_func=lambda: f"resend:{getattr(current_user, 'id', 'anon')}")
@policy.signed_in
def resend_invitation(cohort_id: int, invitation_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    invitation = policy.load_invitation(current_user, cohort, invitation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if attempt(None, lambda: people.resend_invitation(invitation, actor=current_user,
                                                      links=_links())):
        flash(f"A new invitation has been sent to {invitation.email}.", "success")
    return redirect(request.form.get("back") if _local(request.form.get("back"))
                    else _roster_url(cohort)), 303


@bp.post("/cohorts/<int:cohort_id>/invitations/<int:invitation_id>/revoke")
@policy.signed_in
def revoke_invitation(cohort_id: int, invitation_id: int):
    cohort = policy.load_cohort(current_user, cohort_id)
    invitation = policy.load_invitation(current_user, cohort, invitation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if attempt(None, lambda: people.revoke_invitation(invitation, actor=current_user)):
        flash(f"The invitation to {invitation.email} has been withdrawn.", "success")
    back = request.form.get("back")
    return redirect(back if _local(back) else _roster_url(cohort)), 303


@bp.post("/cohorts/<int:cohort_id>/patron-links/<int:link_id>/end")
@policy.signed_in
def end_link(cohort_id: int, link_id: int):
    cohort = policy.load_cohort(current_user, cohort_id)
    link = policy.load_patron_link(current_user, cohort, link_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    people.end_patron_link(link, actor=current_user)
    db.session.commit()
    flash(f"{link.patron.name} is no longer {link.participant.name}'s patron.", "success")
    back = request.form.get("back")
    return redirect(back if _local(back) else url_for("core.index")), 303


def _local(target: str | None) -> bool:
    from dap.accounts.views import safe_next

    return safe_next(target) is not None


@bp.route("/cohorts/<int:cohort_id>/my-patrons", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"],
               key_func=lambda: f"own-patron:{getattr(current_user, 'id', 'anon')}")
@policy.signed_in
def my_patrons(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id)
    policy.require_participant(current_user, cohort)
    form = OwnPatronForm()
    sent: list[Invitation] = []
    if form.validate_on_submit() and attempt(form, lambda: sent.append(people.invite_own_patron(
            cohort=cohort, participant=current_user, email=form.email.data or "",
            name=form.name.data or "", links=_links()))):
        flash(f"Invitation sent to {sent[0].email}.", "success")
        return redirect(url_for("people.my_patrons", cohort_id=cohort.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "people/my_patrons.html", cohort=cohort, form=form,
        links=roster.patron_links_of(cohort, current_user),
        pending=roster.pending_patron_invitations(cohort, current_user),
        confirm=ConfirmForm(),
    ), status


# --- accepting an invitation -------------------------------------------------------------------


@bp.route("/join/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
@policy.public
def join(token: str):
    config = current_app.config
    try:
        invitation = people.invitation_for_token(token, secret_key=config["SECRET_KEY"])
    except people.InvitationError as error:
        status = 400 if error.code == "invalid" else 410
        return render_template("people/join_invalid.html", message=error.message), status
    user = people.invitee(invitation)
    cohort = invitation.cohort
    if current_user.is_authenticated:
        if (current_user.email or "").lower() != invitation.email.lower():
            return render_template("people/join_wrong_user.html", invitation=invitation), 403
        form = ConfirmForm()
        if request.method == "POST":
            if not form.validate_on_submit():
                abort(400)
            return _accept(invitation, current_user._get_current_object())
        return render_template("people/join.html", invitation=invitation, cohort=cohort,
                               form=form, setup=False)
    if not people.needs_account_setup(user):
        flash("You already have a DAP account: sign in to accept the invitation.", "info")
        return redirect(url_for("accounts.login", next=url_for("people.join", token=token)))
    form = JoinForm(name=user.name if user else "")
    if form.validate_on_submit():
        assert user is not None  # invitations create the account when they are sent
        try:
            people.set_up_invited_account(
                user, name=form.name.data or "", password=form.password.data or "",
                params=config["PASSWORD_HASH_PARAMS"] or HashParams())
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            return _accept(invitation, user, sign_in=True)
    status = 400 if request.method == "POST" else 200
    return render_template("people/join.html", invitation=invitation, cohort=cohort, form=form,
                           setup=True), status


def _accept(invitation, user, *, sign_in: bool = False):
    try:
        people.accept_invitation(invitation, user=user)
    except DomainError as error:
        db.session.rollback()
        return render_template("people/join_invalid.html", message=error.message), 409
    db.session.commit()
    if sign_in:
        sign_in_browser(user, remember=False)
    flash(f"Welcome to {invitation.cohort.name}!", "success")
    return redirect(_cohort_home(invitation.cohort))


def _cohort_home(cohort: Cohort) -> str:
    """The member page of a cohort, once the cohorts blueprint has one; else the dashboard."""
    if "cohorts.home" in current_app.view_functions:
        return url_for("cohorts.home", cohort_id=cohort.id)
    return url_for("core.index")
