"""Who may do what: every permission rule of DAP, in one place.

Each view is wrapped by exactly one *access rule* decorator (``public``, ``signed_in``,
``facilitator``, ``admin``…). The decorator records the rule on the function, and
``tests/test_policy_url_map.py`` fails for any endpoint without one. Rules about *objects*
(may this facilitator see that cohort?) are predicates here too, and the ``load_*``
helpers answer 404 for objects that are missing or out of the user's scope, so a URL
never reveals whether something exists.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, session
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from dap.accounts.services import SessionIdentity, parse_identity
from dap.extensions import db, login_manager

F = TypeVar("F", bound=Callable[..., Any])

ACCESS_ATTR = "_dap_access"


class Access(enum.StrEnum):
    """The access rules a route can declare."""

    PUBLIC = "public"  #: anyone, signed in or not
    ANONYMOUS_ONLY = "anonymous_only"  #: pages for signed-out people (they redirect if signed in)
    SIGNED_IN = "signed_in"  #: any active account
    #: any active account, for a page's scripts: signed out is a 401, not a redirect
    SIGNED_IN_JSON = "signed_in_json"
    #: any active account, for the one script too frequent to load the user with every
    #: call (the heartbeat: twice a minute per open tab). The rule reads who the session
    #: names (``session_identity``); the view checks that identity inside its own
    #: statement (``accounts.services.SESSION_CRITERIA``, the user loader's rule) and
    #: answers 401 when it fails. Signed out is a 401.
    SIGNED_IN_LEAN = "signed_in_lean"
    #: the JSON API: a personal access token (``Authorization: Bearer``) of any scope,
    #: never a session cookie; without a usable token a 401 problem (``dap.api.auth``)
    TOKEN_READ = "token_read"  # noqa: S105 - a rule name, not a secret
    #: the JSON API: a read-write token (a read token gets 403 ``insufficient_scope``)
    TOKEN_WRITE = "token_write"  # noqa: S105 - a rule name, not a secret
    FACILITATOR = "facilitator"  #: site facilitators and admins
    ADMIN = "admin"  #: admins only


def access_rule(view: Callable[..., Any]) -> Access | None:
    """The rule a view function declared, or ``None``."""
    return getattr(view, ACCESS_ATTR, None)


def declare(rule: Access, view: F) -> F:
    """Record ``rule`` on a view that enforces access by other means (Flask's static files)."""
    setattr(view, ACCESS_ATTR, rule)
    return view


def _require(rule: Access) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            check(rule)
            return view(*args, **kwargs)

        return declare(rule, wrapped)  # type: ignore[arg-type]

    return decorator


def check(rule: Access) -> None:
    """Enforce ``rule`` for the current request.

    :raise 401-redirect: anonymous users are sent to sign in (Flask-Login's ``unauthorized``).
    :raise 403: signed-in users whose site role does not allow the page.
    """
    if rule in (Access.PUBLIC, Access.ANONYMOUS_ONLY):
        return
    if rule in (Access.TOKEN_READ, Access.TOKEN_WRITE):
        from dap.api import auth  # local: the API builds on the domains, which import policy

        auth.require(write=rule is Access.TOKEN_WRITE)
        return
    if rule is Access.SIGNED_IN_LEAN:
        if session_identity() is None:
            abort(401)
        return
    if not current_user.is_authenticated:
        if rule is Access.SIGNED_IN_JSON:
            abort(401)
        abort(login_manager.unauthorized())
    if rule in (Access.SIGNED_IN, Access.SIGNED_IN_JSON):
        return
    if rule is Access.FACILITATOR and is_facilitator(current_user):
        return
    if rule is Access.ADMIN and is_admin(current_user):
        return
    abort(403)


public = _require(Access.PUBLIC)
anonymous_only = _require(Access.ANONYMOUS_ONLY)
signed_in = _require(Access.SIGNED_IN)
signed_in_json = _require(Access.SIGNED_IN_JSON)
signed_in_lean = _require(Access.SIGNED_IN_LEAN)
facilitator = _require(Access.FACILITATOR)
admin = _require(Access.ADMIN)


def session_identity() -> SessionIdentity | None:
    """Who this request's session names, without loading the user (memoised per request).
    Not a check: ``SESSION_CRITERIA`` decides whether the session is still good. A session
    naming no one goes through Flask-Login (a remember-me cookie restores it)."""
    if "_dap_identity" not in g:
        raw = session.get("_user_id")  # Flask-Login's key for ``User.get_id()``
        if raw is None and current_user.is_authenticated:
            raw = current_user.get_id()
        g._dap_identity = parse_identity(raw)
    return g._dap_identity


# --- predicates -----------------------------------------------------------------------


def is_admin(user: Any) -> bool:
    """Admins may do everything."""
    return bool(getattr(user, "is_authenticated", False) and user.is_admin)


def is_facilitator(user: Any) -> bool:
    """Site facilitators may create and run cohorts; admins count as facilitators."""
    return bool(getattr(user, "is_authenticated", False) and (user.is_facilitator or user.is_admin))


def can_manage_users(user: Any) -> bool:
    """Only admins list, create, promote and deactivate accounts."""
    return is_admin(user)


def roles_of(user: Any) -> list[str]:
    """Every role ``user`` holds anywhere, for the header: site flags then cohort roles.

    One query per request at most (memoised on ``flask.g``).
    """
    if not getattr(user, "is_authenticated", False):
        return []
    cached = g.get("_dap_roles")
    if cached is not None:
        return cached
    from dap.cohorts.models import Membership, MembershipStatus  # local: cohorts imports accounts

    roles: list[str] = []
    if user.is_admin:
        roles.append("admin")
    if user.is_facilitator:
        roles.append("facilitator")
    cohort_roles = db.session.scalars(
        select(Membership.role)
        .where(Membership.user_id == user.id, Membership.status == MembershipStatus.ACTIVE)
        .distinct()
    ).all()
    order = ["facilitator", "participant", "patron"]
    for role in sorted({r.value for r in cohort_roles}, key=order.index):
        if role not in roles:
            roles.append(role)
    g._dap_roles = roles
    return roles


def active_membership(user: Any, cohort_id: int) -> Any | None:
    """``user``'s active membership of the cohort, or None (memoised per request)."""
    from dap.cohorts.models import Membership, MembershipStatus

    if not getattr(user, "is_authenticated", False):
        return None
    cache = g.setdefault("_dap_memberships", {})
    key = (user.id, cohort_id)
    if key not in cache:
        cache[key] = db.session.scalar(
            select(Membership).where(
                Membership.user_id == user.id, Membership.cohort_id == cohort_id,
                Membership.status == MembershipStatus.ACTIVE,
            )
        )
    return cache[key]


def can_manage_cohort(user: Any, cohort: Any) -> bool:
    """Admins manage every cohort; a facilitator manages the cohorts where they hold an
    active facilitator membership (they created it or were added as co-facilitator)."""
    from dap.cohorts.models import CohortRole

    if is_admin(user):
        return True
    membership = active_membership(user, cohort.id)
    return membership is not None and membership.role is CohortRole.FACILITATOR


def can_view_cohort(user: Any, cohort: Any) -> bool:
    """Active members of any role, and whoever may manage it."""
    return can_manage_cohort(user, cohort) or active_membership(user, cohort.id) is not None


def can_edit_cohort(user: Any, cohort: Any) -> bool:
    """Managing, and the cohort is not archived (archived cohorts are read-only)."""
    return can_manage_cohort(user, cohort) and not cohort.is_archived


def is_patron_of(user: Any, participant_id: int, cohort_id: int) -> bool:
    """``user`` has an active patron link to the participant in that cohort."""
    from dap.cohorts.models import PatronLink

    if not getattr(user, "is_authenticated", False):
        return False
    return db.session.scalar(
        select(PatronLink.id).where(
            PatronLink.patron_id == user.id, PatronLink.participant_id == participant_id,
            PatronLink.cohort_id == cohort_id, PatronLink.ended_at.is_(None),
        )
    ) is not None


def load_patron_participant(user: Any, cohort_id: int, membership_id: int) -> tuple[Any, Any]:
    """``(cohort, membership)`` of an active participant ``user`` is an active patron of
    (the people a patron may nudge).

    :raise 404: for anyone else — other members, managers, ended links, other cohorts.
    """
    from dap.cohorts.models import CohortRole, MembershipStatus

    cohort = load_cohort(user, cohort_id)
    membership = load_membership(cohort, membership_id)
    if (membership.role is not CohortRole.PARTICIPANT
            or membership.status is not MembershipStatus.ACTIVE
            or not is_patron_of(user, membership.user_id, cohort.id)):
        abort(404)
    return cohort, membership


def load_notification(user: Any, notification_id: int) -> Any:
    """One of ``user``'s own notifications.

    :raise 404: when it does not exist or is someone else's.
    """
    from dap.nudges.models import Notification

    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != getattr(user, "id", None):
        abort(404)
    return notification


def can_view_member(viewer: Any, member: Any, cohort: Any) -> bool:
    """Oneself, the cohort's managers, and the member's active patrons."""
    if getattr(viewer, "id", None) == member.id:
        return True
    return can_manage_cohort(viewer, cohort) or is_patron_of(viewer, member.id, cohort.id)


# --- loading with scope -----------------------------------------------------------------


def load_cohort(user: Any, cohort_id: int, *, manage: bool = False, edit: bool = False) -> Any:
    """Load a cohort ``user`` may view (or manage, or edit).

    :raise 404: when it does not exist or is outside the user's scope — including for
        removed members and members of other cohorts.
    :raise 403: (only with ``edit``) when a manager opens an archived cohort's edit page.
    """
    from dap.cohorts.models import Cohort

    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        abort(404)
    allowed = can_manage_cohort(user, cohort) if (manage or edit) else can_view_cohort(user, cohort)
    if not allowed:
        abort(404)
    if edit and cohort.is_archived:
        abort(403)
    return cohort



def load_user_for_admin(actor: Any, user_id: int) -> Any:
    """Load a user an admin may manage.

    :raise 404: when the user does not exist or ``actor`` may not manage users.
    """
    from dap.accounts.models import User

    if not can_manage_users(actor):
        abort(404)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def load_organisation(organisation_id: int) -> Any:
    """An organisation. Organisations are shared by every facilitator (the route's rule
    checks the site role), so only a missing one is a 404."""
    from dap.cohorts.models import Organisation

    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        abort(404)
    return organisation


def load_membership(cohort: Any, membership_id: int) -> Any:
    """A membership of ``cohort`` (any status).

    :raise 404: when it does not exist or belongs to another cohort.
    """
    from dap.cohorts.models import Membership

    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.cohort_id != cohort.id:
        abort(404)
    return membership


def load_invitation(user: Any, cohort: Any, invitation_id: int) -> Any:
    """An invitation of ``cohort`` that ``user`` may act on: the cohort's managers any;
    a participant the patron invitations they sent.

    :raise 404: otherwise.
    """
    from dap.cohorts.models import Invitation

    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.cohort_id != cohort.id:
        abort(404)
    if not (can_manage_cohort(user, cohort) or invitation.participant_id == user.id):
        abort(404)
    return invitation


def load_patron_link(user: Any, cohort: Any, link_id: int) -> Any:
    """A patron link of ``cohort`` that ``user`` may end: the cohort's managers, or the
    participant it belongs to.

    :raise 404: otherwise.
    """
    from dap.cohorts.models import PatronLink

    link = db.session.get(PatronLink, link_id)
    if link is None or link.cohort_id != cohort.id:
        abort(404)
    if not (can_manage_cohort(user, cohort) or link.participant_id == user.id):
        abort(404)
    return link


def load_event(cohort: Any, event_id: int) -> Any:
    """An event of ``cohort`` (the caller has loaded the cohort with its scope).

    :raise 404: when it does not exist or belongs to another cohort.
    """
    from dap.events.models import Event

    event = db.session.get(Event, event_id)
    if event is None or event.cohort_id != cohort.id:
        abort(404)
    return event


def load_cohort_event(user: Any, cohort_id: int, event_id: int, *, manage: bool = False,
                      edit: bool = False) -> tuple[Any, Any]:
    """``(cohort, event)``: ``load_cohort`` with its scope, then ``load_event`` in it."""
    cohort = load_cohort(user, cohort_id, manage=manage, edit=edit)
    return cohort, load_event(cohort, event_id)


def load_slot(cohort: Any, slot_id: int) -> Any:
    """A 1:1 slot of ``cohort`` (the caller has loaded the cohort with its scope).

    :raise 404: when it does not exist or belongs to another cohort.
    """
    from dap.support.models import SupportSlot

    slot = db.session.get(SupportSlot, slot_id)
    if slot is None or slot.cohort_id != cohort.id:
        abort(404)
    return slot


def can_answer_event(user: Any, cohort: Any) -> bool:
    """Participants answer their cohort's events (facilitators run them; patrons read)."""
    from dap.cohorts.models import CohortRole

    membership = active_membership(user, cohort.id)
    return membership is not None and membership.role is CohortRole.PARTICIPANT


def require_participant(user: Any, cohort: Any) -> Any:
    """``user``'s active participant membership of ``cohort``.

    :raise 404: for anyone who is not an active participant there.
    """
    from dap.cohorts.models import CohortRole

    membership = active_membership(user, cohort.id)
    if membership is None or membership.role is not CohortRole.PARTICIPANT:
        abort(404)
    return membership


def can_delete_account(actor: Any, user: Any) -> bool:
    """Admins may delete any account; a cohort's facilitators may delete a managed
    ("supported digital") participant of a cohort they manage. (Everyone may delete their
    own, from /account/delete.)"""
    if is_admin(actor):
        return True
    if not user.is_managed:
        return False
    from dap.cohorts.models import CohortRole, Membership, MembershipStatus

    memberships = db.session.scalars(
        select(Membership).options(joinedload(Membership.cohort))
        .where(Membership.user_id == user.id, Membership.role == CohortRole.PARTICIPANT,
               Membership.status != MembershipStatus.REMOVED)
    ).all()
    return any(can_manage_cohort(actor, m.cohort) for m in memberships)


def load_user_to_delete(actor: Any, user_id: int) -> Any:
    """The undeleted account ``actor`` may delete.

    :raise 404: when it does not exist, is already deleted, or is outside ``actor``'s scope.
    """
    from dap.accounts.models import User

    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None or not can_delete_account(actor, user):
        abort(404)
    return user
