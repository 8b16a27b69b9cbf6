"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from dap.accounts.models import ApiToken, User, UserSession
from dap.api.models import IdempotentRequest
from dap.audit.models import AuditEvent
from dap.baseline.models import Answer, Assessment, Checkpoint, Rating
from dap.cohorts.models import Cohort, Invitation, Membership, Organisation, PatronLink, Team
from dap.community.models import Comment, Kudos, Post, PostImage, Report
from dap.events.models import (
    Attendance,
    CalendarFeed,
    Event,
    EventFeedback,
    EventInvitation,
    EventPhoto,
    RecapNote,
    Rsvp,
)
from dap.jobs.models import JobRun, SchedulerLease
from dap.nudges.models import Notification, OutboxMessage
from dap.plans.models import CheckIn, Plan, PlanGoal
from dap.support.models import (
    ActionPoint,
    SessionNotes,
    SupportBooking,
    SupportSlot,
    SupportWaiter,
)
from dap.timecap.models import PlatformDay, WebActivity
from dap.webhooks.models import WebhookDelivery, WebhookSubscription

__all__ = [
    "ApiToken", "IdempotentRequest",
    "ActionPoint", "Answer", "Assessment", "Checkpoint", "Rating",
    "SessionNotes", "SupportBooking", "SupportSlot", "SupportWaiter",
    "Attendance", "AuditEvent", "Comment", "Kudos", "Post", "PostImage", "Report",
    "CalendarFeed", "CheckIn", "Cohort", "Event", "EventFeedback",
    "EventInvitation", "EventPhoto", "Invitation", "JobRun",
    "Membership", "Notification", "Organisation", "OutboxMessage", "PatronLink", "Plan", "PlanGoal",
    "PlatformDay", "RecapNote", "Rsvp", "SchedulerLease", "Team", "User", "UserSession", "WebActivity",
    "WebhookDelivery", "WebhookSubscription",
]
