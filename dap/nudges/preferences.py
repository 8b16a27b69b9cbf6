"""What each person wants by email, per category of message, and the one-click unsubscribe.

In-app notifications always arrive; a preference only decides the email copy: sent at once
(``immediate``), gathered into the next morning's digest (``daily``), or not sent (``off``).
The patron's weekly digest is ``weekly`` or ``off``. A person with no row for a category has
its default (``DEFAULTS``).

Every governed email carries a signed link that turns its category off without signing in
(and ``List-Unsubscribe`` / ``List-Unsubscribe-Post`` headers for mail programs' own button).
The token names the person and the category and never expires: an unsubscribe link that
still works a year later is what people expect; using it twice changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from dap.accounts.models import User
from dap.audit.services import record
from dap.clock import now_utc
from dap.db import insert_for
from dap.errors import DomainError
from dap.extensions import db
from dap.nudges.models import MessagePreference, NotificationKind


class Category(enum.StrEnum):
    """The kinds of message people choose about (the preferences page, one row each)."""

    NUDGES = "nudges"
    FEEDBACK = "feedback"
    REMINDERS = "reminders"
    EVENTS = "events"
    SUPPORT = "support"
    ENCOURAGEMENT = "encouragement"
    PATRON_ALERTS = "patron_alerts"
    PATRON_DIGEST = "patron_digest"
    FACILITATOR_ALERTS = "facilitator_alerts"
    COMMUNITY = "community"
    DIGEST = "digest"  #: the daily digest itself (it goes when there is something in it)
    ALL = "all"  #: in an unsubscribe link (the digest's): every category at once


class Delivery(enum.StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"
    WEEKLY = "weekly"
    OFF = "off"


@dataclass(frozen=True)
class CategoryInfo:
    label: str
    #: what it covers, in the person's words
    description: str
    #: who it is for: ``participant``, ``patron`` or ``facilitator`` (the page shows a person
    #: the categories of the roles they hold)
    audience: str
    choices: tuple[Delivery, ...]
    default: Delivery


_USUAL = (Delivery.IMMEDIATE, Delivery.DAILY, Delivery.OFF)

CATEGORIES: dict[Category, CategoryInfo] = {
    Category.NUDGES: CategoryInfo(
        "Nudges from your patrons", "Nudges, gentle pushes and cheers from the people who "
        "look out for you.", "participant", _USUAL, Delivery.IMMEDIATE),
    Category.FEEDBACK: CategoryInfo(
        "Feedback on your plan", "Endorsements of goals you finished, plan reviews and "
        "goals suggested to you (and review requests, if you review plans).",
        "participant", _USUAL, Delivery.IMMEDIATE),
    Category.REMINDERS: CategoryInfo(
        "Reminders", "Workshops and 1:1 sessions coming up, check-ins at the rhythm you chose, "
        "and skills checkpoints to answer.", "participant", _USUAL, Delivery.IMMEDIATE),
    Category.EVENTS: CategoryInfo(
        "Workshops and events", "Invitations, changes, cancellations, a seat freed from the "
        "waiting list, and asking how it went.", "participant", _USUAL, Delivery.IMMEDIATE),
    Category.SUPPORT: CategoryInfo(
        "1:1 support", "Bookings, cancellations and a slot freed up while you wait.",
        "participant", _USUAL, Delivery.IMMEDIATE),
    Category.ENCOURAGEMENT: CategoryInfo(
        "A word when you have been quiet", "One friendly message when we have not seen you "
        "for a while.", "participant", _USUAL, Delivery.IMMEDIATE),
    Category.PATRON_ALERTS: CategoryInfo(
        "Someone you look out for has gone quiet", "Once each time a participant you are "
        "patron to goes quiet.", "patron", _USUAL, Delivery.IMMEDIATE),
    Category.PATRON_DIGEST: CategoryInfo(
        "Weekly summary for patrons", "Monday morning: how the people you look out for got "
        "on last week.", "patron", (Delivery.WEEKLY, Delivery.OFF), Delivery.WEEKLY),
    Category.FACILITATOR_ALERTS: CategoryInfo(
        "Asked for help", "A participant answered a nudge with “need help”.", "facilitator",
        _USUAL, Delivery.IMMEDIATE),
    Category.COMMUNITY: CategoryInfo(
        "The cohort feed", "Someone mentions you or comments on your post, and a post of "
        "yours that a facilitator hid, with why.", "participant", _USUAL, Delivery.DAILY),
}

CHOICE_LABELS = {Delivery.IMMEDIATE: "Email me straight away",
                 Delivery.DAILY: "In a daily digest",
                 Delivery.WEEKLY: "Every Monday", Delivery.OFF: "No emails"}

#: each notification kind's category
CATEGORY_OF: dict[NotificationKind, Category] = {
    NotificationKind.NUDGE: Category.NUDGES,
    NotificationKind.CAJOLE: Category.NUDGES,
    NotificationKind.ENTHUSE: Category.NUDGES,
    NotificationKind.GENERAL: Category.NUDGES,
    NotificationKind.ENDORSEMENT: Category.FEEDBACK,
    NotificationKind.REVIEW_REQUESTED: Category.FEEDBACK,
    NotificationKind.REVIEW_DONE: Category.FEEDBACK,
    NotificationKind.GOAL_SUGGESTED: Category.FEEDBACK,
    NotificationKind.EVENT_INVITATION: Category.EVENTS,
    NotificationKind.EVENT_CHANGED: Category.EVENTS,
    NotificationKind.EVENT_CANCELLED: Category.EVENTS,
    NotificationKind.EVENT_PROMOTED: Category.EVENTS,
    NotificationKind.EVENT_FEEDBACK: Category.EVENTS,
    NotificationKind.SUPPORT_BOOKED: Category.SUPPORT,
    NotificationKind.SUPPORT_CANCELLED: Category.SUPPORT,
    NotificationKind.SUPPORT_SLOT_FREE: Category.SUPPORT,
    NotificationKind.EVENT_REMINDER: Category.REMINDERS,
    NotificationKind.SUPPORT_REMINDER: Category.REMINDERS,
    NotificationKind.CHECKIN_REMINDER: Category.REMINDERS,
    NotificationKind.LAST_CHANCE: Category.REMINDERS,
    NotificationKind.CHECKPOINT_OPENED: Category.REMINDERS,
    NotificationKind.MENTION: Category.COMMUNITY,
    NotificationKind.COMMENT: Category.COMMUNITY,
    NotificationKind.POST_HIDDEN: Category.COMMUNITY,
    NotificationKind.SILENT: Category.ENCOURAGEMENT,
    NotificationKind.PATRON_ALERT: Category.PATRON_ALERTS,
    NotificationKind.PATRON_DIGEST: Category.PATRON_DIGEST,
    NotificationKind.NEED_HELP: Category.FACILITATOR_ALERTS,
}

UNSUBSCRIBE_SALT = "dap.unsubscribe"


def default(category: Category) -> Delivery:
    info = CATEGORIES.get(category)
    return info.default if info else Delivery.IMMEDIATE


def deliveries_for(user_ids: Iterable[int]) -> dict[tuple[int, str], Delivery]:
    """``(user id, category)`` → the chosen delivery, for every stored preference of
    ``user_ids`` (one query). Missing pairs mean the default."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(MessagePreference.user_id, MessagePreference.category, MessagePreference.delivery)
        .where(MessagePreference.user_id.in_(ids))).all()
    found: dict[tuple[int, str], Delivery] = {}
    for user_id, category, delivery in rows:
        try:
            found[(user_id, category)] = Delivery(delivery)
        except ValueError:  # a value from an older version: treat as the default
            continue
    return found


def delivery_of(chosen: dict[tuple[int, str], Delivery], user_id: int,
                category: Category) -> Delivery:
    return chosen.get((user_id, category.value), default(category))


def preferences_of(user: User) -> dict[Category, Delivery]:
    """Every category's delivery for ``user`` (stored or default)."""
    chosen = deliveries_for([user.id])
    return {category: delivery_of(chosen, user.id, category) for category in CATEGORIES}


def _check(wanted: dict[Category, Delivery]) -> None:
    """:raise DomainError: a choice a category does not offer (naming the category)."""
    for category, delivery in wanted.items():
        info = CATEGORIES.get(category)
        if info is None or delivery not in info.choices:
            raise DomainError("Choose one of the options offered.", field=category.value)


def _store(user: User, wanted: dict[Category, Delivery]) -> list[Category]:
    """Store the choices that differ from what ``user`` has now: one read, then one upsert
    statement for all of them. Returns the categories that changed."""
    current = preferences_of(user)
    changed = [category for category, delivery in wanted.items()
               if current[category] is not delivery]
    if changed:
        now = now_utc()
        insert = insert_for(db.session)
        stmt = insert(MessagePreference.__table__)
        db.session.execute(
            stmt.on_conflict_do_update(index_elements=["user_id", "category"],
                                       set_={"delivery": stmt.excluded.delivery,
                                             "updated_at": stmt.excluded.updated_at}),
            [{"user_id": user.id, "category": c.value, "delivery": wanted[c].value,
              "updated_at": now} for c in changed])
    return changed


def update_preferences(user: User, wanted: dict[Category, Delivery]) -> list[Category]:
    """Store several choices; returns the categories that changed (audited once, as a list).

    :raise DomainError: a choice a category does not offer (nothing is stored).
    """
    _check(wanted)
    changed = _store(user, wanted)
    if changed:
        record("account.email_preferences", actor=user, subject=user,
               changed={c.value: wanted[c].value for c in changed})
    db.session.flush()
    return changed


def audiences_of(user: User) -> set[str]:
    """Which audiences' categories a person sees: participant always (anyone may join a
    cohort), patron and facilitator when they hold those roles anywhere."""
    from dap.cohorts.models import CohortRole, Membership

    roles = set(db.session.scalars(
        select(Membership.role).where(Membership.user_id == user.id).distinct()))
    audiences = {"participant"}
    if CohortRole.PATRON in roles:
        audiences.add("patron")
    if CohortRole.FACILITATOR in roles or user.is_facilitator or user.is_admin:
        audiences.add("facilitator")
    return audiences


# --- unsubscribe ---------------------------------------------------------------------------------


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user_id: int, category: Category, *, secret_key: str) -> str:
    """A signed token naming one person and one category (no expiry: see the module)."""
    return _serializer(secret_key).dumps([user_id, category.value])


@dataclass(frozen=True)
class Unsubscribe:
    user: User
    category: Category


def read_unsubscribe_token(token: str, *, secret_key: str) -> Unsubscribe | None:
    """The person and category a token names, or None for a token that is tampered with,
    cut short, names an unknown category, or a person whose account is gone."""
    if not token or len(token) > 400:
        return None
    try:
        user_id, category = _serializer(secret_key).loads(token)
        category = Category(category)
    except (BadSignature, ValueError, TypeError):
        return None
    if (not isinstance(user_id, int) or isinstance(user_id, bool)
            or (category not in CATEGORIES and category is not Category.ALL)):
        return None
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        return None
    return Unsubscribe(user, category)


def unsubscribe_url(user_id: int, category: Category, *, base_url: str,
                    secret_key: str) -> str:
    """The absolute address of the one-click unsubscribe page for ``category``."""
    token = unsubscribe_token(user_id, category, secret_key=secret_key)
    return f"{base_url.rstrip('/')}/unsubscribe/{token}"


def label_of(category: Category) -> str:
    """How a category is named on the unsubscribe page."""
    if category is Category.ALL:
        return "all emails from DAP (in-app messages stay)"
    info = CATEGORIES.get(category)
    return info.label if info else category.value


def unsubscribe(target: Unsubscribe) -> bool:
    """Turn the category's emails off (every category's, for ``all``); returns False when
    they already were (a link used twice changes nothing and records nothing the second
    time)."""
    categories = list(CATEGORIES) if target.category is Category.ALL else [target.category]
    changed = _store(target.user, dict.fromkeys(categories, Delivery.OFF))
    if changed:
        record("account.unsubscribed", actor=target.user, subject=target.user,
               category=target.category.value)
    db.session.flush()
    return bool(changed)
