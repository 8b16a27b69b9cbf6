"""A participant's own plan: the overview, adopting and writing goals, a goal's page,
check-ins, finishing, dropping and ordering goals. The rules live in dap.plans.services."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from dap import policy
from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.content.library import current_library
from dap.core.forms import ConfirmForm, apply_domain_error, attempt
from dap.errors import DomainError
from dap.extensions import db
from dap.plans import queries, services
from dap.plans.forms import (
    AdoptForm,
    CheckInForm,
    DoneForm,
    GoalForm,
    MoveForm,
    PauseForm,
    RhythmForm,
    StatusForm,
)
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal, Visibility

bp = Blueprint("plans", __name__)


# --- loading with scope -------------------------------------------------------------------------


def _my_cohort(cohort_id: int, *, write: bool = False) -> Cohort:
    """A cohort where the signed-in user is an active participant (else 404); archived
    cohorts are read-only (403 on writes)."""
    cohort = policy.load_cohort(current_user, cohort_id)
    policy.require_participant(current_user, cohort)
    if write and cohort.is_archived:
        abort(403)
    return cohort


def _my_plan(cohort_id: int, *, write: bool = False) -> tuple[Cohort, Plan]:
    cohort = _my_cohort(cohort_id, write=write)
    return cohort, services.plan_for(cohort, current_user._get_current_object())


def _my_goal(plan: Plan, goal_id: int) -> PlanGoal:
    """A goal of the signed-in user's plan; anyone else's goal is a 404."""
    goal = db.session.get(PlanGoal, goal_id)
    if goal is None or goal.plan_id != plan.id:
        abort(404)
    return goal


def _my_check_in(plan: Plan, check_in_id: int) -> CheckIn:
    entry = db.session.get(CheckIn, check_in_id)
    if entry is None or entry.plan_id != plan.id:
        abort(404)
    return entry


def _visibility(raw: str | None) -> Visibility:
    return Visibility(raw) if raw in {v.value for v in Visibility} else Visibility.PATRONS


def _goal_url(goal: PlanGoal, **anchor: str) -> str:
    return url_for("plans.goal", cohort_id=goal.plan.cohort_id, goal_id=goal.id, **anchor)


# --- the plan -----------------------------------------------------------------------------------


@bp.get("/cohorts/<int:cohort_id>/plan")
@policy.signed_in
def plan(cohort_id: int):
    cohort, my_plan = _my_plan(cohort_id)
    goals = queries.goals_of(my_plan)
    return render_template(
        "plans/plan.html", cohort=cohort, plan=my_plan, goals=goals,
        last_days=queries.last_check_in_days(my_plan) if goals else {},
        streak=services.streak(my_plan), week=services.this_week(my_plan),
        rhythm=describe_rhythm(my_plan), paused=services.is_paused(my_plan),
        move_form=MoveForm(), library=current_library(),
    )


@bp.post("/cohorts/<int:cohort_id>/plan/adopt")
@policy.signed_in
def adopt(cohort_id: int):
    cohort = _my_cohort(cohort_id, write=True)
    form = AdoptForm()
    library_goal = current_library().goals.get(form.slug.data or "")
    if library_goal is None:
        abort(404)
    chosen = form.cohort.data or ""
    if chosen and chosen != str(cohort.id):
        # several cohorts on the library page: a <select> cannot change the form's address
        # without JavaScript, so hand the same POST on to the chosen cohort (which checks it)
        if not chosen.isdigit() or len(chosen) > 12:
            abort(404)
        return redirect(url_for("plans.adopt", cohort_id=int(chosen)), code=307)
    if form.validate_on_submit():
        added = _add_goal(cohort, form, lambda plan, me: services.adopt_goal(
            plan, library_goal, actor=me, why=form.why.data or "",
            target_date=form.target_date.data, visibility=_visibility(form.visibility.data)))
        if added is not None:
            return added
    from dap.content.views import goal_page

    return goal_page(library_goal, adopt_form=form, status=400)


def _add_goal(cohort: Cohort, form: FlaskForm, make):
    """Add a goal with ``make(plan, me)`` and go to it; None (errors on the form) when a
    rule says no."""
    added: list[PlanGoal] = []
    me = current_user._get_current_object()
    if not attempt(form, lambda: added.append(make(services.plan_for(cohort, me), me))):
        return None
    flash(f"“{added[0].title}” is in your plan.", "success")
    return redirect(_goal_url(added[0]))


@bp.route("/cohorts/<int:cohort_id>/plan/goals/new", methods=["GET", "POST"])
@policy.signed_in
def new_goal(cohort_id: int):
    cohort = _my_cohort(cohort_id, write=request.method == "POST")
    form = GoalForm()
    if form.validate_on_submit():
        added = _add_goal(cohort, form, lambda plan, me: services.write_goal(
            plan, actor=me, title=form.title.data or "", why=form.why.data or "",
            target_date=form.target_date.data, visibility=_visibility(form.visibility.data)))
        if added is not None:
            return added
    status = 400 if request.method == "POST" else 200
    return render_template("plans/goal_new.html", cohort=cohort, form=form), status


# --- one goal -----------------------------------------------------------------------------------


def _goal_page(cohort: Cohort, goal: PlanGoal, *, status: int = 200, edit_form=None,
               check_in_form=None, done_form=None, status_form=None):
    library_goal = current_library().goals.get(goal.library_slug) if goal.library_slug else None
    edit_form = edit_form or GoalForm(
        prefix="edit", title=goal.title, why=goal.why, target_date=goal.target_date,
        visibility=goal.visibility.value, formdata=None)
    status_form = status_form or StatusForm(
        prefix="status", formdata=None,
        status=goal.status.value if goal.status is not GoalStatus.DONE else "active")
    done_form = done_form or DoneForm(prefix="done", formdata=None)
    for number, link in enumerate(done_form.evidence, start=1):
        link.label.text = f"Evidence link {number} (optional)"
    entries = queries.timeline(goal)
    return render_template(
        "plans/goal.html", cohort=cohort, goal=goal, library_goal=library_goal,
        entries=entries, editable={e.id for e in entries if services.can_edit_check_in(e)},
        edit_form=edit_form, check_in_form=check_in_form or CheckInForm(formdata=None),
        done_form=done_form,
        status_form=status_form, closed=goal.status in (GoalStatus.DONE, GoalStatus.DROPPED),
    ), status


def _goal_action(cohort_id: int, goal_id: int, *, form: FlaskForm, page_arg: str, act,
                 message, anchor: str | None = None):
    """What every form on a goal's page shares: load the goal in scope, validate, run the
    service (``act(goal)``), then go back to the goal with ``message(goal)`` flashed; or show
    the page again with the errors (400)."""
    cohort, my_plan = _my_plan(cohort_id, write=True)
    my_goal = _my_goal(my_plan, goal_id)
    if form.validate_on_submit() and attempt(form, lambda: act(my_goal)):
        flash(message(my_goal), "success")
        return redirect(_goal_url(my_goal, **({"_anchor": anchor} if anchor else {})))
    return _goal_page(cohort, my_goal, status=400, **{page_arg: form})


@bp.route("/cohorts/<int:cohort_id>/plan/goals/<int:goal_id>", methods=["GET", "POST"])
@policy.signed_in
def goal(cohort_id: int, goal_id: int):
    if request.method == "GET":
        cohort, my_plan = _my_plan(cohort_id)
        return _goal_page(cohort, _my_goal(my_plan, goal_id))
    form = GoalForm(prefix="edit")
    return _goal_action(
        cohort_id, goal_id, form=form, page_arg="edit_form", message=lambda g: "Saved.",
        act=lambda g: services.update_goal(
            g, title=form.title.data if g.library_slug is None else None,
            why=form.why.data or "", target_date=form.target_date.data,
            visibility=_visibility(form.visibility.data)),
    )


@bp.post("/cohorts/<int:cohort_id>/plan/goals/<int:goal_id>/check-ins")
@policy.signed_in
def check_in(cohort_id: int, goal_id: int):
    form = CheckInForm()
    return _goal_action(
        cohort_id, goal_id, form=form, page_arg="check_in_form", anchor="timeline",
        message=lambda g: "Checked in. Little and often — well done.",
        act=lambda g: services.check_in(
            g, actor=current_user._get_current_object(), progress=form.progress.data,
            minutes=form.minutes.data, note=form.note.data or ""),
    )


@bp.route("/cohorts/<int:cohort_id>/plan/check-ins/<int:check_in_id>/edit",
          methods=["GET", "POST"])
@policy.signed_in
def edit_check_in(cohort_id: int, check_in_id: int):
    cohort, my_plan = _my_plan(cohort_id, write=request.method == "POST")
    entry = _my_check_in(my_plan, check_in_id)
    form = CheckInForm(obj=entry) if request.method == "GET" else CheckInForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                services.edit_check_in(entry, progress=form.progress.data,
                                       minutes=form.minutes.data, note=form.note.data or "")
            except DomainError as error:
                db.session.rollback()
                apply_domain_error(form, error)
                # a field at fault is bad input; no field means the 24 hours are over
                status = 400 if error.field else 409
            else:
                db.session.commit()
                flash("Check-in updated.", "success")
                return redirect(_goal_url(entry.goal, _anchor="timeline"))
    return render_template("plans/check_in_edit.html", cohort=cohort, entry=entry,
                           goal=entry.goal, form=form,
                           can_edit=services.can_edit_check_in(entry)), status


@bp.post("/cohorts/<int:cohort_id>/plan/goals/<int:goal_id>/done")
@policy.signed_in
def done(cohort_id: int, goal_id: int):
    form = DoneForm(prefix="done")
    return _goal_action(
        cohort_id, goal_id, form=form, page_arg="done_form",
        message=lambda g: f"Done: “{g.title}”. Congratulations!",
        act=lambda g: services.complete_goal(g, reflection=form.reflection.data or "",
                                             evidence=[e.data or "" for e in form.evidence]),
    )


@bp.post("/cohorts/<int:cohort_id>/plan/goals/<int:goal_id>/status")
@policy.signed_in
def status(cohort_id: int, goal_id: int):
    form = StatusForm(prefix="status")
    return _goal_action(
        cohort_id, goal_id, form=form, page_arg="status_form",
        message=lambda g: "Status changed.",
        act=lambda g: services.set_status(g, status=GoalStatus(form.status.data),
                                          reason=form.reason.data or ""),
    )


@bp.post("/cohorts/<int:cohort_id>/plan/goals/<int:goal_id>/move")
@policy.signed_in
def move(cohort_id: int, goal_id: int):
    _, my_plan = _my_plan(cohort_id, write=True)
    my_goal = _my_goal(my_plan, goal_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    services.move_goal(my_goal, up=form.direction.data == "up")
    db.session.commit()
    return redirect(url_for("plans.plan", cohort_id=cohort_id, _anchor=f"goal-{my_goal.id}"),
                    code=303)



# --- rhythm and pausing -------------------------------------------------------------------------


def describe_rhythm(plan: Plan) -> str:
    """"Tuesday and Thursday at 12:30, 15 minutes" (or "" when no days are set)."""
    days = [services.WEEKDAYS[d] for d in plan.rhythm_days or []]
    if not days:
        return ""
    text = days[0] if len(days) == 1 else ", ".join(days[:-1]) + " and " + days[-1]
    if plan.rhythm_time:
        text += f" at {plan.rhythm_time}"
    return f"{text}, {plan.rhythm_minutes} minutes"


def _rhythm_page(cohort: Cohort, my_plan: Plan, *, rhythm: RhythmForm | None = None,
                 pause: PauseForm | None = None, status: int = 200):
    rhythm = rhythm or RhythmForm(days_per_week=my_plan.days_per_week,
                                  rhythm_days=my_plan.rhythm_days or [],
                                  rhythm_time=my_plan.rhythm_time,
                                  rhythm_minutes=my_plan.rhythm_minutes, formdata=None)
    return render_template("plans/rhythm.html", cohort=cohort, plan=my_plan, rhythm=rhythm,
                           pause=pause or PauseForm(formdata=None), confirm=ConfirmForm(),
                           paused=services.is_paused(my_plan)), status


@bp.route("/cohorts/<int:cohort_id>/plan/rhythm", methods=["GET", "POST"])
@policy.signed_in
def rhythm(cohort_id: int):
    cohort, my_plan = _my_plan(cohort_id, write=request.method == "POST")
    if request.method == "GET":
        return _rhythm_page(cohort, my_plan)
    form = RhythmForm()
    if form.validate_on_submit():
        try:
            services.set_rhythm(my_plan, days_per_week=form.days_per_week.data,
                                rhythm_days=list(form.rhythm_days.data or []),
                                rhythm_time=form.rhythm_time.data or "",
                                rhythm_minutes=form.rhythm_minutes.data)
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash("Your rhythm is saved.", "success")
            return redirect(url_for("plans.plan", cohort_id=cohort.id))
    return _rhythm_page(cohort, my_plan, rhythm=form, status=400)


@bp.post("/cohorts/<int:cohort_id>/plan/pause")
@policy.signed_in
def pause(cohort_id: int):
    cohort, my_plan = _my_plan(cohort_id, write=True)
    form = PauseForm()
    if form.validate_on_submit():
        try:
            services.pause_plan(my_plan, until=form.until.data, reason=form.reason.data or "")
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash("Your plan is paused. Your streak is kept; no reminders until you are back.",
                  "success")
            return redirect(url_for("plans.plan", cohort_id=cohort.id))
    return _rhythm_page(cohort, my_plan, pause=form, status=400)


@bp.post("/cohorts/<int:cohort_id>/plan/resume")
@policy.signed_in
def resume(cohort_id: int):
    cohort, my_plan = _my_plan(cohort_id, write=True)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.resume_plan(my_plan)
    db.session.commit()
    flash("Welcome back: your plan is running again.", "success")
    return redirect(url_for("plans.plan", cohort_id=cohort.id))


# --- printing -------------------------------------------------------------------------------------


@bp.get("/cohorts/<int:cohort_id>/plan/print")
@policy.signed_in
def print_mine(cohort_id: int):
    cohort = _my_cohort(cohort_id)
    sheets = queries.printable_plans(cohort, [current_user.id])
    return render_template("plans/print.html", cohort=cohort, sheets=sheets, whole_cohort=False,
                           describe_rhythm=describe_rhythm, now=now_utc())


@bp.get("/cohorts/<int:cohort_id>/plans/print")
@policy.signed_in
def print_cohort(cohort_id: int):
    """Every participant's plan, one page each: for supported-digital participants and
    for workshops."""
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    sheets = queries.printable_plans(cohort)
    return render_template("plans/print.html", cohort=cohort, sheets=sheets, whole_cohort=True,
                           describe_rhythm=describe_rhythm, now=now_utc())
