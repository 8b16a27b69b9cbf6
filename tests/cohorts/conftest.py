"""Helpers for cohort tests: read invitation links from the outbox, as an invitee would."""

from __future__ import annotations

import re

from sqlalchemy import select

from dap.extensions import db
from dap.nudges.models import OutboxMessage

JOIN_RE = re.compile(r"http://127\.0\.0\.1:5000(/join/[A-Za-z0-9_.\-]+)")


def join_link(app, email: str) -> str:
    """The path of the newest invitation link emailed to ``email``."""
    with app.app_context():
        row = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_addr == email,
                                        OutboxMessage.kind == "invitation")
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert row is not None, f"no invitation emailed to {email}"
        match = JOIN_RE.search(row.body_text)
        assert match, row.body_text
        return match.group(1)
