"""Configuration from DAP_* variables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dap import clock
from dap.config import ENV_VARS, ConfigError, load_config


def test_defaults_for_development():
    config = load_config({})
    assert config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///dap.sqlite3"
    assert config["SCHEDULER"] == "off"
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["SESSION_COOKIE_SECURE"] is False
    assert "127.0.0.1" in config["TRUSTED_HOSTS"]


def test_production_refuses_to_start_without_a_secret():
    with pytest.raises(ConfigError, match="DAP_SECRET_KEY"):
        load_config({"DAP_ENV": "production"})


def test_https_base_url_makes_cookies_secure_and_trusts_its_host():
    config = load_config({"DAP_ENV": "production", "DAP_SECRET_KEY": "s" * 32,
                          "DAP_BASE_URL": "https://dap.example.org/"})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["TRUSTED_HOSTS"] == ["dap.example.org"]
    assert config["BASE_URL"] == "https://dap.example.org"


def test_every_variable_is_read():
    environ = {
        "DAP_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "DAP_SECRET_KEY": "k",
        "DAP_BASE_URL": "https://x.example",
        "DAP_TRUSTED_HOSTS": "a.example, b.example",
        "DAP_PROXY_COUNT": "1",
        "DAP_MAIL_URL": "smtp://u:p@mail:587",
        "DAP_MAIL_FROM": "DAP <dap@x.example>",
        "DAP_TIMEZONE": "Europe/Paris",
        "DAP_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0",
        "DAP_SCHEDULER": "inprocess",
        "DAP_MAX_UPLOAD_MB": "2",
        "DAP_LOG_LEVEL": "debug",
    }
    config = load_config(environ)
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert config["TRUSTED_HOSTS"] == ["a.example", "b.example"]
    assert config["PROXY_COUNT"] == 1
    assert config["MAIL_URL"] == "smtp://u:p@mail:587"
    assert config["DEFAULT_TIMEZONE"] == "Europe/Paris"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert config["SCHEDULER"] == "inprocess"
    assert config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    assert config["LOG_LEVEL"] == "DEBUG"
    assert set(environ) <= set(ENV_VARS)


@pytest.mark.parametrize(("name", "value"), [
    ("DAP_TIMEZONE", "Mars/Base"),
    ("DAP_SCHEDULER", "sometimes"),
    ("DAP_MAX_UPLOAD_MB", "lots"),
    ("DAP_MAX_UPLOAD_MB", "0"),
    ("DAP_PROXY_COUNT", "-1"),
    ("DAP_BASE_URL", "ftp://x.example"),
    ("DAP_ENV", "staging"),
])
def test_bad_values_stop_start_up_with_a_clear_error(name, value):
    with pytest.raises(ConfigError, match=name.removeprefix("DAP_")[:4]):
        load_config({name: value})


def test_readme_documents_every_variable():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [name for name in ENV_VARS if f"`{name}`" not in readme]
    assert missing == []


def test_week_bounds_are_local_mondays_across_dst():
    # Sunday 30 March 2025 is the day clocks go forward in London.
    inside = datetime(2025, 3, 30, 12, 0, tzinfo=UTC)
    start, end = clock.week_bounds(inside, "Europe/London")
    assert start == datetime(2025, 3, 24, 0, 0, tzinfo=UTC)  # GMT
    assert end == datetime(2025, 3, 30, 23, 0, tzinfo=UTC)  # 00:00 BST
    assert end - start == timedelta(days=7) - timedelta(hours=1)


def test_freeze_needs_an_aware_time():
    with pytest.raises(ValueError, match="aware"):
        clock.freeze(datetime(2025, 1, 1))  # noqa: DTZ001 - the point of the test


def test_database_timeouts_default_to_bounded_waits():
    config = load_config({})
    assert config["DB_STATEMENT_TIMEOUT"] == 30
    assert config["DB_CONNECT_TIMEOUT"] == 10
    assert config["DB_POOL_TIMEOUT"] == 10
    assert config["DB_BUSY_TIMEOUT"] == 10


def test_database_timeouts_are_read_and_zero_turns_the_statement_timeout_off():
    environ = {"DAP_DB_STATEMENT_TIMEOUT": "0", "DAP_DB_CONNECT_TIMEOUT": "3",
               "DAP_DB_POOL_TIMEOUT": "5", "DAP_DB_BUSY_TIMEOUT": "2"}
    config = load_config(environ)
    assert (config["DB_STATEMENT_TIMEOUT"], config["DB_CONNECT_TIMEOUT"],
            config["DB_POOL_TIMEOUT"], config["DB_BUSY_TIMEOUT"]) == (0, 3, 5, 2)
    assert set(environ) <= set(ENV_VARS)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("DAP_DB_STATEMENT_TIMEOUT", "30s", "DAP_DB_STATEMENT_TIMEOUT must be a whole number"),
    ("DAP_DB_STATEMENT_TIMEOUT", "-1", "DAP_DB_STATEMENT_TIMEOUT must be at least 0"),
    ("DAP_DB_STATEMENT_TIMEOUT", "100000", "DAP_DB_STATEMENT_TIMEOUT must be at most 86400"),
    ("DAP_DB_CONNECT_TIMEOUT", "1", "DAP_DB_CONNECT_TIMEOUT must be at least 2"),
    ("DAP_DB_CONNECT_TIMEOUT", "ten", "DAP_DB_CONNECT_TIMEOUT must be a whole number"),
    ("DAP_DB_POOL_TIMEOUT", "0", "DAP_DB_POOL_TIMEOUT must be at least 1"),
    ("DAP_DB_BUSY_TIMEOUT", "1.5", "DAP_DB_BUSY_TIMEOUT must be a whole number"),
    ("DAP_DB_BUSY_TIMEOUT", "0", "DAP_DB_BUSY_TIMEOUT must be at least 1"),
])
def test_bad_database_timeouts_stop_start_up_naming_the_variable(name, value, message):
    with pytest.raises(ConfigError, match=message):
        load_config({name: value})
