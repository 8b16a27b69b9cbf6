"""A participant's plan, seen by them or by someone who looks after it (see
dap.plans.access): the overview, adopting and writing goals, a goal's page, check-ins,
finishing, dropping and ordering goals, rhythm and pauses, printing. The rules live in
dap.plans.services."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from dap import policy
from dap.accounts.models import User
from dap.baseline.services import prompt_for as skills_prompt
from dap.clock import now_utc
from dap.content.library import current_library
from dap.core.forms import ConfirmForm, apply_domain_error, attempt
from dap.errors import DomainError
from dap.extensions import db
from dap.plans import patrons, queries, services
from dap.plans.access import Role, Seat, load_seat, require
from dap.plans.forms import (
    AdoptForm,
    CheckInForm,
    DoneForm,
    GoalForm,
    MoveForm,
    PauseForm,
    PickForm,
    RhythmForm,
    StatusForm,
)
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal, Visibility
from dap.support import sessions as support_sessions
from dap.timecap.chart import weekly_chart
from dap.timecap.queries import weekly_history

bp = Blueprint("plans", __name__)


def plan_route(suffix: str, **options):
    """Register a plan page twice: ``/cohorts/<id>/plan…`` for one's own plan and
    ``/cohorts/<id>/people/<membership_id>/plan…`` for someone else's (see
    dap.plans.access)."""
    def decorator(view):
        bp.add_url_rule(f"/cohorts/<int:cohort_id>/plan{suffix}", view_func=view,
                        defaults={"membership_id": None}, **options)
        bp.add_url_rule(f"/cohorts/<int:cohort_id>/people/<int:membership_id>/plan{suffix}",
                        view_func=view, **options)
        return view
    return decorator


# --- loading with scope -------------------------------------------------------------------------


def _me() -> User:
    return current_user._get_current_object()


def _seat(cohort_id: int, membership_id: int | None, *, allowed=None) -> Seat:
    """The plan in scope (404 otherwise); ``allowed(seat)`` false is a 403: the viewer sees
    the plan but may not do that (a patron adding a check-in, any write when archived)."""
    seat = load_seat(_me(), cohort_id, membership_id)
    if allowed is not None:
        require(allowed(seat))
    return seat


def _writing(cohort_id: int, membership_id: int | None) -> Seat:
    return _seat(cohort_id, membership_id, allowed=lambda s: s.can_write)


def _goal_of(seat: Seat, goal_id: int) -> PlanGoal:
    """A goal of the seat's plan that the viewer may see; anything else is a 404."""
    goal = db.session.get(PlanGoal, goal_id)
    if goal is None or goal.plan_id != seat.plan.id or not seat.sees(goal):
        abort(404)
    return goal


def _check_in_of(seat: Seat, check_in_id: int) -> CheckIn:
    entry = db.session.get(CheckIn, check_in_id)
    if entry is None or entry.plan_id != seat.plan.id or not seat.sees(entry.goal):
        abort(404)
    return entry


def _visibility(raw: str | None) -> Visibility:
    return Visibility(raw) if raw in {v.value for v in Visibility} else Visibility.PATRONS


def _goal_url(seat: Seat, goal: PlanGoal, **anchor: str) -> str:
    return seat.url("plans.goal", goal_id=goal.id, **anchor)


# --- the plan -----------------------------------------------------------------------------------


@plan_route("", methods=["GET"])
@policy.signed_in
def plan(cohort_id: int, membership_id: int | None):
    seat = _seat(cohort_id, membership_id)
    goals = [g for g in queries.goals_of(seat.plan) if seat.sees(g)]
    last_days = queries.last_check_in_days(seat.plan) if goals else {}
    week = services.this_week(seat.plan)
    library = current_library()
    return render_template(
        "plans/plan.html", seat=seat, cohort=seat.cohort, plan=seat.plan, goals=goals,
        last_days=last_days, streak=services.streak(seat.plan), week=week,
        rhythm=describe_rhythm(seat.plan), paused=services.is_paused(seat.plan),
        next_step=services.next_step(seat.plan, goals, last_days=last_days, week=week,
                                     library=library),
        move_form=MoveForm(), library=library,
        time_chart=weekly_chart(weekly_history(seat.participant.id, seat.cohort),
                                weekly_cap=seat.cohort.platform_minutes_per_week,
                                shows_platform=not seat.participant.is_managed),
        # a patron reads the action points of 1:1 sessions the participant shares with them
        shared_points=support_sessions.points_of_participant(
            seat.cohort.id, seat.participant.id, shared_only=True)
        if seat.role is Role.PATRON else [],
        # someone else's plan: their latest activity (or silence) and what is coming up
        outlook=patrons.outlook_of(seat),
        skills=skills_prompt(seat.membership) if seat.can_write else None,
    )


@plan_route("/adopt", methods=["POST"])
@policy.signed_in
def adopt(cohort_id: int, membership_id: int | None):
    picked = "pick-slug" in request.form
    form = PickForm(prefix="pick") if picked else AdoptForm()
    chosen = "" if picked else form.cohort.data or ""
    if chosen and chosen != str(cohort_id) and membership_id is None:
        # several cohorts on the library page: a <select> cannot change the form's address
        # without JavaScript, so hand the same POST on to the chosen cohort (which checks it)
        if not chosen.isdigit() or len(chosen) > 12:
            abort(404)
        return redirect(url_for("plans.adopt", cohort_id=int(chosen)), code=307)
    seat = _writing(cohort_id, membership_id)
    library_goal = current_library().goals.get(form.slug.data or "")
    if library_goal is None and not picked:
        abort(404)
    if library_goal is None:
        form.validate_on_submit()
        form.slug.errors = ["Choose a goal from the list."]
    elif form.validate_on_submit():
        added = _add_goal(seat, form, lambda: services.adopt_goal(
            seat.plan, library_goal, actor=_me(), why=form.why.data or "",
            target_date=form.target_date.data, visibility=_visibility(form.visibility.data)))
        if added is not None:
            return added
    if seat.own and not picked:
        from dap.content.views import goal_page

        return goal_page(library_goal, adopt_form=form, status=400)
    return _new_goal_page(seat, pick_form=form, status=400)


def _add_goal(seat: Seat, form: FlaskForm, make):
    """Add a goal with ``make()`` and go to it; None (errors on the form) when a rule says
    no."""
    added: list[PlanGoal] = []
    if not attempt(form, lambda: added.append(make())):
        return None
    whose = "your" if seat.own else f"{seat.participant.name}’s"
    flash(f"“{added[0].title}” is in {whose} plan.", "success")
    return redirect(_goal_url(seat, added[0]))


def _new_goal_page(seat: Seat, *, form: GoalForm | None = None, pick_form=None,
                   status: int = 200):
    library = current_library()
    taken = queries.library_slugs_in(seat.plan)
    pick_form = pick_form or PickForm(prefix="pick", formdata=None)
    pick_form.slug.choices = [SelectChoice("", "Choose a goal…")] + [
        SelectChoice(goal.slug, goal.title, optgroup=area.name)
        for area in library.areas.values() for goal in library.goals_in(area.slug)
        if goal.slug not in taken
    ]
    return render_template("plans/goal_new.html", seat=seat, cohort=seat.cohort,
                           form=form or GoalForm(formdata=None), pick_form=pick_form), status


@plan_route("/goals/new", methods=["GET", "POST"])
@policy.signed_in
def new_goal(cohort_id: int, membership_id: int | None):
    seat = _writing(cohort_id, membership_id)
    form = GoalForm()
    if form.validate_on_submit():
        added = _add_goal(seat, form, lambda: services.write_goal(
            seat.plan, actor=_me(), title=form.title.data or "", why=form.why.data or "",
            target_date=form.target_date.data, visibility=_visibility(form.visibility.data)))
        if added is not None:
            return added
    return _new_goal_page(seat, form=form if request.method == "POST" else None,
                          status=400 if request.method == "POST" else 200)


# --- one goal -----------------------------------------------------------------------------------


def _goal_page(seat: Seat, goal: PlanGoal, *, status: int = 200, edit_form=None,
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
    page = queries.timeline(goal, before=_timeline_cursor(goal))
    return render_template(
        "plans/goal.html", seat=seat, cohort=seat.cohort, goal=goal, library_goal=library_goal,
        entries=page.entries, older=page.older, newer=page.newer,
        editable={e.id for e in page.entries if services.can_edit_check_in(e)},
        edit_form=edit_form, check_in_form=check_in_form or CheckInForm(formdata=None),
        done_form=done_form,
        status_form=status_form, closed=goal.status in (GoalStatus.DONE, GoalStatus.DROPPED),
        csrf_form=ConfirmForm(),
    ), status


def _timeline_cursor(goal: PlanGoal) -> CheckIn | None:
    """``?before=<check-in id>``: the older page of a goal's timeline (404 for an id that is
    not one of this goal's check-ins)."""
    raw = request.args.get("before", "")
    if not raw:
        return None
    entry = db.session.get(CheckIn, int(raw)) if raw.isdigit() and len(raw) <= 10 else None
    if entry is None or entry.goal_id != goal.id:
        abort(404)
    return entry


def _goal_action(cohort_id: int, membership_id: int | None, goal_id: int, *,
                 form: FlaskForm, page_arg: str, act, message, anchor: str | None = None):
    """What every form on a goal's page shares: load the goal in scope, validate, run the
    service (``act(goal)``), then go back to the goal with ``message(goal)`` flashed; or show
    the page again with the errors (400)."""
    seat = _writing(cohort_id, membership_id)
    goal = _goal_of(seat, goal_id)
    if form.validate_on_submit() and attempt(form, lambda: act(goal)):
        flash(message(goal), "success")
        return redirect(_goal_url(seat, goal, **({"_anchor": anchor} if anchor else {})))
    return _goal_page(seat, goal, status=400, **{page_arg: form})


@plan_route("/goals/<int:goal_id>", methods=["GET", "POST"])
@policy.signed_in
def goal(cohort_id: int, membership_id: int | None, goal_id: int):
    if request.method == "GET":
        seat = _seat(cohort_id, membership_id)
        return _goal_page(seat, _goal_of(seat, goal_id))
    form = GoalForm(prefix="edit")
    return _goal_action(
        cohort_id, membership_id, goal_id, form=form, page_arg="edit_form",
        message=lambda g: "Saved.",
        act=lambda g: services.update_goal(
            g, title=form.title.data if g.library_slug is None else None,
            why=form.why.data or "", target_date=form.target_date.data,
            visibility=_visibility(form.visibility.data)),
    )


@plan_route("/goals/<int:goal_id>/check-ins", methods=["POST"])
@policy.signed_in
def check_in(cohort_id: int, membership_id: int | None, goal_id: int):
    form = CheckInForm()
    return _goal_action(
        cohort_id, membership_id, goal_id, form=form, page_arg="check_in_form",
        anchor="timeline", message=lambda g: "Checked in. Little and often — well done.",
        act=lambda g: services.check_in(
            g, actor=_me(), progress=form.progress.data, minutes=form.minutes.data,
            note=form.note.data or ""),
    )


@plan_route("/check-ins/<int:check_in_id>/edit", methods=["GET", "POST"])
@policy.signed_in
def edit_check_in(cohort_id: int, membership_id: int | None, check_in_id: int):
    seat = _writing(cohort_id, membership_id)
    entry = _check_in_of(seat, check_in_id)
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
                return redirect(_goal_url(seat, entry.goal, _anchor="timeline"))
    return render_template("plans/check_in_edit.html", seat=seat, cohort=seat.cohort,
                           entry=entry, goal=entry.goal, form=form,
                           can_edit=services.can_edit_check_in(entry)), status


@plan_route("/goals/<int:goal_id>/done", methods=["POST"])
@policy.signed_in
def done(cohort_id: int, membership_id: int | None, goal_id: int):
    form = DoneForm(prefix="done")
    return _goal_action(
        cohort_id, membership_id, goal_id, form=form, page_arg="done_form",
        message=lambda g: f"Done: “{g.title}”. Congratulations!",
        act=lambda g: services.complete_goal(g, actor=_me(),
                                             reflection=form.reflection.data or "",
                                             evidence=[e.data or "" for e in form.evidence]),
    )


@plan_route("/goals/<int:goal_id>/status", methods=["POST"])
@policy.signed_in
def status(cohort_id: int, membership_id: int | None, goal_id: int):
    form = StatusForm(prefix="status")
    return _goal_action(
        cohort_id, membership_id, goal_id, form=form, page_arg="status_form",
        message=lambda g: "Status changed.",
        act=lambda g: services.set_status(g, status=GoalStatus(form.status.data),
                                          reason=form.reason.data or ""),
    )


@plan_route("/goals/<int:goal_id>/move", methods=["POST"])
@policy.signed_in
def move(cohort_id: int, membership_id: int | None, goal_id: int):
    seat = _writing(cohort_id, membership_id)
    goal = _goal_of(seat, goal_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    services.move_goal(goal, up=form.direction.data == "up")
    db.session.commit()
    return redirect(seat.url("plans.plan", _anchor=f"goal-{goal.id}"), code=303)


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


def _rhythm_page(seat: Seat, *, rhythm: RhythmForm | None = None,
                 pause: PauseForm | None = None, status: int = 200):
    plan = seat.plan
    rhythm = rhythm or RhythmForm(days_per_week=plan.days_per_week,
                                  rhythm_days=plan.rhythm_days or [],
                                  rhythm_time=plan.rhythm_time,
                                  rhythm_minutes=plan.rhythm_minutes, formdata=None)
    return render_template("plans/rhythm.html", seat=seat, cohort=seat.cohort, plan=plan,
                           rhythm=rhythm, pause=pause or PauseForm(formdata=None),
                           confirm=ConfirmForm(), paused=services.is_paused(plan)), status


@plan_route("/rhythm", methods=["GET", "POST"])
@policy.signed_in
def rhythm(cohort_id: int, membership_id: int | None):
    if request.method == "GET":
        return _rhythm_page(_seat(cohort_id, membership_id,
                                  allowed=lambda s: s.own or s.can_pause))
    seat = _writing(cohort_id, membership_id)
    form = RhythmForm()
    if form.validate_on_submit() and attempt(form, lambda: services.set_rhythm(
            seat.plan, days_per_week=form.days_per_week.data,
            rhythm_days=list(form.rhythm_days.data or []),
            rhythm_time=form.rhythm_time.data or "", rhythm_minutes=form.rhythm_minutes.data)):
        flash("The rhythm is saved.", "success")
        return redirect(seat.url("plans.plan"))
    return _rhythm_page(seat, rhythm=form, status=400)


@plan_route("/pause", methods=["POST"])
@policy.signed_in
def pause(cohort_id: int, membership_id: int | None):
    seat = _seat(cohort_id, membership_id, allowed=lambda s: s.can_pause)
    form = PauseForm()
    if form.validate_on_submit() and attempt(form, lambda: services.pause_plan(
            seat.plan, actor=_me(), until=form.until.data, reason=form.reason.data or "")):
        flash("The plan is paused. The streak is kept; no reminders until the pause ends.",
              "success")
        return redirect(seat.url("plans.plan"))
    return _rhythm_page(seat, pause=form, status=400)


@plan_route("/resume", methods=["POST"])
@policy.signed_in
def resume(cohort_id: int, membership_id: int | None):
    seat = _seat(cohort_id, membership_id, allowed=lambda s: s.can_pause)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.resume_plan(seat.plan, actor=_me())
    db.session.commit()
    flash("Welcome back: the plan is running again.", "success")
    return redirect(seat.url("plans.plan"))


# --- printing -------------------------------------------------------------------------------------


@plan_route("/print", methods=["GET"])
@policy.signed_in
def print_mine(cohort_id: int, membership_id: int | None):
    """One participant's plan on a page: their own, or printed by a facilitator (a patron
    sees the plan on screen, without the "only me" goals)."""
    seat = _seat(cohort_id, membership_id, allowed=lambda s: s.role is not Role.PATRON)
    sheets = queries.printable_plans(seat.cohort, [seat.participant.id])
    return render_template("plans/print.html", seat=seat, cohort=seat.cohort, sheets=sheets,
                           whole_cohort=False, describe_rhythm=describe_rhythm, now=now_utc())


@bp.get("/cohorts/<int:cohort_id>/plans/print")
@policy.signed_in
def print_cohort(cohort_id: int):
    """Every participant's plan, one page each: for supported-digital participants and
    for workshops."""
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    sheets = queries.printable_plans(cohort)
    return render_template("plans/print.html", cohort=cohort, sheets=sheets, whole_cohort=True,
                           describe_rhythm=describe_rhythm, now=now_utc())
from dap.plans import endorsement_views, patron_views, review_views  # noqa: E402,F401
