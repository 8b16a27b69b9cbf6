"""The application factory: the only place that wires DAP together."""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import click
from flask import Flask, Response, g, request
from flask.cli import get_debug_flag
from flask.config import Config
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from dap import policy
from dap.config import load_config
from dap.extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def digits_up_to(limit: int) -> str:
    """A regular expression for the whole numbers 0 to ``limit`` written without leading
    zeros (``digits_up_to(255)`` matches 0, 7, 99 and 255, not 256 or 007)."""
    text = str(limit)
    parts = ["0"]
    if len(text) > 1:
        parts.append(rf"[1-9]\d{{0,{len(text) - 2}}}")
    for i, digit in enumerate(text):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = len(text) - i - 1
            parts.append(text[:i] + f"[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    parts.append(text)
    return "(?:" + "|".join(parts) + ")"


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` in every route: numbers beyond a database integer match no route (404)
    instead of overflowing the query (a 500 on SQLite, an error on PostgreSQL). The limit is
    in the pattern itself, so such a number is a 404 for every method (a converter that
    refused it only after matching would make another method's rule answer 405)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - Werkzeug's signature
        kwargs.setdefault("max", 2_147_483_647)
        super().__init__(map, *args, **kwargs)
        self.regex = digits_up_to(self.max)


log = logging.getLogger("dap.request")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build a DAP application.

    ``overrides`` (tests, benches) is applied last, over the instance file and ``DAP_*``
    environment variables. The factory does no database work and starts no threads,
    except the development scheduler when the development server asks for it.
    """
    app = Flask(
        "dap",
        root_path=str(ROOT / "dap"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=os.environ.get("DAP_INSTANCE_PATH", str(ROOT / "instance")),
        instance_relative_config=True,
    )
    app.url_map.converters["int"] = DatabaseIdConverter
    configure_settings(app, overrides)
    from dap.core.compression import init_compression
    init_compression(app)  # first: its hook then runs last, on the finished answer
    configure_logging(app)
    configure_extensions(app)
    configure_blueprints(app)
    configure_request_hooks(app)
    configure_timecap(app)
    configure_errors(app)
    configure_templates(app)
    configure_cli(app)
    configure_content(app)
    maybe_start_dev_scheduler(app)
    return app


def configure_settings(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Defaults, then ``instance/config.py`` (``DAP_*`` names), then the environment,
    then ``overrides``."""
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    from_file = Config(app.instance_path)
    from_file.from_pyfile("config.py", silent=True)
    environ = {k: str(v) for k, v in from_file.items() if k.startswith("DAP_")}
    environ.update(os.environ)
    app.config.update(load_config(environ))
    app.config["CONTENT_DIR"] = str(ROOT / "content")
    app.config["OUTBOX_DIR"] = str(Path(app.instance_path) / "outbox")
    app.config["UPLOAD_DIR"] = environ.get("DAP_UPLOAD_DIR") or str(
        Path(app.instance_path) / "uploads")
    app.config["PASSWORD_HASH_PARAMS"] = None  # None: the production profile
    if overrides:
        app.config.update(overrides)
    app.config["TESTING"] = bool(app.config.get("TESTING"))


def configure_logging(app: Flask) -> None:
    """One line per log record with time, level and logger; the level from DAP_LOG_LEVEL."""
    level = getattr(logging, str(app.config["LOG_LEVEL"]), logging.INFO)
    root = logging.getLogger("dap")
    root.setLevel(level)
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)


def configure_extensions(app: Flask) -> None:
    """Bind the unbound extensions and the Flask-Login user loader."""
    import dap.models  # noqa: F401 - every table registered before Alembic or create_all look
    from dap.db import engine_options

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config,
                                                             serving=_serves_requests())
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    from dap.core.uploads import apply_upload_limit

    app.before_request(apply_upload_limit)  # first: CSRF protection reads the body
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    # "basic": a session cookie used from a different address or browser loses its
    # freshness instead of being thrown away (phones change networks all day).
    login_manager.session_protection = "basic"

    from dap.accounts.models import User
    from dap.accounts.services import load_session_user

    @login_manager.user_loader
    def load_user(identity: str) -> User | None:
        return load_session_user(identity, max_age=app.config["REMEMBER_COOKIE_DURATION"])

    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]


def configure_blueprints(app: Flask) -> None:
    """One line per domain; no auto-discovery."""
    from dap.accounts.privacy_views import bp as privacy_bp
    from dap.accounts.token_views import bp as api_tokens_bp
    from dap.accounts.views import bp as accounts_bp
    from dap.api import blueprint as api_blueprint
    from dap.audit.views import bp as audit_bp
    from dap.baseline.views import bp as baseline_bp
    from dap.cohorts.people_views import bp as people_bp
    from dap.cohorts.views import bp as cohorts_bp
    from dap.community.views import bp as community_bp
    from dap.content.views import bp as library_bp
    from dap.core.views import bp as core_bp
    from dap.events.feedback_views import bp as event_feedback_bp
    from dap.events.recap_views import bp as event_recaps_bp
    from dap.events.views import bp as events_bp
    from dap.insights.export_views import bp as exports_bp
    from dap.insights.org_views import bp as org_report_bp
    from dap.insights.views import bp as insights_bp
    from dap.jobs.views import bp as jobs_bp
    from dap.nudges.email_views import bp as emails_bp
    from dap.nudges.views import bp as nudges_bp
    from dap.offline import bp as offline_bp
    from dap.plans.views import bp as plans_bp
    from dap.support.views import bp as support_bp
    from dap.timecap.views import bp as timecap_bp
    from dap.webhooks.views import bp as webhooks_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(api_tokens_bp)
    app.register_blueprint(cohorts_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(library_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(org_report_bp)
    app.register_blueprint(plans_bp)
    app.register_blueprint(baseline_bp)
    app.register_blueprint(community_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(event_feedback_bp)
    app.register_blueprint(event_recaps_bp)
    app.register_blueprint(support_bp)
    app.register_blueprint(timecap_bp)
    app.register_blueprint(insights_bp)
    app.register_blueprint(nudges_bp)
    app.register_blueprint(emails_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(api_blueprint())
    app.register_blueprint(offline_bp)
    # Flask's own static route: public by nature.
    policy.declare(policy.Access.PUBLIC, app.view_functions["static"])


def configure_request_hooks(app: Flask) -> None:
    """Request id and timing, one log line per request, security headers."""

    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()
        g.request_id = uuid.uuid4().hex[:16]

    @app.after_request
    def finish(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        request_id = g.get("request_id", "-")
        headers["X-Request-ID"] = request_id
        started = g.get("request_started")
        duration_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        log.info(
            "request_id=%s method=%s path=%s status=%s duration_ms=%.1f",
            request_id, request.method, request.path, response.status_code, duration_ms,
        )
        return response


def configure_timecap(app: Flask) -> None:
    """The platform-time cap: beats on every participant request, Explore when capped."""
    from dap.timecap import gate

    gate.register(app)


def configure_errors(app: Flask) -> None:
    from dap.core.errors import register_error_handlers

    register_error_handlers(app)


def configure_templates(app: Flask) -> None:
    from dap.core import templating

    templating.register(app)


def configure_cli(app: Flask) -> None:
    from dap.cli import register_commands

    register_commands(app)


def configure_content(app: Flask) -> None:
    """Load the goal library and the baseline at start-up (once per process and content
    folder; later apps share the caches). Problems are logged, never raised: a bad file
    must not stop DAP."""
    from dap.content.baseline import baseline_cache
    from dap.content.library import library_cache

    content_dir = Path(app.config["CONTENT_DIR"])
    library_cache(content_dir).get()
    baseline_cache(content_dir).get()


def _serves_requests() -> bool:
    """False when the app is built for a ``flask`` command other than ``run`` (the
    scheduler, ``jobs run-due``, ``db upgrade``, ``demo`` …): those connect without the
    statement timeout (see ``dap.db.engine_options``). gunicorn builds it with no command."""
    ctx = click.get_current_context(silent=True)
    return ctx is None or ctx.info_name == "run"


def _is_dev_server_process() -> bool:
    """True in the process of ``flask run`` that serves requests: the reloader's child, or
    the only process when the reloader is off. Never in gunicorn or other commands."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.info_name != "run":
        return False
    if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        return True
    reload = ctx.params.get("reload")
    if reload is None:
        reload = get_debug_flag()
    return not reload


def maybe_start_dev_scheduler(app: Flask) -> None:
    """``DAP_SCHEDULER=inprocess``: run the scheduler inside the development server only."""
    if app.config["SCHEDULER"] != "inprocess" or app.config["TESTING"]:
        return
    if not _is_dev_server_process():
        return
    from dap.jobs.scheduler import start_background_scheduler

    start_background_scheduler(app)
