"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from dap.accounts.models import User, UserSession
from dap.audit.models import AuditEvent
from dap.cohorts.models import Cohort, Invitation, Membership, Organisation, PatronLink, Team
from dap.jobs.models import JobRun, SchedulerLease
from dap.nudges.models import OutboxMessage

__all__ = [
    "AuditEvent", "Cohort", "Invitation", "JobRun", "Membership", "Organisation",
    "OutboxMessage", "PatronLink", "SchedulerLease", "Team", "User", "UserSession",
]
