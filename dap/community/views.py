"""The cohort feed's pages (``/cohorts/<id>/feed…``): the feed with its filters, search
and pages, a post with its comments, and the actions on them. Open to the cohort's active
participants and managers (``services.can_use_feed``); everyone else gets 404, and so does a
post deleted, hidden from the viewer, or in another cohort. The rules live in
dap.community.services."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from dap import policy
from dap.community import queries, services
from dap.community.forms import CommentForm, PostForm, ReasonForm
from dap.community.models import KIND_LABELS, Comment, PostImage, PostKind, Report
from dap.content.render import render_markdown
from dap.core.forms import ConfirmForm, apply_domain_error, attempt
from dap.core.uploads import allows_upload
from dap.errors import DomainError
from dap.extensions import db, limiter
from dap.media import images, uploads
from dap.timecap.gate import not_a_page

bp = Blueprint("community", __name__)

#: posting and commenting, per person (generous for people, a wall for scripts)
WRITE_LIMIT = "60 per hour"
#: a post's request: its images (each up to dap.media.images.MAX_BYTES) and the text
UPLOAD_BYTES = services.IMAGES_MAX * images.MAX_BYTES + 1024 * 1024


def _me():
    return current_user._get_current_object()


def _cohort(cohort_id: int):
    """The cohort, if the viewer may use its feed (404 otherwise); whether they manage it."""
    cohort = policy.load_cohort(_me(), cohort_id)
    if not services.can_use_feed(_me(), cohort):
        abort(404)
    return cohort, policy.can_manage_cohort(_me(), cohort)


def _post(cohort, post_id: int, manager: bool):
    post = queries.visible_post(cohort, _me(), post_id, manager=manager)
    if post is None:
        abort(404)
    return post


def _comment(post, comment_id: int, manager: bool) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if (comment is None or comment.post_id != post.id or comment.deleted_at is not None
            or (comment.is_hidden and not manager and comment.author_id != _me().id)):
        abort(404)
    return comment


def _kind_filter() -> PostKind | None:
    raw = request.args.get("kind", "")
    try:
        return PostKind(raw) if raw else None
    except ValueError:
        return None


def _feed_page(cohort, manager: bool, *, form: PostForm | None = None, status: int = 200):
    kind = _kind_filter()
    search = request.args.get("q", "")[:queries.SEARCH_MAX]
    cursor = None
    raw = request.args.get("before", "")
    if raw:
        try:
            cursor = queries.Cursor.decode(raw)
        except DomainError as error:
            flash(error.message, "error")
            status = 400
    page = queries.feed(cohort, _me(), manager=manager, kind=kind, search=search, before=cursor)
    return render_template(
        "community/feed.html", cohort=cohort, page=page, form=form or PostForm(),
        kinds=KIND_LABELS, kind=kind, search=search, manager=manager, paged=cursor is not None,
        can_write=not cohort.is_archived), status


@bp.get("/cohorts/<int:cohort_id>/feed")
@policy.signed_in
def feed(cohort_id: int):
    cohort, manager = _cohort(cohort_id)
    return _feed_page(cohort, manager)


@bp.post("/cohorts/<int:cohort_id>/feed")
@limiter.limit(WRITE_LIMIT, key_func=lambda: f"feed:{getattr(current_user, 'id', 'anon')}")
@policy.signed_in
@allows_upload(UPLOAD_BYTES)
def new_post(cohort_id: int):
    cohort, manager = _cohort(cohort_id)
    form = PostForm()
    made = []
    files = [uploads.Upload(filename=f.filename or "", stream=f.stream)
             for f in (form.images.data or []) if f and f.filename]

    def create():
        made.append(services.create_post(
            cohort, _me(), kind=PostKind(form.kind.data), body=form.body.data,
            link_url=form.link_url.data, link_text=form.link_text.data))
        services.attach_images(made[0], files, form.image_description.data)

    if form.validate_on_submit() and attempt(form, create):
        flash("Posted to the cohort feed.", "success")
        return redirect(url_for("community.post", cohort_id=cohort.id, post_id=made[0].id))
    return _feed_page(cohort, manager, form=form, status=400)


def _post_page(cohort, post, manager: bool, *, comment_form=None, status: int = 200):
    return render_template(
        "community/post.html", cohort=cohort, post=post, manager=manager,
        html=render_markdown(post.body),
        comments=queries.thread(post, _me(), manager=manager),
        comment_form=comment_form or CommentForm(),
        can_edit=services.can_edit(post, _me()),
        kudos=queries.kudos_count(post), mine=services.has_kudos(post, _me()),
        images=queries.images_of([post.id]).get(post.id, []),
        can_write=not cohort.is_archived,
        can_edit_comment=lambda c: services.can_edit(c, _me())), status


@bp.get("/cohorts/<int:cohort_id>/feed/<int:post_id>")
@policy.signed_in
def post(cohort_id: int, post_id: int):
    cohort, manager = _cohort(cohort_id)
    return _post_page(cohort, _post(cohort, post_id, manager), manager)


@bp.route("/cohorts/<int:cohort_id>/feed/<int:post_id>/edit", methods=["GET", "POST"])
@policy.signed_in
def edit(cohort_id: int, post_id: int):
    cohort, manager = _cohort(cohort_id)
    found = _post(cohort, post_id, manager)
    if found.author_id != _me().id:
        abort(404)  # someone else's post: as if there were no such page
    form = PostForm(obj=found) if request.method == "GET" else PostForm()
    return _edit_page(
        found, form, lambda: services.edit_post(
            found, _me(), cohort, kind=PostKind(form.kind.data), body=form.body.data,
            link_url=form.link_url.data, link_text=form.link_text.data),
        done="Post updated.", to=url_for("community.post", cohort_id=cohort.id,
                                         post_id=found.id),
        template="community/edit.html", cohort=cohort, post=found)


def _edit_page(item, form, change, *, done: str, to: str, template: str, **context):
    """An author's edit page for a post or comment: saved and back to ``to``, or the form
    again with why (409 once the editing window has passed, 400 for bad input)."""
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                change()
            except DomainError as error:
                db.session.rollback()
                apply_domain_error(form, error)
                status = 409 if error.code == "too_late" else 400
            else:
                db.session.commit()
                flash(done, "success")
                return redirect(to)
    return render_template(template, form=form, can_edit=services.can_edit(item, _me()),
                           **context), status


def _action(cohort, post, manager: bool, action, *, done: str, form=None, anchor: str = ""):
    """Run a button's action on a post page: back to the post with ``done`` flashed, or
    the post page again with the reason (409 when the state says no, 400 otherwise)."""
    if not (form or ConfirmForm()).validate_on_submit():
        for messages in (form.errors.values() if form is not None else [["The form had "
                         "expired. Please try again."]]):
            for message in messages:
                flash(message, "error")
        return _post_page(cohort, post, manager, status=400)
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        status = 409 if error.code in ("already", "too_late") else 400
        return _post_page(cohort, post, manager, status=status)
    db.session.commit()
    if done:
        flash(done, "success")
    return redirect(url_for("community.post", cohort_id=cohort.id, post_id=post.id,
                            _anchor=anchor or None))


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/delete")
@policy.signed_in
def delete(cohort_id: int, post_id: int):
    cohort, manager = _cohort(cohort_id)
    found = _post(cohort, post_id, manager)
    if found.author_id != _me().id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.delete_post(found, _me())
    db.session.commit()
    flash("Your post is deleted.", "success")
    return redirect(url_for("community.feed", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/kudos")
@policy.signed_in
def kudos(cohort_id: int, post_id: int):
    cohort, manager = _cohort(cohort_id)
    found = _post(cohort, post_id, manager)
    take_back = request.form.get("take_back") == "yes"
    return _action(cohort, found, manager,
                   (lambda: services.take_back_kudos(found, _me())) if take_back
                   else (lambda: services.give_kudos(found, _me(), cohort)),
                   done="", anchor="kudos")


def _toggle(cohort_id: int, post_id: int, field: str, change, *, on: str, off: str,
            managers_only: bool = False):
    """A button that switches something about a post on, or off when the form sends
    ``<field>=no``: ``change(cohort, post, on)`` applies the service's rule."""
    cohort, manager = _cohort(cohort_id)
    if managers_only and not manager:
        abort(404)
    found = _post(cohort, post_id, manager)
    switch_on = request.form.get(field) != "no"
    return _action(cohort, found, manager, lambda: change(cohort, found, switch_on),
                   done=on if switch_on else off)


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/answered")
@policy.signed_in
def answered(cohort_id: int, post_id: int):
    return _toggle(cohort_id, post_id, "answered", lambda cohort, post, on: services.mark_answered(
        post, _me(), cohort, answered=on),
        on="Marked as answered.", off="Marked as not answered yet.")


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/story")
@policy.signed_in
def story(cohort_id: int, post_id: int):
    return _toggle(cohort_id, post_id, "story", lambda cohort, post, on: services.mark_story(
        post, _me(), cohort, story=on),
        on="Marked as a success story.", off="No longer a success story.")


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/feature")
@policy.signed_in
def feature(cohort_id: int, post_id: int):
    return _toggle(cohort_id, post_id, "featured", lambda cohort, post, on: services.feature(
        post, _me(), cohort, featured=on),
        on="Featured on the cohort's page.", off="No longer featured.", managers_only=True)


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/share-across")
@policy.signed_in
def share_across(cohort_id: int, post_id: int):
    return _toggle(cohort_id, post_id, "shared", lambda cohort, post, on: services.share_across(
        post, _me(), cohort, shared=on),
        on="The other cohorts of your organisation can read your story.",
        off="Only this cohort sees it now.")


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/comments")
@limiter.limit(WRITE_LIMIT, key_func=lambda: f"feed:{getattr(current_user, 'id', 'anon')}")
@policy.signed_in
def comment(cohort_id: int, post_id: int):
    cohort, manager = _cohort(cohort_id)
    found = _post(cohort, post_id, manager)
    form = CommentForm()
    made = []
    if form.validate_on_submit() and attempt(form, lambda: made.append(
            services.add_comment(found, _me(), cohort, form.body.data))):
        return redirect(url_for("community.post", cohort_id=cohort.id, post_id=found.id,
                                _anchor=f"comment-{made[0].id}"))
    return _post_page(cohort, found, manager, comment_form=form, status=400)


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/comments/<int:comment_id>/delete")
@policy.signed_in
def delete_comment(cohort_id: int, post_id: int, comment_id: int):
    cohort, manager = _cohort(cohort_id)
    found = _post(cohort, post_id, manager)
    item = _comment(found, comment_id, manager)
    if item.author_id != _me().id:
        abort(404)
    return _action(cohort, found, manager, lambda: services.delete_comment(item, _me()),
                   done="Your comment is deleted.", anchor="comments")


def _moderate(cohort_id: int, post_id: int, comment_id: int | None, verb: str):
    cohort, manager = _cohort(cohort_id)
    if not manager:
        abort(404)
    found = _post(cohort, post_id, manager)
    item = _comment(found, comment_id, manager) if comment_id is not None else found
    what = "comment" if comment_id is not None else "post"
    if verb == "hide":
        form = ReasonForm()
        return _action(cohort, found, manager,
                       lambda: services.hide(item, _me(), cohort, form.reason.data),
                       form=form, done=f"The {what} is hidden; its author sees why.")
    return _action(cohort, found, manager, lambda: services.unhide(item, _me(), cohort),
                   done=f"The {what} is shown again.")


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/hide")
@policy.signed_in
def hide_post(cohort_id: int, post_id: int):
    return _moderate(cohort_id, post_id, None, "hide")


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/show")
@policy.signed_in
def show_post(cohort_id: int, post_id: int):
    return _moderate(cohort_id, post_id, None, "show")


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/comments/<int:comment_id>/hide")
@policy.signed_in
def hide_comment(cohort_id: int, post_id: int, comment_id: int):
    return _moderate(cohort_id, post_id, comment_id, "hide")


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/comments/<int:comment_id>/show")
@policy.signed_in
def show_comment(cohort_id: int, post_id: int, comment_id: int):
    return _moderate(cohort_id, post_id, comment_id, "show")


def _report(cohort_id: int, post_id: int, comment_id: int | None):
    cohort, manager = _cohort(cohort_id)
    found = _post(cohort, post_id, manager)
    item = _comment(found, comment_id, manager) if comment_id is not None else found
    form = ReasonForm()
    return _action(cohort, found, manager,
                   lambda: services.report(item, _me(), cohort, form.reason.data), form=form,
                   done="Thank you. The cohort's facilitators will look at it.")


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/report")
@policy.signed_in
def report_post(cohort_id: int, post_id: int):
    return _report(cohort_id, post_id, None)


@bp.post("/cohorts/<int:cohort_id>/feed/<int:post_id>/comments/<int:comment_id>/report")
@policy.signed_in
def report_comment(cohort_id: int, post_id: int, comment_id: int):
    return _report(cohort_id, post_id, comment_id)


@bp.get("/cohorts/<int:cohort_id>/feed/reports")
@policy.signed_in
def reports(cohort_id: int):
    cohort = policy.load_cohort(_me(), cohort_id, manage=True)
    return render_template("community/reports.html", cohort=cohort,
                           reports=queries.open_reports(cohort))


@bp.post("/cohorts/<int:cohort_id>/feed/reports/<int:report_id>/dismiss")
@policy.signed_in
def dismiss_report(cohort_id: int, report_id: int):
    cohort = policy.load_cohort(_me(), cohort_id, manage=True)
    found = db.session.get(Report, report_id)
    if found is None or found.cohort_id != cohort.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.dismiss_report(found, _me())
    except DomainError as error:
        abort(409, description=error.message)
    db.session.commit()
    flash("Report closed; the post or comment stays as it is.", "success")
    return redirect(url_for("community.reports", cohort_id=cohort.id))


@bp.route("/cohorts/<int:cohort_id>/feed/<int:post_id>/comments/<int:comment_id>/edit",
          methods=["GET", "POST"])
@policy.signed_in
def edit_comment(cohort_id: int, post_id: int, comment_id: int):
    cohort, manager = _cohort(cohort_id)
    found = _post(cohort, post_id, manager)
    item = _comment(found, comment_id, manager)
    if item.author_id != _me().id:
        abort(404)
    form = CommentForm(obj=item) if request.method == "GET" else CommentForm()
    return _edit_page(
        item, form, lambda: services.edit_comment(item, _me(), cohort, form.body.data),
        done="Comment updated.", to=url_for("community.post", cohort_id=cohort.id,
                                            post_id=found.id, _anchor=f"comment-{item.id}"),
        template="community/edit_comment.html", cohort=cohort, post=found, comment=item)


@bp.get("/cohorts/<int:cohort_id>/stories")
@policy.signed_in
def stories(cohort_id: int):
    cohort, manager = _cohort(cohort_id)
    return render_template("community/stories.html", cohort=cohort,
                           stories=queries.stories(cohort), manager=manager)


@bp.get("/cohorts/<int:cohort_id>/feed/contributors")
@policy.signed_in
def contributors(cohort_id: int):
    cohort, manager = _cohort(cohort_id)
    if not cohort.is_volunteer:
        abort(404)
    return render_template("community/contributors.html", cohort=cohort,
                           contributors=queries.contributors(cohort), manager=manager,
                           me=policy.active_membership(_me(), cohort.id))


@bp.post("/cohorts/<int:cohort_id>/feed/volunteer")
@policy.signed_in
def volunteer(cohort_id: int):
    cohort = policy.load_cohort(_me(), cohort_id)
    membership = policy.require_participant(_me(), cohort)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    yes = request.form.get("volunteer") != "no"
    services.set_volunteer(membership, yes)
    db.session.commit()
    flash("Thank you for volunteering to share as you go." if yes
          else "You are no longer listed as a volunteer sharer.", "success")
    return redirect(url_for("community.contributors", cohort_id=cohort.id)
                    if cohort.is_volunteer else url_for("community.feed", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/plan/goals/<int:goal_id>/share")
@limiter.limit(WRITE_LIMIT, key_func=lambda: f"feed:{getattr(current_user, 'id', 'anon')}")
@policy.signed_in
def share_goal(cohort_id: int, goal_id: int):
    """One click on a finished goal's page: it becomes a success story in the feed."""
    from dap.plans.models import PlanGoal

    cohort = policy.load_cohort(_me(), cohort_id)
    policy.require_participant(_me(), cohort)
    goal = db.session.get(PlanGoal, goal_id)
    if goal is None or goal.plan.participant_id != _me().id or goal.plan.cohort_id != cohort.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        made = services.share_goal(goal, _me(), cohort)
    except DomainError as error:
        db.session.rollback()
        abort(400, description=error.message)
    db.session.commit()
    flash("Shared with your cohort as a success story. You can change the words for 24 hours.",
          "success")
    return redirect(url_for("community.post", cohort_id=cohort.id, post_id=made.id))


@bp.get("/cohorts/<int:cohort_id>/feed/<int:post_id>/images/<int:image_id>",
        defaults={"variant": "image"})
@bp.get("/cohorts/<int:cohort_id>/feed/<int:post_id>/images/<int:image_id>/thumb",
        defaults={"variant": "thumb"}, endpoint="thumb")
@policy.signed_in
@not_a_page
def image(cohort_id: int, post_id: int, image_id: int, variant: str):
    """A post's image or its thumbnail, to the people who may see the post."""
    cohort, manager = _cohort(cohort_id)
    found = _post(cohort, post_id, manager)
    item = db.session.get(PostImage, image_id)
    if item is None or item.post_id != found.id:
        abort(404)
    response = uploads.send_image(item.key, item.format, thumb=variant == "thumb",
                                  download_name=f"post-{found.id}-image-{item.id}")
    if response is None:
        abort(404)
    return response
