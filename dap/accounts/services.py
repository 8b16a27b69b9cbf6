"""Account rules: creating users, signing in, passwords, reset links, sessions."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, func, or_, select, update

from dap.accounts.models import User, UserSession
from dap.clock import now_utc
from dap.errors import DomainError
from dap.extensions import db
from dap.tokens import serializer

log = logging.getLogger(__name__)

PASSWORD_MIN = 10
PASSWORD_MAX = 200
NAME_MAX = 120

#: a valid argon2id hash of nothing anyone knows, verified when an email is unknown so that
#: "unknown email" and "wrong password" take the same time.
_DUMMY_PASSWORD = "not-a-real-password-for-timing"  # noqa: S105


@dataclass(frozen=True)
class HashParams:
    """argon2id cost parameters. The defaults are argon2-cffi's RFC 9106 low-memory profile
    (t=3, 64 MiB, p=4), above OWASP's minimum (t=2, 19 MiB, p=1)."""

    time_cost: int = 3
    memory_cost: int = 65536
    parallelism: int = 4

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_cost, parallelism=self.parallelism
        )


_hashers: dict[HashParams, PasswordHasher] = {}
_dummy_hashes: dict[HashParams, str] = {}


def _hasher(params: HashParams) -> PasswordHasher:
    if params not in _hashers:
        _hashers[params] = params.hasher()
    return _hashers[params]


def hash_password(password: str, params: HashParams) -> str:
    """An argon2id hash of ``password``."""
    return _hasher(params).hash(password)


def check_password(user: User, password: str, params: HashParams) -> bool:
    """True when ``password`` matches; rehashes (without committing) when ``params`` changed."""
    hasher = _hasher(params)
    if not user.password_hash:
        _burn_time(params, password)
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
        log.info("rehashed password for user %s with new parameters", user.id)
    return True


def _burn_time(params: HashParams, password: str) -> None:
    if params not in _dummy_hashes:
        _dummy_hashes[params] = hash_password(_DUMMY_PASSWORD, params)
    with contextlib.suppress(VerificationError):
        _hasher(params).verify(_dummy_hashes[params], password)


# --- validation ---------------------------------------------------------------------------


def normalise_email(raw: str | None, *, field: str = "email") -> str:
    """Trim and lower-case an address and check its syntax (unicode addresses allowed).

    :raise DomainError: when it is empty or not an address.
    """
    value = (raw or "").strip()
    if not value:
        raise DomainError("Enter an email address.", field=field)
    if len(value) > 254:
        raise DomainError("That email address is too long.", field=field)
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise DomainError(
            "Enter an email address like name@example.org.", field=field
        ) from None
    return result.normalized.lower()


def validate_password(password: str | None, *, email: str = "", field: str = "password") -> str:
    """Check a new password's length and that it is not the email address.

    :raise DomainError: naming ``field``.
    """
    value = password or ""
    if len(value) < PASSWORD_MIN:
        raise DomainError(f"Use at least {PASSWORD_MIN} characters.", field=field)
    if len(value) > PASSWORD_MAX:
        raise DomainError(f"Use at most {PASSWORD_MAX} characters.", field=field)
    if email and value.strip().lower() == email.lower():
        raise DomainError("Your password cannot be your email address.", field=field)
    return value


def validate_name(name: str | None, *, field: str = "name") -> str:
    """A display name: trimmed, 1–120 characters.

    :raise DomainError: naming ``field``.
    """
    value = " ".join((name or "").split())
    if not value:
        raise DomainError("Enter a name.", field=field)
    if len(value) > NAME_MAX:
        raise DomainError(f"Use at most {NAME_MAX} characters.", field=field)
    return value


_TIMEZONES: frozenset[str] | None = None


def timezone_names() -> list[str]:
    """Every IANA time zone name, sorted (from the tzdata package)."""
    global _TIMEZONES  # noqa: PLW0603 - computed once
    if _TIMEZONES is None:
        _TIMEZONES = frozenset(
            n for n in available_timezones() if "/" in n and not n.startswith(("Etc/", "SystemV/"))
        ) | {"UTC"}
    return sorted(_TIMEZONES)


def validate_timezone(name: str | None, *, field: str = "timezone") -> str:
    """An IANA time zone name.

    :raise DomainError: for anything else.
    """
    value = (name or "").strip()
    if value not in set(timezone_names()):
        raise DomainError("Choose a time zone from the list.", field=field)
    ZoneInfo(value)
    return value


# --- users --------------------------------------------------------------------------------


def get_user_by_email(email: str) -> User | None:
    """The user with this (already normalised) address, or ``None``."""
    return db.session.scalar(select(User).where(User.email == email))


def create_user(
    *,
    email: str,
    name: str,
    password: str | None,
    params: HashParams,
    timezone: str = "Europe/London",
    is_admin: bool = False,
    is_facilitator: bool = False,
) -> User:
    """Create an account. ``password=None`` leaves it without one (set later by a reset or
    an invitation link).

    :raise DomainError: for a bad or already used email, a bad name, password or time zone.
    """
    address = normalise_email(email)
    clean_name = validate_name(name)
    tz = validate_timezone(timezone)
    if get_user_by_email(address) is not None:
        raise DomainError("An account with this email address already exists.", field="email")
    user = User(
        email=address,
        name=clean_name,
        timezone=tz,
        is_admin=is_admin,
        is_facilitator=is_facilitator,
        password_hash="",
    )
    if password is not None:
        user.password_hash = hash_password(validate_password(password, email=address), params)
    db.session.add(user)
    db.session.flush()
    log.info("created user %s", user.id)
    return user


class SignInError(DomainError):
    """Sign-in refused. ``code`` is ``bad_credentials``, ``locked`` or ``inactive``."""


BAD_CREDENTIALS = "That email and password do not match an account. Check them and try again."


def authenticate(
    *, email: str, password: str, params: HashParams, lockout_threshold: int,
    lockout_minutes: int, now: datetime | None = None,
) -> User:
    """Check an email and password.

    Unknown email and wrong password give the same message and take the same time. After
    ``lockout_threshold`` consecutive failures the account is locked for ``lockout_minutes``
    (so it never sees more than a few dozen attempts an hour, whichever addresses they
    come from). Counters are updated in SQL, not read-modify-write.

    :raise SignInError: ``bad_credentials``, ``locked`` or ``inactive``.
    """
    now = now or now_utc()
    try:
        address = normalise_email(email)
    except DomainError:
        _burn_time(params, password)
        raise SignInError(BAD_CREDENTIALS, code="bad_credentials") from None
    user = get_user_by_email(address)
    if user is None:
        _burn_time(params, password)
        raise SignInError(BAD_CREDENTIALS, code="bad_credentials")
    if user.locked_until is not None and user.locked_until > now:
        raise SignInError(
            "This account is locked for a few minutes after too many failed sign-ins. "
            "Try again later, or reset your password.",
            code="locked",
        )
    if not check_password(user, password, params):
        db.session.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=User.failed_logins + 1)
        )
        db.session.execute(
            update(User)
            .where(User.id == user.id, User.failed_logins >= lockout_threshold)
            .values(locked_until=now + timedelta(minutes=lockout_minutes), failed_logins=0)
        )
        raise SignInError(BAD_CREDENTIALS, code="bad_credentials")
    if not user.is_active:
        raise SignInError(
            "This account has been deactivated. Ask your facilitator or an administrator "
            "if you think this is a mistake.",
            code="inactive",
        )
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.flush()
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, user_agent: str = "") -> str:
    """Record a newly signed-in browser; returns the token to keep in its cookie and sets
    ``user.session_token`` so Flask-Login stores it."""
    token = secrets.token_urlsafe(24)
    db.session.add(UserSession(user_id=user.id, token_hash=_token_hash(token),
                               user_agent=(user_agent or "")[:200]))
    db.session.flush()
    user.session_token = token
    return token


def end_session(user: User) -> None:
    """Forget the browser session ``user`` was loaded for (signing out on this device)."""
    if user.session_token:
        db.session.execute(
            delete(UserSession).where(UserSession.user_id == user.id,
                                      UserSession.token_hash == _token_hash(user.session_token))
        )


#: Where a browser session is still good: the user, their session row (signed out on this
#: device deletes it), the epoch ("sign out everywhere" and deactivation bump it), an active
#: account, a session younger than ``since``. The one definition: the user loader and the
#: heartbeat (which checks the session inside its own statement) both use it.
SESSION_FROM = User.__table__.join(UserSession.__table__, UserSession.user_id == User.id)
SESSION_CRITERIA = (
    User.id == bindparam("user_id"), User.session_epoch == bindparam("epoch"),
    User.is_active.is_(True), UserSession.token_hash == bindparam("token_hash"),
    UserSession.created_at > bindparam("since"),
)
#: built once: every request of a signed-in person runs it
_SESSION_USER = select(User).select_from(SESSION_FROM).where(*SESSION_CRITERIA)
#: the largest id or epoch a session identity may name (a database integer)
_ID_MAX = 2_147_483_647


@dataclass(frozen=True)
class SessionIdentity:
    """A parsed Flask-Login identity ``"<id>:<epoch>:<token>"`` (see ``User.get_id``)."""

    user_id: int
    epoch: int
    token: str

    def params(self, *, max_age: timedelta | None = None) -> dict[str, object]:
        """The bind parameters of ``SESSION_CRITERIA``: sessions last ``max_age``, by
        default the app's ``REMEMBER_COOKIE_DURATION``."""
        if max_age is None:
            max_age = current_app.config["REMEMBER_COOKIE_DURATION"]
        return {"user_id": self.user_id, "epoch": self.epoch,
                "token_hash": _token_hash(self.token), "since": now_utc() - max_age}


def parse_identity(identity: object) -> SessionIdentity | None:
    """``"<id>:<epoch>:<token>"`` from a session, or None for anything else (a value of
    another type, missing parts, numbers beyond a database integer)."""
    if not isinstance(identity, str) or len(identity) > 200:
        return None
    parts = identity.split(":")
    if len(parts) != 3 or not parts[2]:
        return None
    numbers = parts[0], parts[1]
    if not all(n.isascii() and n.isdigit() and int(n) <= _ID_MAX for n in numbers):
        return None
    return SessionIdentity(int(parts[0]), int(parts[1]), parts[2])


def load_session_user(identity: str, *, max_age: timedelta) -> User | None:
    """The active user for a Flask-Login identity ``"<id>:<epoch>:<token>"``, or ``None``
    when the session was signed out, ended everywhere, is older than ``max_age``, or the
    account is deactivated. One query."""
    parsed = parse_identity(identity)
    if parsed is None:
        return None
    user = db.session.scalar(_SESSION_USER, parsed.params(max_age=max_age))
    if user is not None:
        user.session_token = parsed.token
    return user


def list_sessions(user: User) -> list[tuple[UserSession, bool]]:
    """The browsers ``user`` is signed in on, newest first, each with whether it is the
    one ``user`` was loaded for."""
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id)
        .order_by(UserSession.created_at.desc(), UserSession.id.desc())
    ).all()
    current = _token_hash(user.session_token) if user.session_token else ""
    return [(row, row.token_hash == current) for row in rows]


def end_other_sessions(user: User) -> None:
    """End every session of ``user``: bump the epoch in SQL (so every cookie issued before
    stops working) and delete the session rows. The caller signs the current browser in
    again if it should stay signed in."""
    db.session.execute(
        update(User).where(User.id == user.id).values(session_epoch=User.session_epoch + 1)
    )
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    db.session.refresh(user)


def prune_sessions(*, older_than: timedelta) -> int:
    """Delete session rows older than ``older_than`` (their cookies have expired)."""
    result = db.session.execute(
        delete(UserSession).where(UserSession.created_at < now_utc() - older_than)
    )
    return result.rowcount or 0


def change_password(user: User, *, current: str, new: str, params: HashParams) -> None:
    """Change a password after checking the current one; ends every other session.

    :raise DomainError: on a wrong current password or an unacceptable new one.
    """
    if not check_password(user, current or "", params):
        raise DomainError("Your current password is not right.", field="current_password")
    user.password_hash = hash_password(validate_password(new, email=user.email, field="new_password"),
                                       params)
    db.session.flush()
    end_other_sessions(user)


def update_profile(user: User, *, name: str, timezone: str) -> None:
    """Change the display name and time zone.

    :raise DomainError: naming the bad field.
    """
    user.name = validate_name(name)
    user.timezone = validate_timezone(timezone)
    db.session.flush()


def set_active(user: User, *, active: bool, actor: User) -> None:
    """Deactivate or reactivate an account. Deactivation ends all of its sessions.

    :raise DomainError: when an admin tries to deactivate themselves, or to reactivate a
        deleted account.
    """
    if user.deleted_at is not None:
        raise DomainError("This account was deleted; it cannot be reactivated.")
    if not active and user.id == actor.id:
        raise DomainError("You cannot deactivate your own account.")
    user.is_active = active
    if active:
        user.failed_logins = 0
        user.locked_until = None
    db.session.flush()
    if not active:
        end_other_sessions(user)
    log.info("user %s %s by %s", user.id, "reactivated" if active else "deactivated", actor.id)


def set_site_roles(user: User, *, is_admin: bool, is_facilitator: bool, actor: User) -> None:
    """Grant or remove the site-level admin and facilitator flags.

    :raise DomainError: when an admin would remove their own admin flag (someone must stay),
        or the account was deleted.
    """
    if user.deleted_at is not None:
        raise DomainError("This account was deleted; it cannot hold roles.")
    if user.id == actor.id and not is_admin:
        raise DomainError("You cannot remove your own admin role.", field="is_admin")
    user.is_admin = is_admin
    user.is_facilitator = is_facilitator
    db.session.flush()


def search_users(query: str = "", *, page: int = 1, per_page: int = 25) -> tuple[list[User], int]:
    """Users whose name or email contains ``query`` (case-insensitive), newest first,
    one page of them and the total count."""
    stmt = select(User)
    q = (query or "").strip()[:100]
    if q:
        like = "%" + escape_like(q.lower()) + "%"
        stmt = stmt.where(
            or_(func.lower(User.name).like(like, escape="\\"),
                func.lower(User.email).like(like, escape="\\"))
        )
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    users = db.session.scalars(
        stmt.order_by(User.name, User.id).limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(users), total


def escape_like(text: str) -> str:
    """Escape ``\\``, ``%`` and ``_`` for a LIKE pattern using ``\\`` as the escape."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- password reset ----------------------------------------------------------------------

RESET_SALT = "dap.password-reset"


def _reset_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return serializer(secret_key, salt=RESET_SALT)


def _password_fingerprint(user: User) -> str:
    """Changes whenever the password (or session epoch) changes, making a used link stale."""
    material = f"{user.password_hash}|{user.session_epoch}".encode()
    return hashlib.sha256(material).hexdigest()[:16]


def make_reset_token(user: User, secret_key: str) -> str:
    """A signed, timestamped token naming the user and their current password fingerprint."""
    return _reset_serializer(secret_key).dumps({"u": user.id, "f": _password_fingerprint(user)})


def user_for_reset_token(token: str, *, secret_key: str, max_age: int) -> User:
    """The user a reset token is for, if it is genuine, fresh and unused.

    :raise DomainError: ``expired``, ``used`` or ``invalid``, each with a clear message.
    """
    try:
        data = _reset_serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired:
        raise DomainError(
            "This reset link has expired. Ask for a new one below.", code="expired"
        ) from None
    except BadSignature:
        raise DomainError(
            "This reset link is not valid. Check you copied all of it, or ask for a new one.",
            code="invalid",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise DomainError("This reset link is not valid.", code="invalid")
    user = db.session.get(User, data["u"])
    if user is None or not user.is_active:
        raise DomainError("This reset link is not valid.", code="invalid")
    if not hmac.compare_digest(str(data.get("f", "")), _password_fingerprint(user)):
        raise DomainError(
            "This reset link has already been used. Ask for a new one if you need to.",
            code="used",
        )
    return user


def reset_password(
    token: str, *, new_password: str, secret_key: str, max_age: int, params: HashParams
) -> User:
    """Set a new password from a reset link; the link cannot be used again and every
    existing session of the user ends.

    :raise DomainError: for a bad token or an unacceptable password.
    """
    user = user_for_reset_token(token, secret_key=secret_key, max_age=max_age)
    user.password_hash = hash_password(
        validate_password(new_password, email=user.email, field="password"), params
    )
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    end_other_sessions(user)
    return user
