"""Reading the cohort feed: a page of posts (newest first, keyset-paged by a cursor), with
their authors, kudos and comment counts, filtered by kind or searched; a post's comments;
the open reports. A fixed number of queries whatever the feed's size."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import contains_eager

from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.community.models import Comment, Kudos, Post, PostKind, Report
from dap.content.render import render_markdown
from dap.errors import DomainError
from dap.extensions import db

PAGE = 20
SEARCH_MAX = 100


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last post's time and id."""

    created_at: datetime
    post_id: int

    def encode(self) -> str:
        raw = f"{int(self.created_at.timestamp() * 1_000_000)}.{self.post_id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """:raise DomainError: for anything that is not a cursor this app made."""
        try:
            if len(text) > 60:
                raise ValueError
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            micros, post_id = raw.split(".")
            if not (micros.isdigit() and post_id.isdigit() and micros.isascii()
                    and post_id.isascii()):
                raise ValueError
            at = datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC)
            return cls(created_at=at, post_id=int(post_id))
        except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError, OSError):
            raise DomainError("That page link is not valid; start from the newest posts.",
                              field="before") from None


@dataclass(frozen=True)
class PostView:
    post: Post
    html: object
    kudos: int
    comments: int
    mine: bool  #: the viewer gave kudos


@dataclass(frozen=True)
class FeedPage:
    posts: list[PostView]
    next_cursor: str | None


def _visible(viewer: User, *, manager: bool):
    """Deleted posts are gone for everyone; hidden ones stay for their author and the
    cohort's managers."""
    criteria = [Post.deleted_at.is_(None)]
    if not manager:
        criteria.append(or_(Post.hidden_at.is_(None), Post.author_id == viewer.id))
    return criteria


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def feed(cohort: Cohort, viewer: User, *, manager: bool, kind: PostKind | None = None,
         search: str = "", before: Cursor | None = None, limit: int = PAGE) -> FeedPage:
    """One page of the feed, newest first (four queries)."""
    query = (select(Post).join(Post.author).options(contains_eager(Post.author))
             .where(Post.cohort_id == cohort.id, *_visible(viewer, manager=manager)))
    if kind is not None:
        query = query.where(Post.kind == kind)
    words = search.strip()[:SEARCH_MAX]
    if words:
        pattern = f"%{_like(words.casefold())}%"
        query = query.where(or_(func.lower(Post.body).like(pattern, escape="\\"),
                                func.lower(User.name).like(pattern, escape="\\")))
    if before is not None:
        query = query.where(or_(Post.created_at < before.created_at,
                                and_(Post.created_at == before.created_at,
                                     Post.id < before.post_id)))
    rows = db.session.scalars(query.order_by(Post.created_at.desc(), Post.id.desc())
                              .limit(limit + 1)).unique().all()
    more = len(rows) > limit
    posts = rows[:limit]
    ids = [p.id for p in posts]
    kudos = _counts(select(Kudos.post_id, func.count()).where(Kudos.post_id.in_(ids))
                    .group_by(Kudos.post_id)) if ids else {}
    comments = _counts(select(Comment.post_id, func.count()).where(
        Comment.post_id.in_(ids), Comment.deleted_at.is_(None),
        *([] if manager else [or_(Comment.hidden_at.is_(None),
                                  Comment.author_id == viewer.id)]))
        .group_by(Comment.post_id)) if ids else {}
    mine = set(db.session.scalars(select(Kudos.post_id).where(
        Kudos.post_id.in_(ids), Kudos.user_id == viewer.id))) if ids else set()
    views = [PostView(post=p, html=render_markdown(p.body), kudos=kudos.get(p.id, 0),
                      comments=comments.get(p.id, 0), mine=p.id in mine) for p in posts]
    last = posts[-1] if posts else None
    return FeedPage(posts=views, next_cursor=Cursor(last.created_at, last.id).encode()
                    if more and last else None)


def _counts(query) -> dict[int, int]:
    return dict(db.session.execute(query).all())  # type: ignore[arg-type]


def visible_post(cohort: Cohort, viewer: User, post_id: int, *, manager: bool) -> Post | None:
    """A post of the cohort the viewer may open, or None (deleted, hidden from them, or
    elsewhere)."""
    return db.session.scalars(select(Post).where(
        Post.id == post_id, Post.cohort_id == cohort.id,
        *_visible(viewer, manager=manager))).first()


@dataclass(frozen=True)
class CommentView:
    comment: Comment
    html: object


def thread(post: Post, viewer: User, *, manager: bool) -> list[CommentView]:
    """The post's comments, oldest first, with their authors (one query)."""
    criteria = [Comment.post_id == post.id, Comment.deleted_at.is_(None)]
    if not manager:
        criteria.append(or_(Comment.hidden_at.is_(None), Comment.author_id == viewer.id))
    found = db.session.scalars(
        select(Comment).join(Comment.author).options(contains_eager(Comment.author))
        .where(*criteria).order_by(Comment.created_at, Comment.id)).all()
    return [CommentView(comment=c, html=render_markdown(c.body)) for c in found]


def open_reports(cohort: Cohort) -> list[tuple[Report, Post | None, Comment | None, User]]:
    """Reports not yet dealt with, oldest first, with what they are about (one query)."""
    reporter = User
    rows = db.session.execute(
        select(Report, Post, Comment, reporter)
        .outerjoin(Post, Post.id == Report.post_id)
        .outerjoin(Comment, Comment.id == Report.comment_id)
        .join(reporter, reporter.id == Report.reporter_id)
        .where(Report.cohort_id == cohort.id, Report.resolved_at.is_(None))
        .order_by(Report.created_at, Report.id)).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def kudos_count(post: Post) -> int:
    return db.session.scalar(select(func.count()).select_from(Kudos).where(
        Kudos.post_id == post.id)) or 0
