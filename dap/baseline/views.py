"""The skills baseline's pages.

A participant's own pages are ``/cohorts/<id>/baseline…``; the same pages at
``/cohorts/<id>/people/<membership_id>/baseline…`` are for the cohort's facilitators (who
answer on behalf of a managed participant) and the participant's patrons (who read the
summary, only while the participant shares it). Scope and roles come from
dap.plans.access, as for the plan itself. The facilitators' report, exports and
checkpoints are ``/cohorts/<id>/baseline/report`` and around. The rules live in
dap.baseline.services.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from dap import policy
from dap.baseline import profile as profiles
from dap.baseline import reports, services
from dap.baseline.forms import OpenCheckpointForm, ReopenCheckpointForm
from dap.baseline.models import Assessment, Checkpoint, CheckpointKind
from dap.clock import now_utc
from dap.content.baseline import Baseline, current_baseline
from dap.content.library import current_library
from dap.core.csv import csv_download, csv_stream
from dap.core.forms import ConfirmForm, attempt
from dap.errors import DomainError
from dap.extensions import db
from dap.plans import queries as plan_queries
from dap.plans.access import Role, Seat, load_seat, require

bp = Blueprint("baseline", __name__)


def seat_route(suffix: str, **options):
    """Register a page for one's own baseline and for someone else's (see the module)."""
    def decorator(view):
        bp.add_url_rule(f"/cohorts/<int:cohort_id>/baseline{suffix}", view_func=view,
                        defaults={"membership_id": None}, **options)
        bp.add_url_rule(f"/cohorts/<int:cohort_id>/people/<int:membership_id>/baseline{suffix}",
                        view_func=view, **options)
        return view
    return decorator


# --- loading with scope -----------------------------------------------------------------------


def _questionnaire() -> Baseline:
    """The questionnaire; a 503 page while content/baseline.md has a problem."""
    baseline = current_baseline()
    if not baseline.is_available:
        abort(503, description="The skills questionnaire is not available at the moment. "
                               "Please try again later; nothing you saved is lost.")
    return baseline


def _seat(cohort_id: int, membership_id: int | None) -> Seat:
    """The participant in scope (404 otherwise). A patron sees the summary only while the
    participant shares it: otherwise 404, as if there were nothing."""
    seat = load_seat(current_user._get_current_object(), cohort_id, membership_id)
    if seat.role is Role.PATRON and not seat.membership.baseline_shared:
        abort(404)
    return seat


def _writing(cohort_id: int, membership_id: int | None) -> Seat:
    """Answering: the participant, or a facilitator for a managed participant (403 for
    others who can see the summary)."""
    seat = _seat(cohort_id, membership_id)
    require(seat.can_write)
    return seat


def _checkpoint(seat: Seat, checkpoint_id: int) -> Checkpoint:
    checkpoint = db.session.get(Checkpoint, checkpoint_id)
    if checkpoint is None or checkpoint.cohort_id != seat.cohort.id:
        abort(404)
    return checkpoint


def _steps(baseline: Baseline) -> list[str]:
    """The pages of the questionnaire in order: one per area, then the questions."""
    return [*baseline.areas, "questions"]


def _step_url(seat: Seat, checkpoint: Checkpoint, step: str) -> str:
    if step == "questions":
        return seat.url("baseline.questions", checkpoint_id=checkpoint.id)
    if step == "review":
        return seat.url("baseline.review", checkpoint_id=checkpoint.id)
    return seat.url("baseline.area", checkpoint_id=checkpoint.id, slug=step)


def _after_save(seat: Seat, checkpoint: Checkpoint, baseline: Baseline, step: str):
    """Where the page's button leads: the next page, the one before, or the overview."""
    steps = _steps(baseline)
    where = request.form.get("go", "next")
    at = steps.index(step)
    if where == "later":
        flash("Saved. You can come back to it any time while it is open.", "success")
        return redirect(seat.url("baseline.overview"))
    if where == "back" and at > 0:
        return redirect(_step_url(seat, checkpoint, steps[at - 1]))
    following = steps[at + 1] if at + 1 < len(steps) else "review"
    return redirect(_step_url(seat, checkpoint, following))


def _status_of(error: DomainError) -> int:
    """A closed checkpoint is a conflict with the state of things; the rest is bad input."""
    return 409 if isinstance(error, services.CheckpointClosedError) else 400


# --- the participant's pages -----------------------------------------------------------------


@seat_route("", methods=["GET"])
@policy.signed_in
def overview(cohort_id: int, membership_id: int | None):
    seat = _seat(cohort_id, membership_id)
    baseline = _questionnaire()
    checkpoints = services.checkpoints_of(seat.cohort)
    taken = services.assessments_of(seat.cohort, seat.participant)
    ratings = services.rating_counts(list(taken.values()))
    found = profiles.profile(seat.cohort, seat.participant, baseline)
    suggested = []
    if seat.role is not Role.PATRON:
        suggested = profiles.suggestions(found, current_library(),
                                         plan_queries.library_slugs_in(seat.plan))
    db.session.commit()  # the baseline checkpoint, made on first need
    return render_template(
        "baseline/overview.html", seat=seat, cohort=seat.cohort, baseline=baseline,
        checkpoints=checkpoints, taken=taken, ratings=ratings, now=now_utc(),
        total=len(baseline.statements), profile=found, chart=profiles.chart(found),
        suggested=suggested, confirm=ConfirmForm())


@seat_route("/<int:checkpoint_id>", methods=["GET"])
@policy.signed_in
def take(cohort_id: int, membership_id: int | None, checkpoint_id: int):
    """Go on where one left off: the first page with a statement not yet rated."""
    seat = _writing(cohort_id, membership_id)
    checkpoint = _checkpoint(seat, checkpoint_id)
    baseline = _questionnaire()
    assessment = services.assessment_of(checkpoint, seat.participant)
    for step in services.progress(assessment, baseline):
        if not step.is_complete:
            return redirect(_step_url(seat, checkpoint, step.area.slug))
    return redirect(_step_url(seat, checkpoint, "questions" if assessment is None
                              or not assessment.is_submitted else "review"))


def _area_page(seat: Seat, checkpoint: Checkpoint, baseline: Baseline, slug: str, *,
               assessment: Assessment | None, values: dict[str, object] | None = None,
               errors: dict[str, str] | None = None, status: int = 200):
    area = baseline.areas[slug]
    steps = _steps(baseline)
    if values is None:
        values = services.ratings_of(assessment) if assessment is not None else {}
    return render_template(
        "baseline/area.html", seat=seat, cohort=seat.cohort, checkpoint=checkpoint,
        baseline=baseline, area=area, values=values, errors=errors or {},
        step=steps.index(slug) + 1, steps=len(steps), is_first=steps.index(slug) == 0,
        is_open=checkpoint.is_open(now_utc()), now=now_utc(), form=ConfirmForm(),
        field=services.RATING_FIELD), status


@seat_route("/<int:checkpoint_id>/areas/<slug>", methods=["GET", "POST"])
@policy.signed_in
def area(cohort_id: int, membership_id: int | None, checkpoint_id: int, slug: str):
    seat = _writing(cohort_id, membership_id)
    checkpoint = _checkpoint(seat, checkpoint_id)
    baseline = _questionnaire()
    if slug not in baseline.areas:
        abort(404)
    assessment = services.assessment_of(checkpoint, seat.participant)
    if request.method == "GET":
        return _area_page(seat, checkpoint, baseline, slug, assessment=assessment)
    form = ConfirmForm()
    prefix = services.RATING_FIELD.format("")
    raw = {key[len(prefix):]: value for key, value in request.form.items()
           if key.startswith(prefix)}
    if not form.validate_on_submit():
        return _area_page(seat, checkpoint, baseline, slug, assessment=assessment, values=raw,
                          errors={"": "The form had expired. Please choose again and save."},
                          status=400)
    try:
        assessment = services.start(checkpoint, seat.participant, actor=current_user)
        services.save_area(assessment, baseline.areas[slug], raw)
    except DomainError as error:
        db.session.rollback()
        return _area_page(seat, checkpoint, baseline, slug,
                          assessment=services.assessment_of(checkpoint, seat.participant),
                          values=raw, errors={error.field or "": error.message},
                          status=_status_of(error))
    db.session.commit()
    return _after_save(seat, checkpoint, baseline, slug)


def _questions_page(seat: Seat, checkpoint: Checkpoint, baseline: Baseline, *,
                    values: dict[str, tuple[str, list[str]]] | None = None,
                    errors: dict[str, str] | None = None, status: int = 200):
    assessment = services.assessment_of(checkpoint, seat.participant)
    if values is None:
        answers = services.answers_of(assessment) if assessment is not None else {}
        values = {qid: (a.text, a.choice_ids) for qid, a in answers.items()}
    steps = _steps(baseline)
    return render_template(
        "baseline/questions.html", seat=seat, cohort=seat.cohort, checkpoint=checkpoint,
        baseline=baseline, values=values, errors=errors or {}, step=len(steps),
        steps=len(steps), is_open=checkpoint.is_open(now_utc()), now=now_utc(), form=ConfirmForm(),
        text_field=services.TEXT_FIELD, choice_field=services.CHOICE_FIELD,
        answer_max=services.ANSWER_MAX), status


@seat_route("/<int:checkpoint_id>/questions", methods=["GET", "POST"])
@policy.signed_in
def questions(cohort_id: int, membership_id: int | None, checkpoint_id: int):
    seat = _writing(cohort_id, membership_id)
    checkpoint = _checkpoint(seat, checkpoint_id)
    baseline = _questionnaire()
    if request.method == "GET":
        return _questions_page(seat, checkpoint, baseline)
    raw = {q.id: (request.form.get(services.TEXT_FIELD.format(q.id), ""),
                  request.form.getlist(services.CHOICE_FIELD.format(q.id)))
           for q in baseline.questions.values()}
    if not ConfirmForm().validate_on_submit():
        return _questions_page(seat, checkpoint, baseline, values=raw, status=400, errors={
            "": "The form had expired. Please check your answers and save again."})
    try:
        assessment = services.start(checkpoint, seat.participant, actor=current_user)
        services.save_answers(assessment, baseline, raw)
    except DomainError as error:
        db.session.rollback()
        return _questions_page(seat, checkpoint, baseline, values=raw,
                               errors={error.field or "": error.message},
                               status=_status_of(error))
    db.session.commit()
    return _after_save(seat, checkpoint, baseline, "questions")


def _review_page(seat: Seat, checkpoint: Checkpoint, baseline: Baseline, *,
                 error: str = "", status: int = 200):
    assessment = services.assessment_of(checkpoint, seat.participant)
    ratings = services.ratings_of(assessment) if assessment is not None else {}
    answers = services.answers_of(assessment) if assessment is not None else {}
    return render_template(
        "baseline/review.html", seat=seat, cohort=seat.cohort, checkpoint=checkpoint,
        baseline=baseline, assessment=assessment, ratings=ratings,
        answered=sum(1 for a in answers.values() if a.text or a.choices),
        progress=services.progress(assessment, baseline, ratings), error=error,
        is_open=checkpoint.is_open(now_utc()), now=now_utc(), form=ConfirmForm()), status


@seat_route("/<int:checkpoint_id>/review", methods=["GET"])
@policy.signed_in
def review(cohort_id: int, membership_id: int | None, checkpoint_id: int):
    seat = _writing(cohort_id, membership_id)
    return _review_page(seat, _checkpoint(seat, checkpoint_id), _questionnaire())


@seat_route("/<int:checkpoint_id>/submit", methods=["POST"])
@policy.signed_in
def submit(cohort_id: int, membership_id: int | None, checkpoint_id: int):
    seat = _writing(cohort_id, membership_id)
    checkpoint = _checkpoint(seat, checkpoint_id)
    baseline = _questionnaire()
    if not ConfirmForm().validate_on_submit():
        return _review_page(seat, checkpoint, baseline, status=400,
                            error="The form had expired. Please send it again.")
    try:
        assessment = services.start(checkpoint, seat.participant, actor=current_user)
        services.submit(assessment, baseline)
    except DomainError as error:
        db.session.rollback()
        return _review_page(seat, checkpoint, baseline, error=error.message,
                            status=_status_of(error))
    db.session.commit()
    who = "Your" if seat.own else f"{seat.participant.name}’s"
    flash(f"{who} {checkpoint.label.lower()} is sent. Answers can still be changed until it "
          "closes.", "success")
    return redirect(seat.url("baseline.overview"))


def _own_membership(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id)
    return cohort, policy.require_participant(current_user, cohort)


@bp.post("/cohorts/<int:cohort_id>/baseline/skip")
@policy.signed_in
def skip(cohort_id: int):
    """"Not now" on the invitation: it is not shown again."""
    _, membership = _own_membership(cohort_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.skip(membership)
    db.session.commit()
    flash("No problem. The skills baseline is on your plan page whenever you want it.",
          "success")
    return redirect(url_for("plans.plan", cohort_id=cohort_id))


@bp.post("/cohorts/<int:cohort_id>/baseline/sharing")
@policy.signed_in
def sharing(cohort_id: int):
    _, membership = _own_membership(cohort_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    shared = request.form.get("shared") == "yes"
    services.set_shared(membership, shared)
    db.session.commit()
    flash("Your patrons can see your skills summary." if shared
          else "Your skills summary is now for you and your facilitators only.", "success")
    return redirect(url_for("baseline.overview", cohort_id=cohort_id))


# --- the facilitators' pages -------------------------------------------------------------------


def _team_filter() -> int | None:
    raw = request.args.get("team", "")
    return int(raw) if raw.isdecimal() and len(raw) <= 12 else None


def _closing_time(cohort, day) -> datetime | None:
    """The end of ``day`` in the cohort's time zone (the next midnight), in UTC."""
    if day is None:
        return None
    zone = ZoneInfo(cohort.timezone)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(
        now_utc().tzinfo)


def _report_page(cohort, *, open_form=None, status: int = 200):
    baseline = _questionnaire()
    team_id = _team_filter()
    report = reports.cohort_report(cohort, baseline, team_id=team_id)
    db.session.commit()  # the baseline checkpoint, made on first need
    return render_template(
        "baseline/report.html", cohort=cohort, baseline=baseline, report=report,
        needs=reports.needs_and_barriers(cohort, baseline, team_id=team_id), team_id=team_id,
        open_form=open_form or OpenCheckpointForm(), reopen_form=ReopenCheckpointForm(),
        confirm=ConfirmForm(), now=now_utc(),
        can_edit=policy.can_edit_cohort(current_user, cohort)), status


@bp.get("/cohorts/<int:cohort_id>/baseline/report")
@policy.signed_in
def report(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    return _report_page(cohort)


@bp.get("/cohorts/<int:cohort_id>/baseline/report.csv")
@policy.signed_in
def report_csv(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    baseline = _questionnaire()
    return csv_stream(reports.answers_rows(cohort, baseline, team_id=_team_filter()),
                      reports.answers_header(baseline),
                      f"dap-cohort-{cohort.id}-baseline-{now_utc().date()}.csv")


@bp.get("/cohorts/<int:cohort_id>/baseline/barriers.csv")
@policy.signed_in
def barriers_csv(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, manage=True)
    body = reports.barriers_csv(cohort, _questionnaire())
    return csv_download(body, f"dap-cohort-{cohort.id}-barriers-{now_utc().date()}.csv")


def _report_url(cohort_id: int) -> str:
    return url_for("baseline.report", cohort_id=cohort_id, _anchor="checkpoints")


@bp.post("/cohorts/<int:cohort_id>/baseline/checkpoints")
@policy.signed_in
def open_checkpoint(cohort_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    form = OpenCheckpointForm()
    if form.validate_on_submit() and attempt(form, lambda: services.open_checkpoint(
            cohort, CheckpointKind(form.kind.data), actor=current_user,
            closes_at=_closing_time(cohort, form.closes_on.data),
            link=url_for("baseline.overview", cohort_id=cohort.id))):
        flash("The checkpoint is open and every participant has been told.", "success")
        return redirect(_report_url(cohort.id))
    return _report_page(cohort, open_form=form, status=400)


def _managed_checkpoint(cohort_id: int, checkpoint_id: int):
    cohort = policy.load_cohort(current_user, cohort_id, edit=True)
    checkpoint = db.session.get(Checkpoint, checkpoint_id)
    if checkpoint is None or checkpoint.cohort_id != cohort.id:
        abort(404)
    return cohort, checkpoint


def _checkpoint_action(cohort, action, *, form=None, done: str):
    """Run a checkpoint change: back to the list with ``done`` flashed, or the report page
    again with the reason (400 for bad input, 409 when the checkpoint's state says no)."""
    if not (form or ConfirmForm()).validate_on_submit():
        for messages in (form.errors.values() if form is not None else []):
            for message in messages:
                flash(message, "error")
        return _report_page(cohort, status=400)
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _report_page(cohort, status=400 if error.field else 409)
    db.session.commit()
    flash(done, "success")
    return redirect(_report_url(cohort.id))


@bp.post("/cohorts/<int:cohort_id>/baseline/checkpoints/<int:checkpoint_id>/close")
@policy.signed_in
def close_checkpoint(cohort_id: int, checkpoint_id: int):
    cohort, checkpoint = _managed_checkpoint(cohort_id, checkpoint_id)
    return _checkpoint_action(
        cohort, lambda: services.close_checkpoint(checkpoint, actor=current_user),
        done=f"The {checkpoint.label.lower()} is closed; answers can no longer be changed.")


@bp.post("/cohorts/<int:cohort_id>/baseline/checkpoints/<int:checkpoint_id>/reopen")
@policy.signed_in
def reopen_checkpoint(cohort_id: int, checkpoint_id: int):
    cohort, checkpoint = _managed_checkpoint(cohort_id, checkpoint_id)
    form = ReopenCheckpointForm()
    return _checkpoint_action(
        cohort, lambda: services.reopen_checkpoint(
            checkpoint, actor=current_user, closes_at=_closing_time(cohort, form.closes_on.data)),
        form=form, done=f"The {checkpoint.label.lower()} is open again.")
