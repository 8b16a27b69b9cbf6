"""Personal access tokens for the JSON API: made, checked, listed and revoked.

A token is ``dap_`` and 40 random URL-safe characters (240 bits). Only its SHA-256 is
stored, so a copy of the database opens nothing. It is shown once, when it is made; it
acts for its owner with the scope it was given (read, or read and write) until it expires
(at the end of the chosen day in the owner's time zone) or is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import contains_eager

from dap.accounts.models import ApiToken, TokenScope, User
from dap.audit.services import record
from dap.clock import local_date, now_utc
from dap.errors import DomainError
from dap.extensions import db
from dap.text import clean_text

PREFIX = "dap_"
NAME_MAX = 80
#: live tokens one person may hold at once
MAX_LIVE = 20
#: the furthest expiry one may choose
MAX_LIFETIME = timedelta(days=366)
#: ``last_used_at`` is written at most this often (a read does not become a write)
TOUCH_EVERY = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def is_live(token: ApiToken, *, at: datetime | None = None) -> bool:
    at = at or now_utc()
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > at)


def create(user: User, *, name: str, scope: TokenScope | str | None, expires_on: date | None,
           actor: User) -> tuple[ApiToken, str]:
    """Make a token for ``user``; returns it and the secret, which is not kept.

    :raise DomainError: naming the wrong field: no name, an unknown scope, an expiry day
        that has passed or is more than a year ahead, too many live tokens, or an account
        that cannot use the API (managed accounts do not sign in).
    """
    if user.is_managed or not user.is_active or user.deleted_at is not None:
        raise DomainError("This account cannot use the API.")
    name = clean_text(name, field="name", max_len=NAME_MAX, label="a name for the token",
                      required=True)
    try:
        scope = TokenScope(scope)
    except ValueError:
        raise DomainError("Choose read, or read and write.", field="scope") from None
    today = local_date(now_utc(), user.timezone)
    expires_at = None
    if expires_on is not None:
        if expires_on < today:
            raise DomainError("That day has passed: choose today or a later day.",
                              field="expires_on")
        if expires_on > today + MAX_LIFETIME:
            raise DomainError("Choose a day within a year, or no expiry.", field="expires_on")
        end = datetime.combine(expires_on + timedelta(days=1), time(), ZoneInfo(user.timezone))
        expires_at = end.astimezone(now_utc().tzinfo)
    live = db.session.scalar(
        select(func.count()).select_from(ApiToken).where(*_live_of(user.id))) or 0
    if live >= MAX_LIVE:
        raise DomainError(f"At most {MAX_LIVE} live tokens: revoke one you no longer use.",
                          field="name")
    secret = PREFIX + secrets.token_urlsafe(30)
    token = ApiToken(user_id=user.id, name=name, scope=scope, token_hash=hash_token(secret),
                     prefix=secret[:8], expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    record("api_token.created", actor=actor, subject=user, token_id=token.id, name=name,
           scope=scope.value, expires_on=expires_on.isoformat() if expires_on else None)
    return token, secret


def _live_of(user_id: int) -> tuple:
    now = now_utc()
    return (ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None),
            (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))


def revoke(token: ApiToken, *, actor: User | None) -> bool:
    """Revoke ``token`` (its owner, an admin, or None: the command line); False when it was
    already revoked."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now_utc()
    token.revoked_by_id = actor.id if actor is not None else None
    db.session.flush()
    record("api_token.revoked", actor=actor, subject=token.user, token_id=token.id,
           name=token.name)
    return True


def tokens_of(user: User) -> list[ApiToken]:
    """Every token ``user`` has made, newest first (revoked and expired ones too)."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def live_tokens(*, page: int = 1, per_page: int = 50) -> tuple[list[ApiToken], int]:
    """One page of every live token on the site with its owner, newest first, for admins;
    and how many there are."""
    now = now_utc()
    live = (ApiToken.revoked_at.is_(None),
            (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))
    total = db.session.scalar(select(func.count()).select_from(ApiToken).where(*live)) or 0
    rows = list(db.session.scalars(
        select(ApiToken).join(ApiToken.user).where(*live)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        .options(contains_eager(ApiToken.user))
        .limit(per_page).offset((page - 1) * per_page)))
    return rows, total


class TokenRefused(Exception):  # noqa: N818 - reads as what happened
    """A bearer token that opens nothing: ``reason`` is ``invalid``, ``expired`` or
    ``revoked`` (the last two only for a token that once was good)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Bearer:
    """Who a request's token acts for, and how."""

    token_id: int
    scope: TokenScope
    user: User
    #: ``last_used_at`` is due an update (``touch``)
    stale: bool = False


def authenticate(secret: str) -> Bearer:
    """The token and owner for a presented secret (one query).

    :raise TokenRefused: unknown, expired or revoked, or its owner deactivated or deleted.
    """
    if not secret.startswith(PREFIX) or len(secret) > 200:
        raise TokenRefused("invalid")
    row = db.session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(secret))).first()
    if row is None:
        raise TokenRefused("invalid")
    token, user = row
    now = now_utc()
    if token.revoked_at is not None:
        raise TokenRefused("revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused("expired")
    if not user.is_active or user.deleted_at is not None or user.is_managed:
        raise TokenRefused("invalid")
    stale = token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY
    return Bearer(token_id=token.id, scope=token.scope, user=user, stale=stale)


def touch(token_id: int) -> None:
    """Note that the token was used now (the caller commits)."""
    db.session.execute(update(ApiToken).where(ApiToken.id == token_id)
                       .values(last_used_at=now_utc()))
