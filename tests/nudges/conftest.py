"""Fixtures for the email tests: a real SMTP server on loopback (aiosmtpd), running or not."""

from __future__ import annotations

import pytest

from tests.smtp import LocalSMTP


@pytest.fixture
def smtp_server(app):
    """A running SMTP server that ``app`` is configured to send through."""
    server = LocalSMTP().start()
    app.config["MAIL_URL"] = server.url
    yield server
    server.stop()


@pytest.fixture
def smtp_down(app):
    """An SMTP address with nothing listening yet; ``.start()`` brings the server up."""
    server = LocalSMTP()
    app.config["MAIL_URL"] = server.url
    yield server
    server.stop()
