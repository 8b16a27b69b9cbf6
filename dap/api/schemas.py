"""The API's request and response bodies (pydantic models). The OpenAPI document's
schemas are generated from these; requests are validated by them (strict JSON: no
coercion of ``"30"`` into 30, no unknown members)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Id = Annotated[int, Field(ge=1, le=2_147_483_647)]
Minutes = Annotated[int, Field(ge=1, le=600, description="Whole minutes, 1 to 600.")]
Progress = Annotated[int, Field(ge=0, le=100, description="Per cent, 0 to 100.")]


class Input(BaseModel):
    """A request body: strict JSON, unknown members refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Query(BaseModel):
    """Query parameters (strings from the URL, so not strict); unknown ones are refused
    (422), as unknown body members are: a misspelt filter never silently returns
    everything."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- problems ---------------------------------------------------------------------------------


class FieldProblem(Output):
    field: str = Field(description="The member (or query parameter) at fault.")
    message: str
    code: str


class Problem(Output):
    """RFC 9457 problem details. ``code`` is stable; branch on it, not on ``title``."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str | None = None
    errors: list[FieldProblem] | None = Field(
        default=None, description="For `validation_failed`: each field at fault.")

    model_config = ConfigDict(extra="allow")


# --- paging -----------------------------------------------------------------------------------


class PageQuery(Query):
    limit: int = Field(default=25, ge=1, le=100, description="Items per page, 1 to 100.")
    cursor: str | None = Field(default=None, pattern=r"^[0-9]{1,10}$",
                               description="`next_cursor` from the previous page, as it was "
                                           "given.")


# --- me ---------------------------------------------------------------------------------------


class CohortSeat(Output):
    cohort_id: int
    cohort_name: str
    role: Literal["participant", "patron", "facilitator"]
    timezone: str
    start_date: date
    end_date: date
    archived: bool


class TokenInfo(Output):
    id: int
    name: str
    scope: Literal["read", "read-write"]
    expires_at: datetime | None


class Me(Output):
    id: int
    name: str
    email: str | None
    timezone: str
    roles: list[str] = Field(description="Site roles and cohort roles held anywhere.")
    cohorts: list[CohortSeat]
    token: TokenInfo


# --- goals ------------------------------------------------------------------------------------

GoalStatusName = Literal["planned", "active", "done", "dropped"]
VisibilityName = Literal["patrons", "cohort", "private"]


class Goal(Output):
    id: int
    cohort_id: int
    title: str
    why: str
    status: GoalStatusName
    progress: Progress
    target_date: date | None
    visibility: VisibilityName
    library_slug: str | None = Field(description="The library goal it came from; null for "
                                                 "one's own goals.")
    reflection: str
    created_at: datetime
    done_at: datetime | None
    url: str = Field(description="The goal's page on DAP.")


class GoalList(Output):
    items: list[Goal]
    next_cursor: str | None


class GoalQuery(PageQuery):
    status: GoalStatusName | None = None
    cohort_id: Id | None = Field(default=None, description="Only goals of this cohort's plan.")


class GoalCreate(Input):
    """One's own goal (library goals are adopted on the library's pages)."""

    title: str = Field(min_length=1, max_length=160)
    why: str = Field(default="", max_length=1000)
    target_date: date | None = None
    visibility: VisibilityName = "patrons"
    cohort_id: Id | None = Field(
        default=None, description="The cohort whose plan gets the goal; by default the one "
                                  "whose time cap applies (the newest running cohort).")


class GoalUpdate(Input):
    """Only the members sent change (as in a JSON merge patch, RFC 7396): null clears
    ``why`` and ``target_date``; ``title``, ``visibility`` and ``status`` cannot be null.
    ``status`` plans, starts or drops a goal (dropping needs ``drop_reason``); ``done``
    finishes it and needs ``reflection``."""

    title: str | None = Field(default=None, min_length=1, max_length=160)
    why: str | None = Field(default=None, max_length=1000)
    target_date: date | None = None
    visibility: VisibilityName | None = None
    status: GoalStatusName | None = None
    drop_reason: str | None = Field(default=None, max_length=300)
    reflection: str | None = Field(default=None, max_length=4000)
    evidence: list[Annotated[str, Field(max_length=500)]] | None = Field(default=None,
                                                                       max_length=10)


# --- check-ins --------------------------------------------------------------------------------


class CheckIn(Output):
    id: int
    goal_id: int
    day: date = Field(description="The day it happened, in the cohort's time zone.")
    progress: int | None
    minutes: int | None
    note: str
    created_at: datetime


class CheckInList(Output):
    items: list[CheckIn]
    next_cursor: str | None


class CheckInQuery(PageQuery):
    goal_id: Id | None = None


class CheckInCreate(Input):
    """At least one of progress, minutes or a note. Minutes count as web time."""

    goal_id: Id
    progress: Progress | None = None
    minutes: Minutes | None = None
    note: str = Field(default="", max_length=1000)


# --- web time ---------------------------------------------------------------------------------

ActivityKindName = Literal["read", "tried", "made", "shared", "joined", "other"]


class WebActivity(Output):
    id: int
    cohort_id: int
    kind: ActivityKindName
    title: str
    url: str
    minutes: int
    goal_id: int | None
    note: str
    day: date
    created_at: datetime


class WebActivityList(Output):
    items: list[WebActivity]
    next_cursor: str | None


class WebActivityCreate(Input):
    """Time spent learning on the wider web: what, how long, and optionally a link, the goal
    it served and a note. ``day`` defaults to today (up to 14 days back)."""

    kind: ActivityKindName
    title: str = Field(min_length=1, max_length=200)
    minutes: Minutes
    url: str = Field(default="", max_length=500, description="http or https only.")
    goal_id: Id | None = None
    note: str = Field(default="", max_length=1000)
    day: date | None = None


class TimeSummary(Output):
    """This week's platform and web minutes, the allowance and whether the cap is reached.
    Only participants are measured: for anyone else ``measured`` is false and the figures
    are null."""

    measured: bool
    cohort_id: int | None
    week_starts: date | None = Field(description="Monday of this week, in the cohort's zone.")
    platform_minutes: int | None
    web_minutes: int | None
    allowance_minutes: int | None
    weekly_cap_minutes: int | None
    web_minutes_to_full_allowance: int | None
    capped: bool
    warning: bool = Field(description="80 % of the allowance or more is used.")
    exempt: bool


# --- events -----------------------------------------------------------------------------------

EventKindName = Literal["kick_off", "workshop", "conversation", "meet_up", "webinar"]
EventModeName = Literal["in_person", "online", "hybrid"]
RsvpAnswerName = Literal["going", "waitlisted", "declined"]


class Event(Output):
    """An event of a cohort, with the seats taken and one's own answer."""

    id: int
    cohort_id: int
    title: str
    kind: EventKindName
    starts_at: datetime
    ends_at: datetime
    mode: EventModeName
    venue: str
    join_url: str | None = Field(description="The link to join online: only for people "
                                             "going (and the cohort's facilitators), and "
                                             "never for a cancelled event; null otherwise.")
    capacity: int | None = Field(description="Seats; null for no limit.")
    going_count: int = Field(description="Seats taken.")
    cancelled: bool
    my_answer: RsvpAnswerName | None = Field(description="One's own answer; null before "
                                                         "answering.")
    waitlist_position: int | None = Field(description="1 for the first person waiting; null "
                                                      "when not waiting.")
    url: str = Field(description="The event's page on DAP.")


class EventList(Output):
    items: list[Event]
    next_cursor: str | None


#: a cursor of the lists paged by a time and an id (events by start, notifications by
#: arrival): "<microseconds since 1970>_<id>"
KEYSET_CURSOR = r"^[0-9]{1,16}_[0-9]{1,10}$"


class EventQuery(PageQuery):
    cursor: str | None = Field(default=None, pattern=KEYSET_CURSOR,
                               description="`next_cursor` from the previous page, as it was "
                                           "given.")
    cohort_id: Id | None = Field(default=None, description="Only this cohort's events.")


class EventAnswer(Input):
    """Going (a seat, or a place on the waitlist when it is full) or not going. Answering
    the same twice changes nothing."""

    going: bool


# --- notifications ----------------------------------------------------------------------------


class Notification(Output):
    """A message in one's DAP inbox."""

    model_config = ConfigDict(from_attributes=True, serialize_by_alias=True)

    id: int
    kind: str = Field(description="What it is about: nudge, cajole, enthuse, event_invitation, "
                                  "event_promoted, … (more may be added).")
    title: str
    body: str = Field(description="Plain text; paragraphs are separated by a blank line.")
    sender: str | None = Field(serialization_alias="from",
                               description="Who sent it (a patron's nudge, say); null for "
                                           "DAP's own messages.")
    cohort_id: int | None
    created_at: datetime
    read_at: datetime | None
    url: str | None = Field(description="The page it is about; null when there is none.")


class NotificationList(Output):
    items: list[Notification]
    next_cursor: str | None


class NotificationQuery(PageQuery):
    cursor: str | None = Field(default=None, pattern=KEYSET_CURSOR,
                               description="`next_cursor` from the previous page, as it was "
                                           "given.")
    unread: bool | None = Field(default=None, description="true: only unread ones; false: "
                                                          "only those already read; absent: "
                                                          "all.")


class MarkedRead(Output):
    """How many notifications were marked read (0 when none was unread)."""

    marked: int


# --- patrons ----------------------------------------------------------------------------------


class LookedAfterParticipant(Output):
    """A participant one is patron to, as the patron home shows them. Goals kept "only me"
    are never counted."""

    participant_id: int
    participant_name: str
    cohort_id: int
    cohort_name: str
    cohort_archived: bool
    goals_active: int
    goals_done: int
    streak_weeks: int = Field(description="Weeks in a row the plan's weekly target was met.")
    last_check_in_day: date | None = Field(description="In the cohort's time zone.")
    last_activity_at: datetime | None = Field(description="The latest activity on any "
                                                          "channel (check-in, web time, "
                                                          "events, 1:1, cohort feed).")
    last_activity_channel: Literal["check_in", "web", "event", "rsvp", "support",
                                   "feed"] | None
    silent_days: int | None = Field(description="Days without activity, once past the "
                                                "cohort's threshold; null when not silent "
                                                "(or paused).")
    paused: bool = Field(description="Their plan is paused today.")
    paused_until: date | None
    platform_minutes_this_week: int | None = Field(description="Null for a supported-digital "
                                                               "participant (not measured).")
    web_minutes_this_week: int
    url: str = Field(description="Their plan on DAP.")


class LookedAfterList(Output):
    items: list[LookedAfterParticipant]
