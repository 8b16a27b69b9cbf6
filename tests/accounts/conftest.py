"""Fixtures for account tests."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dap.extensions import db
from tests import factories


@pytest.fixture
def alex(app):
    """A plain account (no cohort), as a detached record of its id and email."""
    with app.app_context():
        user = factories.make_user(email="alex@example.org", name="Alex Morgan")
        db.session.commit()
        return SimpleNamespace(id=user.id, email=user.email)
