"""Browser fixtures: the app with the demo data served on a real port, and one Chromium.

Playwright cannot download its own browsers here, so the Debian ``/usr/bin/chromium`` is
launched; without it every browser test is skipped with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from dap.demo import load_demo
from dap.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

DEMO_PASSWORD = "dap-demo-2026"


class QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the app logs its own request line."""

    def log_request(self, code="-", size="-") -> None:
        return None


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app with the demo data, served on 127.0.0.1 on a free port; yields the base URL."""
    with app.app_context():
        load_demo(params=app.config["PASSWORD_HASH_PARAMS"])
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    # Wait for in-flight requests on close, so none is cut off mid-response (a static file
    # left open would surface later as a ResourceWarning in another test).
    server.daemon_threads = False
    server.block_on_close = True
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (playwright cannot download one here)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser):
    """``new_page(**context_options)`` → a page in a fresh browser context (own cookies).
    The service worker is blocked unless ``service_workers="allow"`` is given: the offline
    journeys test it; elsewhere its background fetches of pages to keep would only add load
    to every journey."""
    contexts = []

    def make(**options):
        options.setdefault("service_workers", "block")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in(live_server):
    """``sign_in(page, email)`` → signs in through the form, as a person would."""
    from playwright.sync_api import expect

    def do(page, email: str = "participant@example.org", password: str = DEMO_PASSWORD) -> None:
        page.goto(f"{live_server}/login")
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{live_server}/")

    return do
