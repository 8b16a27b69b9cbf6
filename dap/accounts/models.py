"""The user account, its browser sessions and its personal access tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dap.clock import now_utc
from dap.db import str_enum
from dap.extensions import db


class User(db.Model):
    """A person who can sign in. Cohort roles (participant, patron, co-facilitator) live on
    memberships; ``is_facilitator`` and ``is_admin`` are site-level flags."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("session_epoch >= 0", name="session_epoch_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: normalised (trimmed, lower-case) address; unique. None for managed ("supported
    #: digital") people without email, and for deleted accounts
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: argon2id hash (argon2-cffi's encoded form); empty for accounts that have not set one
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_facilitator: Mapped[bool] = mapped_column(default=False)
    #: deactivated accounts cannot sign in; deactivation also bumps ``session_epoch``
    is_active: Mapped[bool] = mapped_column(default=True)
    #: a "supported digital" participant whose plan a facilitator keeps on their behalf;
    #: they cannot sign in until they take the account over from an invitation
    is_managed: Mapped[bool] = mapped_column(default=False)
    #: set when the account was deleted; personal data is erased, the row keeps records
    #: attributed to "a deleted user"
    deleted_at: Mapped[datetime | None]
    #: bumped to end every session and remember-me cookie of this user
    session_epoch: Mapped[int] = mapped_column(default=0)
    #: consecutive failed sign-ins; reset on success
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"

    # Flask-Login protocol. The id carries the session epoch, so bumping the epoch
    # invalidates every session cookie and remember-me cookie issued before.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    #: the token of the browser session this object was loaded for (not stored on the row)
    session_token: str = ""

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}:{self.session_token}"

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else (self.email or "")


class UserSession(db.Model):
    """One signed-in browser. Signing out deletes its row, so a copied session or
    remember-me cookie stops working; ``session_epoch`` ends all of a user's sessions at once."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the random token kept in the (signed) cookie
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    def __repr__(self) -> str:
        return f"<UserSession {self.id} user={self.user_id}>"


class TokenScope(enum.StrEnum):
    """What a personal access token may do."""

    READ = "read"  #: GET requests only
    READ_WRITE = "read-write"  #: reads and writes


class ApiToken(db.Model):
    """A personal access token for the JSON API. Only its SHA-256 is stored: the token
    itself is shown once, when it is made. Revoking keeps the row (the owner and admins see
    what was revoked, when and by whom)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    scope: Mapped[TokenScope] = mapped_column(str_enum(TokenScope, "token_scope"))
    #: SHA-256 (hex) of the whole token
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the token's first characters, to tell tokens apart in lists ("dap_Xy12…")
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: the end of its last day; None: it does not expire
    expires_at: Mapped[datetime | None]
    #: updated at most once a minute
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}… user={self.user_id}>"
