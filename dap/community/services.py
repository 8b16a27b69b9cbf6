"""The rules of the cohort feed: posting, editing within a time window, deleting, comments,
kudos (one per person per post), mentions that tell the people mentioned, questions marked
answered, and moderation (hiding with a reason, members' reports).

Who may read and write a cohort's feed is ``can_use_feed``: its active participants and the
people who manage the cohort. Patrons look out for particular participants, not the cohort,
so the feed is not theirs.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from dap import policy
from dap.accounts.models import User
from dap.audit.services import record
from dap.clock import now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.community.models import Comment, Kudos, Post, PostImage, PostKind, Report
from dap.errors import DomainError
from dap.extensions import db
from dap.media import uploads
from dap.text import clean_text, clean_url

#: the longest post and comment, in characters (a 100 KB post is refused with a message)
BODY_MAX = 10_000
COMMENT_MAX = 2_000
LINK_TEXT_MAX = 300
REASON_MAX = 300
#: authors may change what they wrote for this long
EDIT_WINDOW = timedelta(hours=24)
#: people told of one post's or comment's mentions, at most
MENTIONS_MAX = 20


def can_use_feed(user: User, cohort: Cohort) -> bool:
    """Active participants of the cohort and its managers (facilitators, admins)."""
    if policy.can_manage_cohort(user, cohort):
        return True
    membership = policy.active_membership(user, cohort.id)
    return membership is not None and membership.role is CohortRole.PARTICIPANT


def _writable(cohort: Cohort) -> None:
    if cohort.is_archived:
        raise DomainError("This cohort is archived: its feed can be read but not added to.",
                          code="archived")


def _body(text: str | None, *, max_len: int, label: str) -> str:
    return clean_text(text, field="body", max_len=max_len, label=label, required=True)


def _check_body_length(text: str | None, max_len: int, what: str) -> None:
    """A clear message for a huge body before anything else looks at it."""
    if text is not None and len(text) > max_len:
        raise DomainError(f"{what} can be at most {max_len:,} characters; this one has "
                          f"{len(text):,}. Split it into two, or link to a longer piece.",
                          field="body")


# --- mentions ----------------------------------------------------------------------------------


def mentioned(cohort: Cohort, text: str, *, exclude: set[int]) -> list[User]:
    """The cohort's active participants and facilitators named in ``text`` as ``@Full
    Name`` (any case; the longest name wins, so ``@Jo Bright`` is not ``@Jo``), except
    ``exclude``. One query."""
    if "@" not in text:
        return []
    members = db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id).where(
            Membership.cohort_id == cohort.id, Membership.status == MembershipStatus.ACTIVE,
            Membership.role.in_([CohortRole.PARTICIPANT, CohortRole.FACILITATOR]),
            User.deleted_at.is_(None))).all()
    folded = text.casefold()
    found: dict[int, User] = {}
    taken: list[tuple[int, int]] = []
    for person in sorted(members, key=lambda u: -len(u.name)):
        pattern = re.compile(r"@" + re.escape(person.name.casefold()) + r"(?![\w])")
        for match in pattern.finditer(folded):
            span = match.span()
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue  # inside a longer name already matched
            taken.append(span)
            if person.id not in exclude:
                found[person.id] = person
    return list(found.values())[:MENTIONS_MAX]


def _tell_mentioned(cohort: Cohort, author: User, text: str, *, what: str, key: str,
                    link: str, exclude: set[int]) -> None:
    from dap.nudges.models import NotificationKind
    from dap.nudges.notify import Message, send

    people = mentioned(cohort, text, exclude={author.id, *exclude})
    send([Message(person=person, kind=NotificationKind.MENTION, cohort=cohort, sender=author,
                  title=f"{author.name} mentioned you in {what}",
                  body=_excerpt(text), link=link,
                  dedup_key=f"mention:{key}:{person.id}") for person in people])


def _excerpt(text: str, length: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


def post_link(post: Post) -> str:
    return url_for("community.post", cohort_id=post.cohort_id, post_id=post.id)


# --- posts -------------------------------------------------------------------------------------


def create_post(cohort: Cohort, author: User, *, kind: PostKind, body: str | None,
                link_url: str | None = "", link_text: str | None = "",
                now: datetime | None = None) -> Post:
    """A new post in the cohort's feed; the people it mentions are told.

    :raise DomainError: naming the field, for an archived cohort, an empty or overlong
        body, a link that is not http(s), or link words over ``LINK_TEXT_MAX``.
    """
    _writable(cohort)
    _check_body_length(body, BODY_MAX, "A post")
    post = Post(cohort_id=cohort.id, author_id=author.id, kind=kind,
                body=_body(body, max_len=BODY_MAX, label="what you would like to share"),
                link_url=clean_url(link_url, field="link_url"),
                link_text=clean_text(link_text, field="link_text", max_len=LINK_TEXT_MAX,
                                     label="the words for the link"),
                created_at=now or now_utc())
    if post.link_text and not post.link_url:
        raise DomainError("Add the web address the words are for, or leave both empty.",
                          field="link_url")
    db.session.add(post)
    db.session.flush()
    _tell_mentioned(cohort, author, post.body, what=f"a {post.label.lower()}",
                    key=f"post:{post.id}", link=post_link(post), exclude=set())
    return post


def can_edit(item: Post | Comment, user: User, *, now: datetime | None = None) -> bool:
    """Authors change what they wrote for ``EDIT_WINDOW``, unless it was hidden."""
    return (item.author_id == user.id and item.deleted_at is None and item.hidden_at is None
            and (now or now_utc()) < item.created_at + EDIT_WINDOW)


def edit_post(post: Post, actor: User, cohort: Cohort, *, kind: PostKind, body: str | None,
              link_url: str | None = "", link_text: str | None = "",
              now: datetime | None = None) -> None:
    """Change one's own post within the window. People newly mentioned are told.

    :raise DomainError: (code ``too_late``) after the window or on a hidden post; else as
        ``create_post``.
    """
    now = now or now_utc()
    _writable(cohort)
    if not can_edit(post, actor, now=now):
        raise DomainError("Posts can be changed for 24 hours after posting (and not once a "
                          "facilitator has hidden them).", code="too_late")
    _check_body_length(body, BODY_MAX, "A post")
    before = {u.id for u in mentioned(cohort, post.body, exclude=set())}
    post.body = _body(body, max_len=BODY_MAX, label="what you would like to share")
    post.kind = kind
    post.link_url = clean_url(link_url, field="link_url")
    post.link_text = clean_text(link_text, field="link_text", max_len=LINK_TEXT_MAX,
                                label="the words for the link")
    if post.link_text and not post.link_url:
        raise DomainError("Add the web address the words are for, or leave both empty.",
                          field="link_url")
    post.edited_at = now
    _tell_mentioned(cohort, actor, post.body, what=f"a {post.label.lower()}",
                    key=f"post:{post.id}", link=post_link(post), exclude=before)


def delete_post(post: Post, actor: User, *, now: datetime | None = None) -> None:
    """Authors delete their own posts (with their comments, for everyone); its images are
    deleted with their files.

    :raise DomainError: for anyone else.
    """
    if post.author_id != actor.id:
        raise DomainError("Only the author can delete a post; facilitators hide posts.")
    post.deleted_at = now or now_utc()
    keys = list(db.session.scalars(select(PostImage.key).where(PostImage.post_id == post.id)))
    db.session.execute(delete(PostImage).where(PostImage.post_id == post.id))
    _tidy(keys)


#: images on one post
IMAGES_MAX = 4
DESCRIPTION_MAX = 300


def _tidy(keys: list[str]) -> None:
    uploads.tidy_after_request(keys, lambda found: set(db.session.scalars(
        select(PostImage.key).where(PostImage.key.in_(found)))))


def attach_images(post: Post, files: list[uploads.Upload], description: str | None) -> list[PostImage]:
    """Clean and keep the images of a post, all or none (dap.media.uploads).

    :raise DomainError: (field ``images``) for more than ``IMAGES_MAX``, a file too big or
        not an image; (``image_description``) for a description over 300 characters.
    """
    if not files:
        return []
    if len(files) > IMAGES_MAX:
        raise DomainError(f"Add at most {IMAGES_MAX} photos to a post.", field="images")
    text = clean_text(description, field="image_description", max_len=DESCRIPTION_MAX,
                      label="a description")
    stored = uploads.store(files, field="images")
    _tidy([image.key for image in stored])
    images = [PostImage(post_id=post.id, key=i.key, format=i.format, width=i.width,
                        height=i.height, thumb_width=i.thumb_width, thumb_height=i.thumb_height,
                        size_bytes=i.size_bytes, description=text) for i in stored]
    db.session.add_all(images)
    db.session.flush()
    return images


def mark_answered(post: Post, actor: User, cohort: Cohort, *, answered: bool = True,
                  now: datetime | None = None) -> None:
    """A question's author, or a facilitator, marks it answered (or not any more).

    :raise DomainError: for a post that is not a question, or anyone else.
    """
    _writable(cohort)
    if post.kind is not PostKind.QUESTION:
        raise DomainError("Only questions are marked answered.")
    if post.author_id != actor.id and not policy.can_manage_cohort(actor, cohort):
        raise DomainError("Only the person who asked, or a facilitator, can mark it answered.")
    post.answered_at = (now or now_utc()) if answered else None


# --- comments ----------------------------------------------------------------------------------


def add_comment(post: Post, author: User, cohort: Cohort, body: str | None, *,
                now: datetime | None = None) -> Comment:
    """A comment on a post; the post's author and the people mentioned are told.

    :raise DomainError: for an archived cohort, a hidden post, or an empty or overlong body.
    """
    _writable(cohort)
    if post.is_hidden:
        raise DomainError("This post is hidden, so it cannot take comments.")
    _check_body_length(body, COMMENT_MAX, "A comment")
    comment = Comment(post_id=post.id, author_id=author.id,
                      body=_body(body, max_len=COMMENT_MAX, label="a comment"),
                      created_at=now or now_utc())
    db.session.add(comment)
    db.session.flush()
    link = post_link(post) + f"#comment-{comment.id}"
    told: set[int] = set()
    if post.author_id != author.id:
        from dap.nudges.models import NotificationKind
        from dap.nudges.notify import notify

        notify(post.author, kind=NotificationKind.COMMENT, cohort=cohort, sender=author,
               title=f"{author.name} commented on your {post.label.lower()}",
               body=_excerpt(comment.body), link=link,
               dedup_key=f"comment:{comment.id}:{post.author_id}")
        told.add(post.author_id)
    _tell_mentioned(cohort, author, comment.body, what="a comment", key=f"comment:{comment.id}",
                    link=link, exclude=told)
    return comment


def delete_comment(comment: Comment, actor: User, *, now: datetime | None = None) -> None:
    if comment.author_id != actor.id:
        raise DomainError("Only the author can delete a comment; facilitators hide comments.")
    comment.deleted_at = now or now_utc()


# --- kudos -------------------------------------------------------------------------------------


def give_kudos(post: Post, user: User, cohort: Cohort) -> None:
    """One kudos per person per post, never on one's own.

    :raise DomainError: (code ``already``) the second time; for one's own post; for a hidden
        post or an archived cohort.
    """
    _writable(cohort)
    if post.author_id == user.id:
        raise DomainError("Kudos are for other people's posts.")
    if post.is_hidden:
        raise DomainError("This post is hidden.")
    try:
        with db.session.begin_nested():
            db.session.add(Kudos(post_id=post.id, user_id=user.id))
    except IntegrityError:
        raise DomainError("You have given this post kudos already.", code="already") from None


def take_back_kudos(post: Post, user: User) -> None:
    found = db.session.get(Kudos, (post.id, user.id))
    if found is None:
        raise DomainError("You have not given this post kudos.", code="already")
    db.session.delete(found)


def has_kudos(post: Post, user: User) -> bool:
    return bool(db.session.scalar(select(exists().where(
        Kudos.post_id == post.id, Kudos.user_id == user.id))))


# --- moderation --------------------------------------------------------------------------------


def _reason(text: str | None) -> str:
    return clean_text(text, field="reason", max_len=REASON_MAX, label="the reason",
                      required=True)


def hide(item: Post | Comment, actor: User, cohort: Cohort, reason: str | None, *,
         now: datetime | None = None) -> None:
    """A facilitator hides a post or comment from everyone but its author, who sees why
    (and is told). Open reports of it are resolved.

    :raise DomainError: without a reason (or over ``REASON_MAX``), or when already hidden.
    """
    from dap.nudges.models import NotificationKind
    from dap.nudges.notify import notify

    now = now or now_utc()
    if item.is_hidden:
        raise DomainError("It is hidden already.", code="already")
    item.hidden_reason = _reason(reason)
    item.hidden_at = now
    item.hidden_by_id = actor.id
    is_post = isinstance(item, Post)
    column = Report.post_id if is_post else Report.comment_id
    db.session.execute(update(Report).where(column == item.id, Report.resolved_at.is_(None))
                       .values(resolved_at=now, resolved_by_id=actor.id))
    what = "post" if is_post else "comment"
    record(f"community.{what}_hidden", actor=actor, cohort=cohort, subject=item.author,
           **{f"{what}_id": item.id, "reason": item.hidden_reason})
    post_id = item.id if is_post else item.post_id
    notify(item.author, kind=NotificationKind.POST_HIDDEN, cohort=cohort, sender=actor,
           title=f"A facilitator hid your {what}",
           body=f"Why: {item.hidden_reason}",
           link=url_for("community.post", cohort_id=cohort.id, post_id=post_id),
           dedup_key=f"hidden:{what}:{item.id}:{int(now.timestamp())}")


def unhide(item: Post | Comment, actor: User, cohort: Cohort) -> None:
    if not item.is_hidden:
        raise DomainError("It is not hidden.", code="already")
    item.hidden_at, item.hidden_by_id, item.hidden_reason = None, None, ""
    what = "post" if isinstance(item, Post) else "comment"
    record(f"community.{what}_shown", actor=actor, cohort=cohort, subject=item.author,
           **{f"{what}_id": item.id})


def report(item: Post | Comment, reporter: User, cohort: Cohort, reason: str | None) -> Report:
    """A member reports a post or comment to the cohort's facilitators, once each.

    :raise DomainError: for one's own, without a reason, or the second time.
    """
    if item.author_id == reporter.id:
        raise DomainError("You cannot report what you wrote; you can change or delete it.")
    is_post = isinstance(item, Post)
    found = Report(cohort_id=cohort.id, reporter_id=reporter.id, reason=_reason(reason),
                   post_id=item.id if is_post else None,
                   comment_id=None if is_post else item.id)
    try:
        with db.session.begin_nested():
            db.session.add(found)
    except IntegrityError:
        raise DomainError("You have reported this already; a facilitator will look at it.",
                          code="already") from None
    return found


def edit_comment(comment: Comment, actor: User, cohort: Cohort, body: str | None, *,
                 now: datetime | None = None) -> None:
    """Change one's own comment within the window.

    :raise DomainError: (code ``too_late``) after the window or once hidden; else as
        ``add_comment``.
    """
    now = now or now_utc()
    _writable(cohort)
    if not can_edit(comment, actor, now=now):
        raise DomainError("Comments can be changed for 24 hours after posting (and not once "
                          "a facilitator has hidden them).", code="too_late")
    _check_body_length(body, COMMENT_MAX, "A comment")
    comment.body = _body(body, max_len=COMMENT_MAX, label="a comment")
    comment.edited_at = now


def dismiss_report(found: Report, actor: User, *, now: datetime | None = None) -> None:
    """A facilitator looked and keeps the post or comment as it is."""
    if found.resolved_at is not None:
        raise DomainError("This report has been dealt with already.", code="already")
    found.resolved_at, found.resolved_by_id = now or now_utc(), actor.id


# --- success stories ---------------------------------------------------------------------------


def mark_story(post: Post, actor: User, cohort: Cohort, *, story: bool = True,
               now: datetime | None = None) -> None:
    """Its author or a facilitator marks a post as a success story (or not any more, which
    also ends its featuring and its sharing with other cohorts).

    :raise DomainError: for anyone else, a hidden post, or an archived cohort.
    """
    _writable(cohort)
    if post.author_id != actor.id and not policy.can_manage_cohort(actor, cohort):
        raise DomainError("Only the author, or a facilitator, can mark a success story.")
    if post.is_hidden:
        raise DomainError("A hidden post cannot be a success story.")
    if story:
        post.story_at = post.story_at or now or now_utc()
    else:
        post.story_at = post.featured_at = post.shared_across_at = None
        post.featured_by_id = None


def feature(post: Post, actor: User, cohort: Cohort, *, featured: bool = True,
            now: datetime | None = None) -> None:
    """A facilitator features a success story on the cohort's page (or stops).

    :raise DomainError: for a post that is not a story, or a hidden one.
    """
    _writable(cohort)
    if featured and post.story_at is None:
        raise DomainError("Mark it as a success story first.")
    if featured and post.is_hidden:
        raise DomainError("A hidden post cannot be featured.")
    post.featured_at = (now or now_utc()) if featured else None
    post.featured_by_id = actor.id if featured else None
    record("community.story_featured" if featured else "community.story_unfeatured",
           actor=actor, cohort=cohort, subject=post.author, post_id=post.id)


def share_across(post: Post, actor: User, cohort: Cohort, *, shared: bool = True,
                 now: datetime | None = None) -> None:
    """The author agrees to show their success story to the other cohorts of the
    organisation (or takes that back). Only the author can consent.

    :raise DomainError: for anyone else, or a post that is not a story.
    """
    _writable(cohort)
    if post.author_id != actor.id:
        raise DomainError("Only the author can share their story with other cohorts.")
    if shared and post.story_at is None:
        raise DomainError("Mark it as a success story first.")
    post.shared_across_at = (now or now_utc()) if shared else None


# --- volunteers and goals ----------------------------------------------------------------------


def set_volunteer(membership: Membership, volunteer: bool) -> None:
    """A participant says they volunteer to share their experiences as they go."""
    if membership.role is not CohortRole.PARTICIPANT:
        raise DomainError("Participants volunteer to share their experiences.")
    membership.is_volunteer_sharer = volunteer


def share_goal(goal, author: User, cohort: Cohort, *, now: datetime | None = None) -> Post:
    """Share one's own finished goal to the feed as a success story, in one click: the
    goal's title and reflection become the post (editable for 24 hours). Sharing the same
    goal again returns the post already shared.

    :raise DomainError: for a goal that is not finished, or someone else's.
    """
    from dap.plans.models import GoalStatus

    _writable(cohort)
    if goal.plan.participant_id != author.id or goal.plan.cohort_id != cohort.id:
        raise DomainError("You can share your own finished goals.")
    if goal.status is not GoalStatus.DONE:
        raise DomainError("Finish the goal first; then share how it went.")
    existing = db.session.scalars(select(Post).where(
        Post.goal_id == goal.id, Post.deleted_at.is_(None))).first()
    if existing is not None:
        return existing
    reflection = goal.reflection.strip() or "Done!"
    body = f"**I finished: {goal.title}**\n\n{reflection}"
    post = create_post(cohort, author, kind=PostKind.STORY, body=body[:BODY_MAX], now=now)
    post.goal_id = goal.id
    post.story_at = post.created_at
    return post
