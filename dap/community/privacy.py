"""Privacy rules for the cohort feed: what a person's export holds of it, and what
deleting their account erases.

``export_collections`` and ``export_files`` read; ``erase`` writes and never commits
(``dap.accounts.privacy.delete_account`` owns the transaction).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.community.models import KIND_LABELS, Comment, Kudos, Post, PostImage, Report
from dap.extensions import db
from dap.media import images, storage, uploads

NAMES = ("feed_posts", "feed_comments", "feed_kudos", "feed_reports")


def export_collections(user: User) -> dict[str, list[dict[str, Any]]]:
    """Their posts (with their images' names), comments, kudos given and reports made,
    deleted ones included (they are still held until the account goes). Five queries."""
    posts = db.session.execute(
        select(Post, Cohort.name).join(Cohort, Cohort.id == Post.cohort_id)
        .where(Post.author_id == user.id).order_by(Post.id)).all()
    files: dict[int, list[str]] = {}
    for image in db.session.scalars(select(PostImage).join(Post).where(
            Post.author_id == user.id).order_by(PostImage.id)):
        files.setdefault(image.post_id, []).append(image_name(image))
    comments = db.session.execute(
        select(Comment, Cohort.name).join(Post, Post.id == Comment.post_id)
        .join(Cohort, Cohort.id == Post.cohort_id)
        .where(Comment.author_id == user.id).order_by(Comment.id)).all()
    kudos = db.session.execute(
        select(Kudos, Cohort.name, Post.id).join(Post, Post.id == Kudos.post_id)
        .join(Cohort, Cohort.id == Post.cohort_id)
        .where(Kudos.user_id == user.id).order_by(Kudos.created_at)).all()
    reports = db.session.execute(
        select(Report, Cohort.name).join(Cohort, Cohort.id == Report.cohort_id)
        .where(Report.reporter_id == user.id).order_by(Report.id)).all()
    return {
        "feed_posts": [
            {"cohort": cohort, "post": p.id, "kind": KIND_LABELS[p.kind], "body": p.body,
             "link": p.link_url, "link_words": p.link_text, "images": files.get(p.id, []),
             "created_at": p.created_at, "edited_at": p.edited_at, "deleted_at": p.deleted_at,
             "hidden_at": p.hidden_at, "hidden_reason": p.hidden_reason,
             "success_story_at": p.story_at, "featured_at": p.featured_at,
             "shared_with_other_cohorts_at": p.shared_across_at}
            for p, cohort in posts],
        "feed_comments": [
            {"cohort": cohort, "post": c.post_id, "body": c.body, "created_at": c.created_at,
             "edited_at": c.edited_at, "deleted_at": c.deleted_at, "hidden_at": c.hidden_at,
             "hidden_reason": c.hidden_reason} for c, cohort in comments],
        "feed_kudos": [{"cohort": cohort, "post": post_id, "given_at": k.created_at}
                       for k, cohort, post_id in kudos],
        "feed_reports": [
            {"cohort": cohort, "post": r.post_id, "comment": r.comment_id, "reason": r.reason,
             "created_at": r.created_at, "dealt_with_at": r.resolved_at} for r, cohort in reports],
    }


def image_name(image: PostImage) -> str:
    return f"feed/post-{image.post_id}-image-{image.id}.{images.EXTENSIONS[image.format]}"


def export_files(user: User) -> list[tuple[str, bytes]]:
    """The images of their posts, as (name in the zip, contents). One query."""
    found = []
    for image in db.session.scalars(select(PostImage).join(Post).where(
            Post.author_id == user.id).order_by(PostImage.id)):
        path = storage.path_of(image.key, images.EXTENSIONS[image.format])
        if path.is_file():
            found.append((image_name(image), path.read_bytes()))
    return found


def erase(user: User) -> None:
    """What they wrote in the feed goes: their posts and comments are deleted for everyone
    with their words and links emptied, their posts' images deleted (files after the
    transaction commits), and the reasons of their reports emptied. Kudos they gave stay,
    without a name, so other people's counts stay right."""
    now = now_utc()
    mine = select(Post.id).where(Post.author_id == user.id).scalar_subquery()
    keys = list(db.session.scalars(select(PostImage.key).where(PostImage.post_id.in_(mine))))
    db.session.execute(delete(PostImage).where(PostImage.post_id.in_(mine)))
    db.session.execute(update(Post).where(Post.author_id == user.id).values(
        body="", link_url="", link_text="", deleted_at=func.coalesce(Post.deleted_at, now),
        story_at=None, featured_at=None, featured_by_id=None, shared_across_at=None))
    db.session.execute(update(Comment).where(Comment.author_id == user.id).values(
        body="", deleted_at=func.coalesce(Comment.deleted_at, now)))
    db.session.execute(update(Report).where(Report.reporter_id == user.id).values(reason=""))
    uploads.tidy_after_request(keys, lambda found: set(db.session.scalars(
        select(PostImage.key).where(PostImage.key.in_(found)))))
