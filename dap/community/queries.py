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
from dap.community.models import Comment, Kudos, Post, PostImage, PostKind, Report
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
    images: list[PostImage]


def images_of(post_ids: list[int]) -> dict[int, list[PostImage]]:
    """Post id → its images, in the order added (one query)."""
    found: dict[int, list[PostImage]] = {}
    if post_ids:
        for image in db.session.scalars(select(PostImage).where(
                PostImage.post_id.in_(post_ids)).order_by(PostImage.post_id, PostImage.id)):
            found.setdefault(image.post_id, []).append(image)
    return found


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
    """One page of the feed, newest first (five queries)."""
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
    images = images_of(ids)
    views = [PostView(post=p, html=render_markdown(p.body), kudos=kudos.get(p.id, 0),
                      comments=comments.get(p.id, 0), mine=p.id in mine,
                      images=images.get(p.id, [])) for p in posts]
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


# --- success stories and contributors ------------------------------------------------------------


@dataclass(frozen=True)
class StoryView:
    post: Post
    html: object
    cohort_name: str
    #: from another cohort of the organisation (shared by its author)
    elsewhere: bool


def stories(cohort: Cohort, *, featured_only: bool = False, limit: int = 50) -> list[StoryView]:
    """Success stories to show in ``cohort``: its own (featured first, then newest), and
    unless ``featured_only`` those its organisation's other cohorts' authors chose to share
    (not from archived cohorts). Never deleted or hidden ones. One query."""
    own = Post.cohort_id == cohort.id
    criteria = [Post.story_at.is_not(None), Post.deleted_at.is_(None), Post.hidden_at.is_(None)]
    if featured_only:
        criteria += [own, Post.featured_at.is_not(None)]
    else:
        criteria.append(or_(own, and_(Post.shared_across_at.is_not(None),
                                      Cohort.organisation_id == cohort.organisation_id,
                                      Cohort.is_archived.is_(False))))
    rows = db.session.execute(
        select(Post, Cohort.name).join(Post.author).options(contains_eager(Post.author))
        .join(Cohort, Cohort.id == Post.cohort_id).where(*criteria)
        .order_by((Post.cohort_id != cohort.id), Post.featured_at.is_(None),
                  Post.story_at.desc(), Post.id.desc())
        .limit(limit)).unique().all()
    return [StoryView(post=p, html=render_markdown(p.body), cohort_name=name,
                      elsewhere=p.cohort_id != cohort.id) for p, name in rows]


@dataclass(frozen=True)
class Contributor:
    user: User
    volunteer: bool
    posts: int
    stories: int
    comments: int
    last_shared: datetime | None


def contributors(cohort: Cohort) -> list[Contributor]:
    """Who shared what, and when: each active participant of the cohort with their posts,
    stories and comments still up (not deleted or hidden) and when they last shared,
    volunteers first, then the most recent sharers. Three queries."""
    from dap.cohorts.models import CohortRole, Membership, MembershipStatus

    up = [Post.cohort_id == cohort.id, Post.deleted_at.is_(None), Post.hidden_at.is_(None)]
    posts = {row[0]: row[1:] for row in db.session.execute(
        select(Post.author_id, func.count(), func.count(Post.story_at), func.max(Post.created_at))
        .where(*up).group_by(Post.author_id))}
    comments = {row[0]: row[1:] for row in db.session.execute(
        select(Comment.author_id, func.count(), func.max(Comment.created_at))
        .join(Post, Post.id == Comment.post_id)
        .where(*up, Comment.deleted_at.is_(None), Comment.hidden_at.is_(None))
        .group_by(Comment.author_id))}
    people = db.session.execute(
        select(User, Membership.is_volunteer_sharer).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort.id, Membership.role == CohortRole.PARTICIPANT,
               Membership.status == MembershipStatus.ACTIVE)).all()
    found = []
    for user, volunteer in people:
        n_posts, n_stories, last_post = posts.get(user.id, (0, 0, None))
        n_comments, last_comment = comments.get(user.id, (0, None))
        last = max((t for t in (last_post, last_comment) if t is not None), default=None)
        found.append(Contributor(user=user, volunteer=volunteer, posts=n_posts,
                                 stories=n_stories, comments=n_comments, last_shared=last))
    return sorted(found, key=lambda c: (
        not c.volunteer, c.last_shared is None,
        -c.last_shared.timestamp() if c.last_shared else 0.0, c.user.name))
