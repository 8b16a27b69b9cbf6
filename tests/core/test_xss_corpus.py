"""No payload of the XSS corpus (tests/xss.py) runs or survives as active markup: not out of
``render_markdown``, and not on any page that shows what people write, Markdown or plain
text, typed into the app's own forms."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape

import pytest
from werkzeug.datastructures import MultiDict

from dap.content.render import render_markdown
from tests.xss import (
    PAYLOADS,
    Element,
    assert_inert,
    assert_strict_csp,
    find,
    parse,
    problems,
    with_class,
)

# --- the corpus and the check themselves ---------------------------------------------------------


def test_the_corpus_is_large_varied_and_fits_every_field():
    assert len(PAYLOADS) >= 35
    assert len(set(PAYLOADS)) == len(PAYLOADS)
    assert max(map(len, PAYLOADS)) <= 150
    for payload in PAYLOADS:
        assert not any(ord(c) < 32 and c not in "\t\n" for c in payload), payload


@pytest.mark.parametrize("html", [
    "<script>alert(1)</script>",
    "<p>fine</p><SCRIPT src=/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<p ONCLICK=alert(1)>x</p>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="  JavaScript:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="java\nscript:alert(1)">x</a>',
    '<a href="&#x01;javascript:alert(1)">x</a>',
    '<a href="data:text/html,x">x</a>',
    '<a href="vbscript:x">x</a>',
    '<svg><a xlink:href="javascript:alert(1)">x</a></svg>',
    '<div style="color:red">x</div>',
    "<iframe srcdoc='x'></iframe>",
    "<object data=x></object>",
    "<embed src=x>",
    "<form><button formaction=javascript:alert(1)>x</button></form>",
    "<meta http-equiv=refresh content=0>",
    "<base href=//evil.example/>",
    "<math><mi>x</mi></math>",
    "<template>x</template>",
    "<noscript>x</noscript>",
    "<style>*{}</style>",
    "<!--[if IE]><script>alert(1)</script><![endif]-->",
    "<![CDATA[x]]>",
])
def test_the_check_catches_active_markup(html):
    with pytest.raises(AssertionError):
        assert_inert(html)


@pytest.mark.parametrize("html", [
    "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
    "<p><code>&lt;img src=x onerror=alert(1)&gt;</code></p>",
    '<p><a href="http://x" title="&lt;script&gt;" rel="noopener">x</a></p>',
    '<a title="\'><img src=x onerror=alert(1)>">x</a>',  # a title only: inert text
    '<a href="java    script:alert(1)">x</a>',  # a space may not be in a scheme: relative
    '<a href="jav&amp;#x61;script:alert(1)">x</a>',  # decoded once: still a relative address
    "<p>javascript:alert(1) onerror=alert(1) style=x</p>",  # words, not attributes
    "",
])
def test_the_check_passes_inert_text(html):
    assert_inert(html)


def test_the_page_check_accepts_the_apps_own_scripts_only():
    own = ('<head><meta charset="utf-8"><link rel="stylesheet" href="/static/css/app.css">'
           '<link rel="manifest" href="/manifest.webmanifest">'
           '<script src="/static/js/heartbeat.js" defer></script></head>'
           '<body><form method="post"><input name="x" value="&lt;b&gt;"></form></body>')
    assert_inert(own, page=True)
    for bad in ("<script>alert(1)</script>", '<script src="https://evil.example/x.js"></script>',
                '<link rel="stylesheet" href="//evil.example/x.css">',
                '<link rel="manifest" href="//evil.example/x.webmanifest">',
                '<link rel="stylesheet" href="/manifest.webmanifest">',
                '<meta http-equiv="refresh" content="0">', "<iframe></iframe>",
                '<form action="javascript:alert(1)"></form>'):
        assert problems(own + bad, page=True), bad


# --- (a) render_markdown -------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_render_markdown_leaves_nothing_active(payload):
    assert_inert(str(render_markdown(payload)), context=repr(payload))


# --- (b) through the pages -----------------------------------------------------------------------


class Writer:
    """A signed-in client typing into the app's own forms. The CSRF token is read once from
    a page, as a browser keeps it for the session."""

    def __init__(self, client) -> None:
        from tests.conftest import csrf_token

        self.client = client
        self.token = csrf_token(client)

    def post(self, path: str, data: dict | MultiDict):
        fields = MultiDict(data)
        fields["csrf_token"] = self.token
        return self.client.post(path, data=fields)

    def form(self, page_path: str, field: str) -> Callable[..., object]:
        """Open ``page_path`` once; ``send(value, **typed)`` then fills in ``field`` of the
        form holding it (and any ``typed`` fields) and sends it as a browser would."""
        page = self.client.get(page_path)
        assert page.status_code == 200, (page_path, page.status_code)
        action, fields = form_holding(page.get_data(as_text=True), field, page_path)

        def send(value: str, **typed: str):
            filled = fields.copy()
            filled[field] = value
            for name, typed_value in typed.items():
                filled[name] = typed_value
            return self.client.post(action, data=filled)

        return send


def form_holding(page: str, name: str, page_path: str) -> tuple[str, MultiDict]:
    """The action and the fields (as a browser would send them) of the page's form that has
    a field called ``name``."""
    root, _ = parse(page)
    form = next(f for f in find(root, lambda e: e.tag == "form")
                if any(e.attr("name") == name for e in f.walk()))
    fields = MultiDict()
    for element in form.walk():
        field_name = element.attr("name")
        if not field_name:
            continue
        if element.tag == "input":
            kind = (element.attr("type") or "text").lower()
            if kind in ("submit", "button", "image", "file", "reset"):
                continue
            if kind in ("checkbox", "radio") and not element.has("checked"):
                continue
            fields.add(field_name, element.attr("value") or ("on" if kind == "checkbox" else ""))
        elif element.tag == "textarea":
            text = unescape("".join(element.text))  # a browser drops one leading newline
            fields.add(field_name, text[2:] if text.startswith("\r\n") else text.removeprefix("\n"))
        elif element.tag == "select":
            options = [o for o in element.walk() if o.tag == "option"]
            chosen = [o for o in options if o.has("selected")] or options[:1]
            for option in chosen:
                fields.add(field_name, option.attr("value") or unescape("".join(option.text)))
    return unescape(form.attr("action") or "") or page_path, fields


class Survivors:
    """What got through, per payload, gathered over a whole field so that the failure
    reports all of it at once."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.found: list[str] = []

    def check(self, client, path: str, payload: str,
              wrapper: Callable[[Element], bool] | None = None, *,
              shown: Callable[[str], bool] | None = None,
              trusted: Callable[[Element], bool] | None = None) -> None:
        """GET ``path`` and check the page: a strict CSP, the element(s) wrapping user
        content inert, and the page as a whole holding nothing but the app's own active
        parts (a payload breaking out of its wrapper would land there). ``shown(page)``
        says whether the payload is on the page at all; ``trusted`` picks out elements the
        app itself puts there on purpose (the time log's bookmarklet)."""
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_strict_csp(response)
        page = response.get_data(as_text=True)
        root, oddities = parse(page)
        where = f"{self.field} at {path}, payload {payload!r}"
        for region in find(root, wrapper) if wrapper else []:
            self.found += [f"{where}: {p}" for p in problems(region)]
        self.found += [f"{where} (page): {p}"
                       for p in oddities + problems(root, page=True, trusted=trusted)]
        if shown is not None and not shown(page):
            self.found.append(f"{where}: the text is not on the page (not saved?)")

    def assert_none(self) -> None:
        assert not self.found, f"{len(self.found)} survivor(s):\n" + "\n".join(self.found)


def refusal(response) -> tuple[int, list[str]]:
    """A refused form's status and the messages the page gives (to tell why)."""
    root, _ = parse(response.get_data(as_text=True))
    messages = find(root, lambda e: bool(e.classes() & {"error", "flash", "error-summary"}))
    return response.status_code, [" ".join(t for n in m.walk() for t in n.text).strip()
                                  for m in messages]


def stored(app, model, column: str, **where) -> list[str]:
    """The values of ``model.column`` in the rows matching ``where``, as stored."""
    from sqlalchemy import select

    from dap.extensions import db

    with app.app_context():
        query = select(getattr(model, column)).filter_by(**where)
        return db.session.scalars(query).all()


# --- Markdown fields: each payload on its own ----------------------------------------------------

PROSE = with_class("prose")


def each_payload(field: str, send, read_back: Callable[[], list[str]],
                 pages: list[tuple[object, str]],
                 also: list[tuple[object, str]] = ()) -> None:
    """Save every payload on its own through ``send(payload)`` (the real form) and open
    ``pages`` (client, path) after each: a page must show exactly what ``render_markdown``
    makes of the payload, and nothing active. Then save the whole corpus as one text and
    open ``pages`` and ``also`` (more pages rendering the field the same way, checked once
    to keep this quick). All survivors are reported together."""
    survivors = Survivors(field)

    def save_and_check(text: str, where: list[tuple[object, str]]) -> None:
        response = send(text)
        assert response.status_code in (302, 303), (field, text, refusal(response))
        assert text.strip() in read_back(), (field, text, read_back())
        rendered = str(render_markdown(text))
        for client, path in where:
            survivors.check(client, path, text, PROSE,
                            shown=(lambda page, r=rendered: r in page) if rendered else None)

    for payload in PAYLOADS:
        save_and_check(payload, pages)
    save_and_check("\n\n".join(PAYLOADS), [*pages, *also])
    survivors.assert_none()


def test_cohort_description(app, world, role_client):
    """A facilitator edits the cohort; its overview (for managers) and its home page (for
    members) render the description."""
    from dap.cohorts.models import Cohort

    cohort = world["cohort"]
    writer = Writer(role_client("facilitator"))
    each_payload(
        "cohort description", writer.form(f"/cohorts/{cohort}/edit", "description"),
        lambda: stored(app, Cohort, "description", id=cohort),
        [(role_client("participant"), f"/cohorts/{cohort}/home")],
        also=[(writer.client, f"/cohorts/{cohort}")])


def _event(app, world, writer: Writer) -> int:
    """An event of the world's cohort, scheduled through the form (Saturday 20 March 2027,
    10:00 to 12:00 in London; the clock must be frozen at ``T0``, the Monday before, before
    anyone signs in)."""
    from sqlalchemy import select

    from dap.events.models import Event
    from dap.extensions import db
    from tests.events.conftest import FORM

    response = writer.post(f"/cohorts/{world['cohort']}/events/new", FORM)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    with app.app_context():
        return db.session.scalar(select(Event.id))


def test_event_description(app, world, role_client, frozen):
    """A facilitator edits an event; the event's page renders the description (shown here
    to a participant: the same template for everyone)."""
    from dap.events.models import Event
    from tests.events.conftest import T0

    frozen(T0)
    cohort = world["cohort"]
    writer = Writer(role_client("facilitator"))
    event = _event(app, world, writer)
    path = f"/cohorts/{cohort}/events/{event}"
    edit = writer.form(f"{path}/edit", "description")
    each_payload(
        "event description", lambda payload: edit(payload),
        lambda: stored(app, Event, "description", id=event),
        [(role_client("participant"), path)])


def test_event_recap_notes(app, world, role_client, frozen):
    """A participant writes their notes in an event's recap once it has started; the recap
    page renders them, for everyone in the cohort (shown here to the facilitator)."""
    from datetime import timedelta

    from dap.events.models import RecapNote
    from tests.events.conftest import T0

    frozen(T0)
    cohort = world["cohort"]
    event = _event(app, world, Writer(role_client("facilitator")))
    frozen(T0 + timedelta(days=5, hours=2))  # under way
    writer = Writer(role_client("participant"))
    path = f"/cohorts/{cohort}/events/{event}/recap"
    each_payload(
        "event recap notes", writer.form(path, "body"),
        lambda: stored(app, RecapNote, "body", event_id=event),
        [(role_client("facilitator"), path)])


def _booking(app, world, role_client, frozen) -> tuple[int, int]:
    """The world's participant books the first 1:1 slot a facilitator published; the clock
    is then five minutes into the session. The slot's and the booking's ids."""
    from datetime import timedelta

    from sqlalchemy import select

    from dap.extensions import db
    from dap.support.models import SupportBooking, SupportSlot
    from tests.support.conftest import BLOCK, T0

    cohort = world["cohort"]
    frozen(T0)
    published = Writer(role_client("facilitator")).post(f"/cohorts/{cohort}/support/new", BLOCK)
    assert published.status_code == 303, published.get_data(as_text=True)[:500]
    with app.app_context():
        slot = db.session.scalar(select(SupportSlot.id).order_by(SupportSlot.starts_at))
    booked = Writer(role_client("participant")).post(
        f"/cohorts/{cohort}/support/slots/{slot}/book", {"note": "Spreadsheets, please"})
    assert booked.status_code == 303, booked.get_data(as_text=True)[:500]
    with app.app_context():
        booking = db.session.scalar(select(SupportBooking.id))
    frozen(T0 + timedelta(days=2, hours=1, minutes=5))
    return slot, booking


def test_support_session_notes(app, world, role_client, frozen):
    """A facilitator's private notes of a 1:1 session: rendered on the slot's page and on
    the notes' own page."""
    from dap.support.models import SessionNotes

    cohort = world["cohort"]
    slot, booking = _booking(app, world, role_client, frozen)
    writer = Writer(role_client("facilitator"))
    notes = f"/cohorts/{cohort}/support/bookings/{booking}/notes"
    each_payload(
        "1:1 session notes", writer.form(notes, "body"),
        lambda: stored(app, SessionNotes, "body", booking_id=booking),
        [(writer.client, f"/cohorts/{cohort}/support/slots/{slot}")], also=[(writer.client, notes)])


# --- plain-text fields: the payloads joined, as many as the field holds -------------------------


def chunks(limit: int, *, single_line: bool = False) -> list[str]:
    """Every payload, packed into as few texts of at most ``limit`` characters as they fit
    in: one payload a line, or (``single_line``) side by side for a one-line field. Escaping
    plain text does not depend on what is around it, so packing loses nothing."""
    sep = " " if single_line else "\n"
    packed: list[str] = []
    current = ""
    for payload in PAYLOADS:
        piece = payload.replace("\n", " ") if single_line else payload
        candidate = f"{current}{sep}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            packed.append(current)
            current = piece
    packed.append(current)
    return packed


def saved(text: str, stored_texts: list[str]) -> bool:
    """Whether ``text`` is among what is stored (names have their runs of whitespace made
    one space)."""
    return " ".join(text.split()) in [" ".join(t.split()) for t in stored_texts]


def lines_shown(text: str) -> Callable[[str], bool]:
    """Whether every line of ``text`` is on the page as escaped text (whitespace runs and
    line breaks, ``<br>`` or paragraphs, as the template lays them out)."""
    from markupsafe import escape

    wanted = [" ".join(str(escape(line)).split()) for line in text.split("\n") if line.strip()]

    def shown(page: str) -> bool:
        flat = " ".join(page.split())
        return all(line in flat for line in wanted)

    return shown


def each_chunk(field: str, send: Callable[[str], object], read_back: Callable[[], list[str]],
               pages: Callable[[str], list[tuple[object, str]]] | list[tuple[object, str]],
               limit: int, *, single_line: bool = False,
               trusted: Callable[[Element], bool] | None = None) -> None:
    """Save the corpus through ``send(text)``, packed to the field's limit, then open
    ``pages`` (client, path; or a function of the text giving them): the text must be on
    each page, escaped, and nothing active. All survivors are reported together."""
    survivors = Survivors(field)
    for text in chunks(limit, single_line=single_line):
        response = send(text)
        assert response.status_code in (302, 303), (field, text, refusal(response))
        assert saved(text, read_back()), (field, text, read_back())
        for client, path in pages(text) if callable(pages) else pages:
            survivors.check(client, path, text, shown=lines_shown(text), trusted=trusted)
    survivors.assert_none()


def each_chunk_once(field: str, send: Callable[[str], object], text: str,
                    read_back: Callable[[], list[str]], pages: list[tuple[object, str]]) -> None:
    """``each_chunk`` for one text: save it, then check the pages."""
    survivors = Survivors(field)
    response = send(text)
    assert response.status_code in (302, 303), (field, text, refusal(response))
    assert saved(text, read_back()), (field, text, read_back())
    for client, path in pages:
        survivors.check(client, path, text, shown=lines_shown(text))
    survivors.assert_none()


def _goal(app, writer: Writer, cohort: int, title: str = "Run a poll on our intranet",
          visibility: str = "patrons") -> int:
    """A goal the participant writes into their own plan through the form; its id."""
    from sqlalchemy import func, select

    from dap.extensions import db
    from dap.plans.models import PlanGoal

    response = writer.post(f"/cohorts/{cohort}/plan/goals/new",
                           {"title": title, "why": "", "target_date": "",
                            "visibility": visibility})
    assert response.status_code in (302, 303), refusal(response)
    with app.app_context():
        return db.session.scalar(select(func.max(PlanGoal.id)))


@pytest.fixture
def plan_people(app, world, role_client):
    """The world's participant, patron and facilitator as writers, with the paths of the
    participant's plan: their own, and as others open it."""
    me = Writer(role_client("participant"))
    cohort = world["cohort"]
    return {
        "me": me, "patron": Writer(role_client("patron")),
        "facilitator": Writer(role_client("facilitator")), "cohort": cohort,
        "own": f"/cohorts/{cohort}/plan",
        "theirs": f"/cohorts/{cohort}/people/{world['participant_membership']}/plan",
        "goal": _goal(app, me, cohort),
    }


def test_plan_and_goal_comments(app, plan_people):
    """Comments on a plan (a patron) and on a goal (a facilitator), shown to the participant
    and to the reviewers (the template turns line breaks into ``<br>`` itself)."""
    from dap.plans.models import PlanComment

    p = plan_people
    me, patron, facilitator = p["me"], p["patron"], p["facilitator"]
    goal = p["goal"]
    each_chunk(
        "plan comment", lambda text: patron.post(p["theirs"] + "/comments", {"comment-body": text}),
        lambda: stored(app, PlanComment, "body", goal_id=None),
        [(me.client, p["own"]), (patron.client, p["theirs"])], 2000)
    each_chunk(
        "goal comment",
        lambda text: facilitator.post(f"{p['theirs']}/goals/{goal}/comments",
                                      {"goal-comment-body": text}),
        lambda: stored(app, PlanComment, "body", goal_id=goal),
        [(me.client, f"{p['own']}/goals/{goal}"),
         (facilitator.client, f"{p['theirs']}/goals/{goal}")], 2000)


def test_goal_title_and_why(app, plan_people):
    """A goal's title (one line: on the plan, the goal's page, the flash after saving) and
    why it matters, edited through the goal's form."""
    from dap.plans.models import PlanGoal

    p = plan_people
    me, goal = p["me"], p["goal"]
    own_page, their_page = f"{p['own']}/goals/{goal}", f"{p['theirs']}/goals/{goal}"
    edit = me.form(own_page, "edit-title")
    each_chunk(
        "goal title", edit, lambda: stored(app, PlanGoal, "title", id=goal),
        [(me.client, own_page), (p["patron"].client, p["theirs"])], 160, single_line=True)
    each_chunk(
        "goal why", lambda why: edit("Run a poll", **{"edit-why": why}),
        lambda: stored(app, PlanGoal, "why", id=goal),
        [(me.client, own_page), (p["patron"].client, their_page)], 1000)


def test_check_in_notes_reflections_and_drop_reasons(app, plan_people):
    """Check-in notes (the goal's timeline), the reflection when a goal is done, and the
    reason for dropping one."""
    from dap.plans.models import CheckIn, PlanGoal

    p = plan_people
    me, goal = p["me"], p["goal"]
    own_page, their_page = f"{p['own']}/goals/{goal}", f"{p['theirs']}/goals/{goal}"
    each_chunk(
        "check-in note",
        lambda note: me.post(f"{p['own']}/goals/{goal}/check-ins",
                             {"progress": "", "minutes": "5", "note": note}),
        lambda: stored(app, CheckIn, "note", goal_id=goal),
        [(me.client, own_page), (p["patron"].client, their_page)], 1000)
    status = me.form(own_page, "status-reason")

    def drop(reason: str):
        """Start the goal again, then drop it for ``reason``."""
        assert status("", **{"status-status": "active"}).status_code in (302, 303)
        return status(reason, **{"status-status": "dropped"})

    each_chunk(
        "drop reason", drop, lambda: stored(app, PlanGoal, "drop_reason", id=goal),
        [(me.client, own_page), (p["patron"].client, their_page)], 300, single_line=True)
    goals: list[int] = []

    def finish(reflection: str):
        goals.append(_goal(app, me, p["cohort"], title=f"Finish number {len(goals) + 1}"))
        return me.post(f"{p['own']}/goals/{goals[-1]}/done", {"done-reflection": reflection})

    each_chunk(
        "goal reflection", finish, lambda: stored(app, PlanGoal, "reflection", id=goals[-1]),
        lambda _: [(me.client, f"{p['own']}/goals/{goals[-1]}"),
                   (p["patron"].client, f"{p['theirs']}/goals/{goals[-1]}")], 4000)


def test_review_messages_and_comments(app, world, plan_people):
    """A participant asks for a review with a message (their plan, the reviewer's inbox and
    view of the plan); the facilitator marks it reviewed with a comment (the participant's
    plan). One review per message; the comments go round."""
    from dap.plans.models import PlanReview

    p = plan_people
    me, facilitator = p["me"], p["facilitator"]
    comments = chunks(2000)
    reviews = Survivors("review comment")
    for number, message in enumerate(chunks(500)):
        each_chunk_once(
            "review message",
            lambda text: me.post(p["own"] + "/review",
                                 {"review-reviewer": "", "review-message": text}),
            message, lambda: stored(app, PlanReview, "message"),
            [(me.client, p["own"]), (facilitator.client, "/reviews"),
             (facilitator.client, p["theirs"])])
        comment = comments[number % len(comments)]
        response = facilitator.post(p["theirs"] + "/review/done", {"reviewed-comment": comment})
        assert response.status_code in (302, 303), refusal(response)
        assert comment in stored(app, PlanReview, "comment")
        reviews.check(me.client, p["own"], comment, shown=lines_shown(comment))
    reviews.assert_none()
    assert len(chunks(500)) >= len(comments)  # so every comment was given


def test_suggestion_notes(app, world, plan_people):
    """A facilitator suggests a library goal with a note; the participant sees it on their
    plan (and dismisses it, so that the next one can come)."""
    from sqlalchemy import select

    from dap.content.library import current_library
    from dap.extensions import db
    from dap.plans.models import GoalSuggestion

    p = plan_people
    me, facilitator = p["me"], p["facilitator"]
    with app.app_context():
        slug = sorted(current_library().goals)[0]

    def suggest(note: str):
        with app.app_context():
            for open_one in db.session.scalars(select(GoalSuggestion.id).where(
                    GoalSuggestion.library_slug == slug)):
                me.post(f"{p['own']}/suggestions/{open_one}/dismiss", {})
        return facilitator.post(p["theirs"] + "/suggestions",
                                {"suggest-slug": slug, "suggest-note": note})

    each_chunk("suggestion note", suggest, lambda: stored(app, GoalSuggestion, "note"),
               [(me.client, p["own"]), (facilitator.client, p["theirs"])], 500)


def test_endorsement_comments(app, world, plan_people):
    """A patron endorses a finished goal with a comment, and edits it: the goal's page and
    the printed plan show it."""
    from dap.plans.models import GoalEndorsement

    p = plan_people
    me, patron, goal = p["me"], p["patron"], p["goal"]
    assert me.post(f"{p['own']}/goals/{goal}/done", {"done-reflection": "Done."}) \
        .status_code in (302, 303)
    each_chunk(
        "endorsement comment",
        lambda comment: patron.post(f"{p['theirs']}/goals/{goal}/endorsement",
                                    {"endorse-comment": comment}),
        lambda: stored(app, GoalEndorsement, "comment", goal_id=goal),
        [(me.client, f"{p['own']}/goals/{goal}"), (patron.client, f"{p['theirs']}/goals/{goal}"),
         (me.client, f"{p['own']}/print")], 280)


def test_event_title_venue_address_and_feedback(app, world, role_client, frozen):
    """An event's title (one line: the page's ``<title>``, the list), venue and address,
    through the edit form; then the feedback of someone who came (the facilitator's
    results, and the form the participant opens again to change it)."""
    from datetime import timedelta

    from dap.events.models import Event, EventFeedback
    from tests.events.conftest import T0

    frozen(T0)
    cohort = world["cohort"]
    facilitator = Writer(role_client("facilitator"))
    participant = Writer(role_client("participant"))
    event = _event(app, world, facilitator)
    path = f"/cohorts/{cohort}/events/{event}"
    edit = facilitator.form(f"{path}/edit", "title")
    pages = [(participant.client, path), (participant.client, f"/cohorts/{cohort}/events")]
    each_chunk("event title", lambda title: edit(title),
               lambda: stored(app, Event, "title", id=event), pages, 160, single_line=True)
    each_chunk("event venue", lambda venue: edit("Workshop", venue=venue),
               lambda: stored(app, Event, "venue", id=event), pages[:1], 160, single_line=True)
    each_chunk("event address", lambda address: edit("Workshop", address=address),
               lambda: stored(app, Event, "address", id=event), pages[:1], 300,
               single_line=True)

    frozen(T0 + timedelta(days=5, hours=4))  # it has ended
    marked = facilitator.post(f"{path}/attendance", {f"mark-{world['participant']}": "attended"})
    assert marked.status_code == 303, refusal(marked)
    changes = chunks(2000)
    given: list[str] = []

    def give(worked: str):
        given.append(changes[len(given) % len(changes)])
        return participant.post(f"{path}/feedback", {"usefulness": "4", "what_worked": worked,
                                                      "what_to_change": given[-1]})

    each_chunk("event feedback (what worked, what to change)", give,
               lambda: stored(app, EventFeedback, "what_worked", event_id=event),
               lambda _: [(facilitator.client, f"{path}/feedback/results"),
                          (participant.client, f"{path}/feedback")], 2000)
    assert set(given) == set(changes)


def test_event_cancel_reasons(app, world, role_client, frozen):
    """The reason a facilitator gives for cancelling an event, on the event's page; one
    event per text."""
    from sqlalchemy import func, select

    from dap.events.models import Event
    from dap.extensions import db
    from tests.events.conftest import FORM, T0

    frozen(T0)
    cohort = world["cohort"]
    facilitator = Writer(role_client("facilitator"))
    participant = role_client("participant")
    events: list[int] = []

    def cancel(reason: str):
        day = f"2027-03-{20 + len(events)}"
        assert facilitator.post(f"/cohorts/{cohort}/events/new", {**FORM, "day": day}) \
            .status_code == 303
        with app.app_context():
            events.append(db.session.scalar(select(func.max(Event.id))))
        return facilitator.post(f"/cohorts/{cohort}/events/{events[-1]}/cancel",
                                {"reason": reason})

    each_chunk("event cancel reason", cancel,
               lambda: stored(app, Event, "cancel_reason", id=events[-1]),
               lambda _: [(participant, f"/cohorts/{cohort}/events/{events[-1]}"),
                          (facilitator.client, f"/cohorts/{cohort}/events/{events[-1]}")], 1000)


def test_support_booking_notes_action_points_places_and_withdrawals(app, world, role_client,
                                                                    frozen):
    """1:1 support: what a participant would like help with when booking (the facilitator's
    view of the slot and the notes page), the action points a facilitator adds (the
    participant's slot page and support page), and, for published slots, the place and the
    reason a facilitator gives for withdrawing one."""
    from datetime import date, timedelta

    from sqlalchemy import func, select

    from dap.extensions import db
    from dap.support.models import ActionPoint, SupportBooking, SupportSlot
    from tests.support.conftest import BLOCK, T0

    frozen(T0)
    cohort = world["cohort"]
    facilitator = Writer(role_client("facilitator"))
    participant = Writer(role_client("participant"))
    assert facilitator.post(f"/cohorts/{cohort}/support/new", BLOCK).status_code == 303
    with app.app_context():
        slot = db.session.scalar(select(SupportSlot.id).order_by(SupportSlot.starts_at))
    slot_path = f"/cohorts/{cohort}/support/slots/{slot}"

    def latest_booking() -> int | None:
        with app.app_context():
            return db.session.scalar(select(func.max(SupportBooking.id)))

    def book(note: str):
        """Book the slot with ``note`` (cancelling the booking before, if any)."""
        if latest_booking() is not None:
            cancelled = participant.post(f"{slot_path}/cancel", {"message": ""})
            assert cancelled.status_code == 303, refusal(cancelled)
        return participant.post(f"{slot_path}/book", {"note": note})

    each_chunk("support booking note", book, lambda: stored(app, SupportBooking, "note"),
               lambda _: [(facilitator.client, slot_path), (participant.client, slot_path),
                          (facilitator.client,
                           f"/cohorts/{cohort}/support/bookings/{latest_booking()}/notes")],
               1000)

    booking = latest_booking()
    each_chunk("action point",
               lambda text: facilitator.post(
                   f"/cohorts/{cohort}/support/bookings/{booking}/action-points",
                   {"text": text}),
               lambda: stored(app, ActionPoint, "text", booking_id=booking),
               [(participant.client, slot_path), (participant.client, f"/cohorts/{cohort}/support")],
               300)

    reasons = chunks(1000)
    published: list[int] = []

    def publish_and_withdraw(place: str):
        day = date(2027, 3, 18) + timedelta(days=len(published))
        response = facilitator.post(f"/cohorts/{cohort}/support/new",
                                    {**BLOCK, "day": day.isoformat(), "place": place})
        assert response.status_code == 303, refusal(response)
        with app.app_context():
            published.append(db.session.scalar(select(func.max(SupportSlot.id))))
        reason = reasons[(len(published) - 1) % len(reasons)]
        return facilitator.post(f"/cohorts/{cohort}/support/slots/{published[-1]}/withdraw",
                                {"message": reason})

    each_chunk("support slot place (and withdraw reason)", publish_and_withdraw,
               lambda: stored(app, SupportSlot, "place", id=published[-1]),
               lambda _: [(facilitator.client,
                           f"/cohorts/{cohort}/support/slots/{published[-1]}")], 300,
               single_line=True)
    survivors = Survivors("support slot withdraw reason")
    for number, reason in enumerate(reasons):
        assert stored(app, SupportSlot, "withdraw_reason", id=published[number]) == [reason]
        survivors.check(participant.client, f"/cohorts/{cohort}/support/slots/{published[number]}",
                        reason, shown=lines_shown(reason))
    survivors.assert_none()


def _bookmarklet(element: Element) -> bool:
    """The time log's own bookmarklet: a ``javascript:`` link the app offers on purpose (a
    bookmark that opens the log form), not user content."""
    return (element.tag == "a" and "bookmarklet" in element.classes()
            and (element.attr("href") or "").startswith("javascript:(function(){window.open('"))


def test_web_activity_titles_and_the_log_forms_prefill(app, world, role_client):
    """What a participant logs of their time on the web (the week's list), and the log form
    filled in from the address, as the bookmarklet opens it (``?title=…&url=…``)."""
    from dap.timecap.models import WebActivity

    me = Writer(role_client("participant"))
    each_chunk(
        "web activity title",
        lambda title: me.post("/time/log", {"kind": "tried", "title": title, "url": "",
                                            "minutes": "1", "goal": "", "day": "",
                                            "note": title}),
        lambda: stored(app, WebActivity, "title"),
        [(me.client, "/time/explore")], 200, single_line=True,
        trusted=_bookmarklet)
    survivors = Survivors("time log form filled from ?title=&url=")
    for text in chunks(200, single_line=True):
        response = me.client.get("/time/log", query_string={"title": text, "url": text})
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        root, oddities = parse(page)
        survivors.found += [f"?title={text!r}: {p}"
                            for p in oddities + problems(root, page=True, trusted=_bookmarklet)]
        values = [e.attr("value") for e in find(root, lambda e: e.tag == "input")]
        if text.strip() not in values:
            survivors.found.append(f"?title={text!r}: not given back in the form")
    assert_strict_csp(response)
    survivors.assert_none()


def test_nudge_messages(app, world, role_client, frozen):
    """A patron's own message to their participant, in the participant's notifications.
    Three a day: the clock moves on to the next day after three."""
    from datetime import UTC, datetime, timedelta

    from dap import clock
    from dap.nudges.models import Notification

    start = datetime.combine(clock.now_utc().date(), datetime.min.time(), UTC) \
        + timedelta(hours=20)
    frozen(start)
    patron = Writer(role_client("patron"))
    participant = role_client("participant")
    path = f"/cohorts/{world['cohort']}/people/{world['participant_membership']}/nudge"
    sent: list[str] = []

    def nudge(message: str):
        frozen(start + timedelta(hours=6 * (len(sent) // 3)))
        sent.append(message)
        return patron.post(path, {"choice": "own", "kind": "nudge", "message": message,
                                  "token": f"xss-corpus-token-{len(sent):04d}"})

    each_chunk("nudge message", nudge, lambda: stored(app, Notification, "body"),
               [(participant, "/notifications")], 1000)


def test_display_names(app, world, role_client):
    """A person's name (one line), changed on their account page: shown to them (in the
    navigation of every page) and to their cohort (a facilitator's name on the cohort's
    home page)."""
    from dap.accounts.models import User

    facilitator = Writer(role_client("facilitator"))
    participant = role_client("participant")
    rename = facilitator.form("/account", "profile-name")
    each_chunk("display name", rename, lambda: stored(app, User, "name", id=world["facilitator"]),
               [(facilitator.client, "/"),
                (participant, f"/cohorts/{world['cohort']}/home")], 120, single_line=True)


def test_cohort_names(app, world, role_client):
    """A cohort's name (one line): the page's ``<title>`` and heading, for its facilitator
    and its members."""
    from dap.cohorts.models import Cohort

    cohort = world["cohort"]
    facilitator = Writer(role_client("facilitator"))
    rename = facilitator.form(f"/cohorts/{cohort}/edit", "name")
    each_chunk("cohort name", rename, lambda: stored(app, Cohort, "name", id=cohort),
               [(facilitator.client, f"/cohorts/{cohort}"),
                (role_client("participant"), f"/cohorts/{cohort}/home")], 160, single_line=True)


def test_skills_baseline_open_answers(app, world, role_client):
    """A participant's answers to the skills baseline's open questions: the form again
    and, once sent, the facilitators' report."""
    from dap.baseline.models import Answer
    from dap.baseline.services import ensure_baseline_checkpoint
    from dap.cohorts.models import Cohort
    from dap.content.baseline import current_baseline
    from dap.extensions import db

    cohort = world["cohort"]
    with app.app_context():
        checkpoint = ensure_baseline_checkpoint(db.session.get(Cohort, cohort)).id
        db.session.commit()
        baseline = current_baseline()
        areas = {slug: [s.id for s in area.statements] for slug, area in baseline.areas.items()}
        questions = list(baseline.questions)
    me = Writer(role_client("participant"))
    facilitator = role_client("facilitator")
    base = f"/cohorts/{cohort}/baseline/{checkpoint}"
    for slug, statements in areas.items():
        rated = me.post(f"{base}/areas/{slug}", {f"rating-{s}": "3" for s in statements})
        assert rated.status_code == 302, refusal(rated)
    submitted: list[bool] = []

    def answer(text: str):
        response = me.post(f"{base}/questions", {f"answer-{q}": text for q in questions})
        if not submitted:
            submitted.append(True)
            assert me.post(f"{base}/submit", {}).status_code == 302
        return response

    each_chunk("skills baseline open answer", answer, lambda: stored(app, Answer, "text"),
               [(me.client, f"{base}/questions"), (facilitator, f"/cohorts/{cohort}/baseline/report")],
               2000)


def test_names_on_the_insights_pages(app, world, role_client):
    """A participant's name on the facilitators' insights pages (their measures), and a
    cohort's name on its insights pages, beside another cohort, and in the organisation
    report."""
    from dap.accounts.models import User
    from dap.cohorts.models import Cohort

    cohort = world["cohort"]
    facilitator = Writer(role_client("facilitator"))
    participant = Writer(role_client("participant"))
    each_chunk("display name on the insights pages", participant.form("/account", "profile-name"),
               lambda: stored(app, User, "name", id=world["participant"]),
               [(facilitator.client, f"/cohorts/{cohort}/insights/people")], 120,
               single_line=True)
    admin = role_client("admin")
    each_chunk("cohort name on the insights pages", facilitator.form(f"/cohorts/{cohort}/edit", "name"),
               lambda: stored(app, Cohort, "name", id=cohort),
               [(facilitator.client, f"/cohorts/{cohort}/insights"),
                (facilitator.client, f"/cohorts/{cohort}/insights/channels"),
                (facilitator.client, f"/insights/compare?a={cohort}"),
                (admin, "/admin/insights")], 160, single_line=True)
