"""Configuration: defaults, then the instance file, then ``DAP_*`` environment variables.

``load_config`` is a pure function of a mapping so it can be tested without touching
``os.environ``. Every variable a deployment may set is listed in ``ENV_VARS`` and in the
README's configuration table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(RuntimeError):
    """Raised when the environment describes a configuration DAP must refuse to start with."""


#: name -> one-line meaning; the README's table is written from the same list.
ENV_VARS: dict[str, str] = {
    "DAP_ENV": "`development` (default for `make run`) or `production`; production refuses "
    "to start without `DAP_SECRET_KEY`.",
    "DAP_DATABASE_URL": "SQLAlchemy URL. Default `sqlite:///dap.sqlite3` inside `instance/`. "
    "PostgreSQL: `postgresql+psycopg://user:pass@host/dbname`.",
    "DAP_SECRET_KEY": "Signs sessions, remember-me cookies and emailed links. Required in production.",
    "DAP_BASE_URL": "Public address, e.g. `https://dap.example.org`; used in emailed links. "
    "An `https` URL makes cookies `Secure`.",
    "DAP_TRUSTED_HOSTS": "Comma-separated host names the app answers to (default: the host of "
    "`DAP_BASE_URL`, plus localhost in development).",
    "DAP_PROXY_COUNT": "How many reverse proxies sit in front and may set `X-Forwarded-*` "
    "(default 0: the headers are ignored).",
    "DAP_MAIL_URL": "`smtp://user:pass@host:port` (STARTTLS when the server offers it) or "
    "`smtps://…`. Empty: emails are written as `.eml` files under `instance/outbox/`.",
    "DAP_MAIL_FROM": "Sender address, e.g. `DAP <dap@example.org>`.",
    "DAP_TIMEZONE": "Default time zone for new users and cohorts (IANA name, default "
    "`Europe/London`).",
    "DAP_RATELIMIT_STORAGE_URL": "Where rate-limit counters live: `memory://` (default, one "
    "process only) or `redis://host:6379/0` for several workers.",
    "DAP_API_RATE_LIMIT": "Requests one API token may make (default `300 per minute`; the "
    "syntax of the `limits` library, e.g. `1000 per hour`).",
    "DAP_SCHEDULER": "`inprocess` runs the job scheduler inside the development server; `off` "
    "(default) leaves it to `flask --app dap scheduler`.",
    "DAP_WEBHOOKS_ALLOW_HTTP": "Development and tests only: let webhooks post to `http://` "
    "addresses and to this machine or a private network (default false: public `https://` only).",
    "DAP_DB_STATEMENT_TIMEOUT": "PostgreSQL: seconds one SQL statement of a request may run, "
    "waiting for locks included, before the request answers 503 (default 30; 0: no limit). "
    "`flask` commands other than `run` (the scheduler, migrations, `demo`) go without it.",
    "DAP_DB_CONNECT_TIMEOUT": "PostgreSQL: seconds to wait for a new connection to the server "
    "(default 10, at least 2).",
    "DAP_DB_POOL_TIMEOUT": "Seconds a request waits for a free connection in the process's "
    "pool (default 10).",
    "DAP_DB_BUSY_TIMEOUT": "SQLite: seconds a write waits for another process's write lock "
    "before the request answers 503 (default 10).",
    "DAP_UPLOAD_DIR": "Where uploaded photos are kept (default `instance/uploads`); back it up "
                      "with the database.",
    "DAP_MAX_UPLOAD_MB": "Largest request body accepted, in MB (default 16); larger gets 413.",
    "DAP_INSTANCE_PATH": "Folder for the SQLite database, `config.py`, outbox files and "
    "backups (default `instance/` in the checkout).",
    "DAP_LOG_LEVEL": "Python log level name (default `INFO`).",
    "DAP_COMPRESS": "Compress text answers with brotli or gzip (default true); false when a "
    "reverse proxy compresses instead.",
    "DAP_TEST_DATABASE_URL": "Tests only: run the suite against this PostgreSQL server "
    "(a throwaway database is created and dropped).",
}

DEFAULT_SECRET_FOR_DEVELOPMENT = "development-only-not-secret"  # noqa: S105 - refused in production


def parse_bool(value: str | None, default: bool = False) -> bool:
    """Read a yes/no environment value; unknown words are an error, not a silent default."""
    if value is None or value.strip() == "":
        return default
    word = value.strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"not a yes/no value: {value!r}")


def parse_int(name: str, value: str | None, default: int, minimum: int = 0,
              maximum: int | None = None) -> int:
    """Read a whole number of at least ``minimum`` (and at most ``maximum``)."""
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name} must be at most {maximum}")
    return number


#: the longest any database timeout may be set to, in seconds (a day)
DB_TIMEOUT_MAX = 86400


def database_timeouts(environ: Mapping[str, str]) -> dict[str, int]:
    """The database timeouts, in seconds (see ``dap.db.engine_options`` for how each reaches
    the driver). They bound how long a request can hold a worker while the database is
    slow, locked or away: past them the request fails with a database error, which
    ``dap.core.errors`` answers with a 503 and Retry-After.

    :raise ConfigError: naming the variable, for a value that is not a whole number of
        seconds in range (libpq waits at least 2 s to connect; a zero statement timeout
        means none).
    """
    def read(name: str, default: int, minimum: int) -> int:
        return parse_int(name, environ.get(name), default, minimum=minimum,
                         maximum=DB_TIMEOUT_MAX)

    return {
        "DB_STATEMENT_TIMEOUT": read("DAP_DB_STATEMENT_TIMEOUT", 30, 0),
        "DB_CONNECT_TIMEOUT": read("DAP_DB_CONNECT_TIMEOUT", 10, 2),
        "DB_POOL_TIMEOUT": read("DAP_DB_POOL_TIMEOUT", 10, 1),
        "DB_BUSY_TIMEOUT": read("DAP_DB_BUSY_TIMEOUT", 10, 1),
    }


def load_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """Map ``DAP_*`` variables onto Flask, Flask-SQLAlchemy and extension settings.

    :raise ConfigError: for values DAP cannot run with (bad numbers, an unknown time zone,
        an unknown scheduler mode, or production without a secret key).
    """
    env = environ.get("DAP_ENV", "development").strip().lower() or "development"
    if env not in {"development", "production", "testing"}:
        raise ConfigError("DAP_ENV must be development, production or testing")

    secret = environ.get("DAP_SECRET_KEY", "")
    if not secret:
        if env == "production":
            raise ConfigError("DAP_SECRET_KEY must be set in production")
        secret = DEFAULT_SECRET_FOR_DEVELOPMENT

    base_url = environ.get("DAP_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError("DAP_BASE_URL must be an http(s) URL such as https://dap.example.org")
    secure = parts.scheme == "https"

    tz_name = environ.get("DAP_TIMEZONE", "Europe/London")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"DAP_TIMEZONE is not an IANA time zone: {tz_name!r}") from None

    scheduler = environ.get("DAP_SCHEDULER", "off").strip().lower() or "off"
    if scheduler not in {"inprocess", "off"}:
        raise ConfigError("DAP_SCHEDULER must be inprocess or off")

    hosts_raw = environ.get("DAP_TRUSTED_HOSTS", "")
    if hosts_raw.strip():
        trusted_hosts = [h.strip() for h in hosts_raw.split(",") if h.strip()]
    else:
        trusted_hosts = [parts.hostname]
        if env != "production":
            trusted_hosts += ["localhost", "127.0.0.1"]

    api_rate_limit = environ.get("DAP_API_RATE_LIMIT", "").strip() or "300 per minute"
    try:
        from limits import parse_many

        parse_many(api_rate_limit)
    except ValueError:
        raise ConfigError(f"DAP_API_RATE_LIMIT is not a rate limit: {api_rate_limit!r} "
                          "(write e.g. '300 per minute')") from None

    upload_mb = parse_int("DAP_MAX_UPLOAD_MB", environ.get("DAP_MAX_UPLOAD_MB"), 16, minimum=1)

    try:
        compress = parse_bool(environ.get("DAP_COMPRESS"), default=True)
    except ConfigError:
        raise ConfigError("DAP_COMPRESS must be true or false, not "
                          f"{environ['DAP_COMPRESS']!r}") from None

    return {
        "ENV_NAME": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": environ.get("DAP_DATABASE_URL", "sqlite:///dap.sqlite3"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # with the timeouts below, by dap.db.engine_options when the app is built
        **database_timeouts(environ),
        "BASE_URL": base_url,
        "PREFERRED_URL_SCHEME": parts.scheme,
        "TRUSTED_HOSTS": sorted(set(trusted_hosts)),
        "PROXY_COUNT": parse_int("DAP_PROXY_COUNT", environ.get("DAP_PROXY_COUNT"), 0),
        "MAIL_URL": environ.get("DAP_MAIL_URL", ""),
        "MAIL_FROM": environ.get("DAP_MAIL_FROM", "DAP <dap@localhost>"),
        "DEFAULT_TIMEZONE": tz_name,
        "SCHEDULER": scheduler,
        "MAX_CONTENT_LENGTH": upload_mb * 1024 * 1024,
        "LOG_LEVEL": environ.get("DAP_LOG_LEVEL", "INFO").upper(),
        # Sessions and cookies.
        "SESSION_COOKIE_NAME": "dap_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "REMEMBER_COOKIE_NAME": "dap_remember",
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        # Forms.
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        # Rate limits.
        "RATELIMIT_STORAGE_URI": environ.get("DAP_RATELIMIT_STORAGE_URL", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": True,
        "API_RATE_LIMIT": api_rate_limit,
        # Accounts.
        "PASSWORD_RESET_MAX_AGE": 3600,
        "LOGIN_LOCKOUT_THRESHOLD": 10,
        "LOGIN_LOCKOUT_MINUTES": 15,
        # Email delivery.
        # 1 attempt, then retries after about 1 min, 5 min, 30 min, 2 h and 12 h
        "MAIL_MAX_ATTEMPTS": 6,
        # caps for messages that belong to no cohort (a cohort's own settings win)
        "EMAILS_PER_DAY_MAX": 2,
        "EMAILS_PER_WEEK_MAX": 8,
        "MAIL_TIMEOUT_SECONDS": 15,
        # one delivery run keeps sending batches of 200 while any are due, for up to this
        # long (it runs every minute)
        "MAIL_RUN_SECONDS": 45,
        # Webhooks (dap.webhooks): each POST's connect and read timeout, how long one
        # delivery run keeps starting deliveries, and whether http:// and private addresses
        # are allowed (development and tests)
        "WEBHOOKS_TIMEOUT_SECONDS": 10,
        "WEBHOOKS_RUN_SECONDS": 45,
        "WEBHOOKS_ALLOW_HTTP": parse_bool(environ.get("DAP_WEBHOOKS_ALLOW_HTTP")),
        # Compression (dap.core.compression): Flask-Compress's hook, on unless turned off
        "COMPRESS_REGISTER": compress,
    }


def load_from_environment() -> dict[str, Any]:
    """``load_config`` over the real process environment."""
    return load_config(os.environ)
