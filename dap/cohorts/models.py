"""Organisations, teams, cohorts and who belongs to them in which role."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dap.accounts.models import User
from dap.clock import now_utc
from dap.db import str_enum
from dap.extensions import db


class CohortRole(enum.StrEnum):
    """A person's role inside one cohort."""

    PARTICIPANT = "participant"
    PATRON = "patron"
    FACILITATOR = "facilitator"


class Organisation(db.Model):
    """An organisation that sends teams through the programme."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    is_archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())

    teams: Mapped[list[Team]] = relationship(back_populates="organisation", order_by="Team.name")

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"


class Team(db.Model):
    """A team inside an organisation (customer service, policy, …)."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    is_archived: Mapped[bool] = mapped_column(default=False)

    organisation: Mapped[Organisation] = relationship(back_populates="teams")

    def __repr__(self) -> str:
        return f"<Team {self.id} {self.name!r}>"


class Cohort(db.Model):
    """One run of the programme for a group of people, with its own time zone and cap."""

    __tablename__ = "cohorts"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
        CheckConstraint("web_share > 0 AND web_share < 1", name="web_share_between_0_and_1"),
        CheckConstraint("platform_minutes_per_week >= 0", name="platform_minutes_non_negative"),
        CheckConstraint("grace_minutes >= 0", name="grace_minutes_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    #: Markdown, rendered then sanitised on display
    description: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date]
    end_date: Mapped[date]
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    is_volunteer: Mapped[bool] = mapped_column(default=False)
    platform_minutes_per_week: Mapped[int] = mapped_column(default=60)
    #: share of learning time meant for the wider web (0.5 = half)
    web_share: Mapped[float] = mapped_column(default=0.5)
    grace_minutes: Mapped[int] = mapped_column(default=15)
    silent_after_days: Mapped[int] = mapped_column(default=10)
    #: 1:1 sessions a participant may have booked at once (ahead of them)
    support_bookings_max: Mapped[int] = mapped_column(default=1, server_default="1")
    #: at most this many emails a day and a week to one person from the system,
    #: facilitators and patrons together; the rest fold into the next daily digest
    emails_per_day_max: Mapped[int] = mapped_column(default=2, server_default="2")
    emails_per_week_max: Mapped[int] = mapped_column(default=8, server_default="8")
    is_archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())

    organisation: Mapped[Organisation] = relationship()
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Cohort {self.id} {self.name!r}>"


class MembershipStatus(enum.StrEnum):
    """Where a membership stands. Only ``active`` memberships give access."""

    INVITED = "invited"  #: invited, not yet accepted (or a managed person not yet taken over)
    ACTIVE = "active"
    REMOVED = "removed"  #: removed by a facilitator or on account deletion; records stay



class Membership(db.Model):
    """A user's role in a cohort. One user holds at most one role per cohort; a removed
    member invited again gets the same row back."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("cohort_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[CohortRole] = mapped_column(str_enum(CohortRole, "cohort_role"))
    status: Mapped[MembershipStatus] = mapped_column(
        str_enum(MembershipStatus, "membership_status"), default=MembershipStatus.ACTIVE
    )
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    #: shown to other members on the "My cohort" page (opt-in)
    is_visible: Mapped[bool] = mapped_column(default=False)
    #: a participant never capped (supported digital, accessibility): set by a facilitator
    #: with a reason, audited; their time is still measured
    cap_exempt: Mapped[bool] = mapped_column(default=False, server_default=false())
    cap_exempt_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    #: the participant's skills summary is shown to their patrons (their choice; default on)
    baseline_shared: Mapped[bool] = mapped_column(default=True, server_default=true())
    #: the participant chose "not now" when invited to take the baseline (not asked again)
    baseline_skipped_at: Mapped[datetime | None]
    #: a participant who volunteers to share their experiences in the cohort feed
    is_volunteer_sharer: Mapped[bool] = mapped_column(default=False, server_default=false())
    joined_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())
    accepted_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]

    cohort: Mapped[Cohort] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()
    team: Mapped[Team | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status is MembershipStatus.ACTIVE

    def __repr__(self) -> str:
        return f"<Membership {self.user_id}@{self.cohort_id} {self.role.value} {self.status.value}>"


class PatronLinkSource(enum.StrEnum):
    FACILITATOR = "facilitator"  #: linked from the roster
    IMPORT = "import"  #: linked from a CSV upload
    PARTICIPANT = "participant"  #: the participant invited their own patron


class PatronLink(db.Model):
    """A patron who looks out for a participant within a cohort. Ending a link keeps the
    row (``ended_at``) so the history stays readable; linking again reopens it."""

    __tablename__ = "patron_links"
    __table_args__ = (
        UniqueConstraint("cohort_id", "patron_id", "participant_id"),
        CheckConstraint("patron_id <> participant_id", name="not_own_patron"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[PatronLinkSource] = mapped_column(
        str_enum(PatronLinkSource, "patron_link_source"), default=PatronLinkSource.FACILITATOR
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())
    ended_at: Mapped[datetime | None]

    cohort: Mapped[Cohort] = relationship()
    patron: Mapped[User] = relationship(foreign_keys=[patron_id])
    participant: Mapped[User] = relationship(foreign_keys=[participant_id])

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class InvitationKind(enum.StrEnum):
    MEMBERSHIP = "membership"  #: a facilitator invites someone into a cohort
    PATRON = "patron"  #: a participant invites their own patron


class Invitation(db.Model):
    """An emailed, signed, single-use link. For ``membership`` invitations the membership
    already exists with status ``invited``; accepting activates it. For ``patron``
    invitations accepting creates the patron link (and a patron membership if needed).
    ``nonce`` changes on every resend, so only the newest link works."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InvitationKind] = mapped_column(str_enum(InvitationKind, "invitation_kind"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    membership_id: Mapped[int | None] = mapped_column(ForeignKey("memberships.id"), index=True)
    #: for patron invitations: the participant who asked
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    email: Mapped[str] = mapped_column(String(254), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    nonce: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    expires_at: Mapped[datetime]
    last_sent_at: Mapped[datetime | None]
    send_count: Mapped[int] = mapped_column(default=0)
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]

    cohort: Mapped[Cohort] = relationship()
    membership: Mapped[Membership | None] = relationship()
    participant: Mapped[User | None] = relationship(foreign_keys=[participant_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def status(self) -> str:
        """``accepted``, ``revoked``, ``expired`` or ``pending`` (against the clock now)."""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now_utc():
            return "expired"
        return "pending"

    def __repr__(self) -> str:
        return f"<Invitation {self.id} {self.kind.value} {self.email}>"
