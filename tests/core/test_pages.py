"""Health check, home, error pages, security headers, request log."""

from __future__ import annotations

import logging

from tests.conftest import post_form


def test_healthz_answers_ok_when_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"


def broken_app(tmp_path):
    """The same app pointed at a database that cannot be opened (as when the server is down)."""
    from dap import create_app
    from tests.conftest import test_overrides

    url = f"sqlite:///{tmp_path / 'missing-dir' / 'nothing.sqlite3'}"
    return create_app(test_overrides(url, tmp_path))


def test_healthz_answers_503_when_database_is_down(tmp_path):
    response = broken_app(tmp_path).test_client().get("/healthz")
    assert response.status_code == 503


def test_any_page_with_database_down_is_a_styled_503(app, world, login_as, tmp_path):
    signed_in = login_as(_user(app, world["participant"]))
    cookie = signed_in.get_cookie("dap_session")
    client = broken_app(tmp_path).test_client()
    client.set_cookie("dap_session", cookie.value)
    response = client.get("/")
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert "DAP is unavailable for a moment" in body
    assert "Traceback" not in body


def _user(app, user_id):
    from dap.accounts.models import User
    from dap.extensions import db

    with app.app_context():
        return db.session.get(User, user_id)


def test_landing_page_for_signed_out_visitors(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Sign in" in response.get_data(as_text=True)


def test_unknown_page_is_a_styled_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert len(response.headers["X-Request-ID"]) == 16


def test_forged_host_header_is_refused(client):
    response = client.get("/login", headers={"Host": "evil.example"})
    assert response.status_code == 400


def test_request_body_over_the_limit_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/login", data={"email": "x" * 5000, "password": "y"})
    assert response.status_code == 413


def test_post_without_csrf_token_is_400(client):
    response = client.post("/login", data={"email": "a@example.org", "password": "whatever123"})
    assert response.status_code == 400
    assert "form had expired" in response.get_data(as_text=True)


def test_one_log_line_per_request_with_id_method_path_status_duration(client, caplog):
    with caplog.at_level(logging.INFO, logger="dap.request"):
        response = client.get("/healthz")
    lines = [r.getMessage() for r in caplog.records if r.name == "dap.request"]
    assert len(lines) == 1
    line = lines[0]
    assert f"request_id={response.headers['X-Request-ID']}" in line
    assert "method=GET path=/healthz status=200 duration_ms=" in line


def test_unexpected_error_is_a_styled_500(make_app):
    app = make_app()  # its own app: the route added here must not reach other tests

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("boom")

    from dap import policy

    policy.declare(policy.Access.PUBLIC, app.view_functions["boom"])
    response = app.test_client().get("/boom-for-test")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)


def test_logout_via_form_signs_out(app, world, login_as):
    client = login_as(_user(app, world["participant"]))
    assert client.get("/").status_code == 200
    response = post_form(client, "/logout")
    assert response.status_code == 302
    assert "Sign in" in client.get("/").get_data(as_text=True)


def whoami(app) -> str:
    """What a new ``app`` (it gains a route) believes about the client address and scheme
    of a forwarded request."""
    from flask import request

    from dap import policy

    @app.get("/whoami-for-test")
    def whoami_view():
        return f"{request.remote_addr} {request.scheme}"

    policy.declare(policy.Access.PUBLIC, app.view_functions["whoami_view"])
    response = app.test_client().get("/whoami-for-test", headers={
        "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    return response.get_data(as_text=True)


def test_forwarded_headers_are_ignored_without_configured_proxies(make_app):
    assert whoami(make_app()) == "127.0.0.1 http"


def test_forwarded_headers_are_trusted_from_the_configured_proxy(make_app):
    assert whoami(make_app(PROXY_COUNT=1)) == "203.0.113.9 https"


def test_header_shows_who_is_signed_in_and_their_roles(app, world, role_client):
    page = role_client("patron").get("/").get_data(as_text=True)
    assert "Pat Patron" in page
    assert 'class="badge badge-patron">patron<' in page
    admin_page = role_client("admin").get("/").get_data(as_text=True)
    assert 'class="badge badge-admin">admin<' in admin_page
    facilitator_page = role_client("facilitator").get("/").get_data(as_text=True)
    assert 'class="badge badge-facilitator">facilitator<' in facilitator_page


def test_dashboard_lists_cohorts_and_patron_links(world, role_client):
    page = role_client("patron").get("/").get_data(as_text=True)
    assert "Your cohorts" in page
    assert "Alex Participant" in page  # the participant this patron looks out for
