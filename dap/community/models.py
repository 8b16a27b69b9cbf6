"""Posts in a cohort's feed, their comments and kudos, and members' reports of either.

A post or comment is never removed from the table while the feed runs: its author deletes
it (``deleted_at``; it disappears for everyone) or a facilitator hides it with a reason
(``hidden_at``; the author still sees it, with the reason). Bodies are Markdown, rendered
then sanitised on display (dap.content.render)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dap.accounts.models import User
from dap.clock import now_utc
from dap.db import str_enum
from dap.extensions import db


class PostKind(enum.StrEnum):
    REFLECTION = "reflection"
    TIP = "tip"
    QUESTION = "question"
    STORY = "story"  #: a success story, online or offline
    RECAP = "recap"  #: an event recap


KIND_LABELS = {
    PostKind.REFLECTION: "Reflection",
    PostKind.TIP: "Tip",
    PostKind.QUESTION: "Question",
    PostKind.STORY: "Success story",
    PostKind.RECAP: "Event recap",
}


class Post(db.Model):
    __tablename__ = "community_posts"
    __table_args__ = (
        # the feed, newest first, page by page
        Index("ix_community_posts_feed", "cohort_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[PostKind] = mapped_column(str_enum(PostKind, "post_kind"))
    #: Markdown
    body: Mapped[str] = mapped_column(Text)
    #: an optional web address, and the words shown for it (the author's; the page at the
    #: address is never fetched)
    link_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    link_text: Mapped[str] = mapped_column(String(300), default="", server_default="")
    #: a finished goal this post shares (the author's own)
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("plan_goals.id"))
    #: a question marked answered (by its author or a facilitator)
    answered_at: Mapped[datetime | None]
    #: marked a success story (by its author or a facilitator), and featured on the cohort
    #: page by a facilitator
    story_at: Mapped[datetime | None]
    featured_at: Mapped[datetime | None]
    featured_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the author agreed to show the story to the other cohorts of the organisation
    shared_across_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")

    author: Mapped[User] = relationship(foreign_keys=[author_id])

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    def __repr__(self) -> str:
        return f"<Post {self.id} {self.kind.value}@{self.cohort_id}>"


class PostImage(db.Model):
    """An image attached to a post, cleaned and stored by dap.media.uploads: the image
    (``<key>.<ext>``) and its thumbnail (``<key>.thumb.<ext>``)."""

    __tablename__ = "community_post_images"
    __table_args__ = (Index("ix_community_post_images_post", "post_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("community_posts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32), unique=True)
    #: jpeg, png or webp
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int]
    height: Mapped[int]
    thumb_width: Mapped[int]
    thumb_height: Mapped[int]
    size_bytes: Mapped[int]
    #: what the image shows, for people who cannot see it (alt text)
    description: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())


class Comment(db.Model):
    __tablename__ = "community_comments"
    __table_args__ = (Index("ix_community_comments_thread", "post_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("community_posts.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")

    author: Mapped[User] = relationship(foreign_keys=[author_id])

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class Kudos(db.Model):
    """One person's kudos on a post: at most one each."""

    __tablename__ = "community_kudos"

    post_id: Mapped[int] = mapped_column(ForeignKey("community_posts.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())


class Report(db.Model):
    """A member's report of a post or a comment, for the cohort's facilitators."""

    __tablename__ = "community_reports"
    __table_args__ = (
        CheckConstraint("(post_id IS NULL) <> (comment_id IS NULL)", name="post_or_comment"),
        # one report per person per post or comment (NULLs are never equal in a plain
        # unique constraint, so one partial index each)
        Index("uq_community_reports_post", "reporter_id", "post_id", unique=True,
              sqlite_where=text("post_id IS NOT NULL"),
              postgresql_where=text("post_id IS NOT NULL")),
        Index("uq_community_reports_comment", "reporter_id", "comment_id", unique=True,
              sqlite_where=text("comment_id IS NOT NULL"),
              postgresql_where=text("comment_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("community_posts.id"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("community_comments.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())
    #: a facilitator dealt with it (hid the item or decided to keep it)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
