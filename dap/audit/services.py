"""Recording audit events; every service that changes who belongs where calls ``record``."""

from __future__ import annotations

from typing import Any

from dap.audit.models import AuditEvent
from dap.extensions import db


def record(action: str, *, actor: Any | None, cohort: Any | None = None,
           subject: Any | None = None, **details: Any) -> AuditEvent:
    """Add an audit event in the caller's transaction (flushes, does not commit).

    ``actor``, ``cohort`` and ``subject`` are model objects or None; ``details`` must be
    JSON-serialisable."""
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        cohort_id=getattr(cohort, "id", None),
        subject_id=getattr(subject, "id", None),
        details=details,
    )
    db.session.add(event)
    db.session.flush()
    return event
