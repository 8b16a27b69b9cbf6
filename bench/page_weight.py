"""DAP's page-weight bench: the bytes each role's pages send, as they are, gzipped and
brotli-compressed, on a first visit (the page and what it loads) and a later one.

Run from the project root (``make page-weight``)::

    .venv/bin/python bench/page_weight.py [--participants 250] [--limit 100000] [--json PATH]

A throwaway SQLite database with the demo data plus the insights bench's cohort with a year
of activity (``insights_bench.make_cohort`` and ``add_people``: ``--participants`` people,
the demo facilitator running it, every fifth person linked to the demo patron). Signed out,
then signed in through the real form as the demo participant, a participant a year into
that cohort, the demo patron, facilitator and admin, it walks each one's pages from where
they start, three links deep (following redirects), one page per kind (URL rule), as a
person would find them. For each page that answers HTML: the body as DAP sends it with
``Accept-Encoding: br`` and with ``gzip`` (and its decoded size), and the same for each
stylesheet, script, icon, manifest and image it references (a browser's first visit; a
later visit has them cached, and costs the page alone). HTTP headers are not counted.

Prints the static files, then one row per kind of page, for the role it weighs most for,
heaviest first visit with brotli first (every role's figures go to the JSON file). Exits 1
if any first visit is over ``--limit`` bytes (default 100,000) with brotli or with gzip.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import brotli
import insights_bench
import run as bench
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from dap.accounts.models import User
from dap.accounts.services import HashParams
from dap.cohorts.models import Cohort
from dap.demo import load_demo
from dap.extensions import db

LIMIT = 100_000
PARTICIPANTS = 250
DEPTH = 3
MAX_PAGES = 80  # per role: a bound on the walk, far above the kinds of page there are
#: followed never: they sign out, act on a secret link, or are not pages
SKIP_ENDPOINTS = {"accounts.logout", "emails.unsubscribe", "people.join",
                  "accounts.reset_password", "static", "offline.service_worker",
                  "offline.state", "offline.manifest"}
SKIP_SUFFIXES = (".csv", ".ics", ".json", ".zip", ".js", ".webmanifest")
#: ``<link rel>`` values a browser fetches while loading the page (not apple-touch-icon,
#: fetched only when the page is added to a home screen)
FETCHED_LINKS = {"stylesheet", "icon", "manifest"}
CODINGS = ("br", "gzip")


@dataclass
class Weight:
    """Bytes of one answer: decoded, and on the wire with each coding."""

    raw: int
    gzip: int
    br: int


@dataclass
class Page:
    role: str
    endpoint: str
    path: str
    html: Weight
    assets: dict[str, Weight] = field(default_factory=dict)

    def first_visit(self) -> Weight:
        parts = [self.html, *self.assets.values()]
        return Weight(*(sum(getattr(p, k) for p in parts) for k in ("raw", "gzip", "br")))


class References(HTMLParser):
    """The links on a page, and what a browser loads with it."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.loads: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "link" and set(a.get("rel", "").lower().split()) & FETCHED_LINKS:
            self.loads.append(a.get("href", ""))
        elif tag in ("script", "img") and a.get("src"):
            self.loads.append(a["src"])


def local(url: str) -> str | None:
    """The path (and query) of a link to this site, or None for another site or a
    ``data:``/``mailto:`` link."""
    url, _ = urldefrag(url)
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def decoded(body: bytes, coding: str | None) -> bytes:
    if coding == "br":
        return brotli.decompress(body)
    if coding == "gzip":
        return gzip.decompress(body)
    return body


@dataclass
class Answer:
    status: int
    mimetype: str
    location: str
    weight: Weight
    body: bytes


def fetch(client: FlaskClient, path: str) -> Answer:
    """``path`` asked for once with each coding: the bytes sent each time, and the body."""
    sizes: dict[str, int] = {}
    for coding in CODINGS:
        response = client.get(path, headers={"Accept-Encoding": coding})
        data = response.get_data()
        response.close()
        sizes[coding] = len(data)
        body = decoded(data, response.headers.get("Content-Encoding"))
    return Answer(response.status_code, response.mimetype, response.headers.get("Location", ""),
                  Weight(len(body), sizes["gzip"], sizes["br"]), body)


def endpoint_of(app: Flask, path: str) -> str | None:
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(urlsplit(path).path, method="GET")
    except HTTPException:
        return None
    return endpoint


def walk(app: Flask, client: FlaskClient, role: str, starts: list[str],
         assets: dict[str, Weight]) -> list[Page]:
    """Breadth first from ``starts``, ``DEPTH`` links deep: the first page of each kind."""
    queue = deque((path, 0) for path in starts)
    seen_endpoints: set[str] = set()
    seen_paths: set[str] = set()
    pages: list[Page] = []
    while queue and len(pages) < MAX_PAGES:
        path, depth = queue.popleft()
        if path in seen_paths:
            continue
        seen_paths.add(path)
        endpoint = endpoint_of(app, path)
        if (endpoint is None or endpoint in SKIP_ENDPOINTS or endpoint in seen_endpoints
                or urlsplit(path).path.endswith(SKIP_SUFFIXES)):
            continue
        answer = fetch(client, path)
        if answer.status in (302, 303) and local(answer.location):
            queue.appendleft((local(answer.location), depth))  # "go on where you left off"
            continue
        if answer.status != 200 or answer.mimetype != "text/html":
            continue
        seen_endpoints.add(endpoint)
        refs = References()
        refs.feed(answer.body.decode("utf-8", "replace"))
        page = Page(role, endpoint, path, answer.weight)
        for src in refs.loads:
            target = local(src)
            if target is None:
                continue  # data: URIs are in the page already; no other sites are used
            if target not in assets:
                assets[target] = fetch(client, target).weight
            page.assets[target] = assets[target]
        pages.append(page)
        if depth < DEPTH:
            for href in refs.links:
                target = local(href)
                if target and "?" not in target and target not in seen_paths:
                    queue.append((target, depth + 1))
    return pages


def kb(n: int) -> str:
    return f"{n / 1000:,.1f}"


def table(pages: list[Page], limit: int) -> str:
    """One row per kind of page (URL rule): the role for whom it weighs most."""
    heaviest: dict[str, Page] = {}
    for p in pages:
        if (p.endpoint not in heaviest
                or p.first_visit().br > heaviest[p.endpoint].first_visit().br):
            heaviest[p.endpoint] = p
    rows = sorted(heaviest.values(), key=lambda p: (p.first_visit().br, p.first_visit().gzip),
                  reverse=True)
    out = ["| page (URL rule) | heaviest for | HTML raw | HTML gzip | HTML br | first visit raw | "
           "first visit gzip | first visit br |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for p in rows:
        first = p.first_visit()
        flag = " **over**" if max(first.gzip, first.br) > limit else ""
        out.append(f"| `{p.endpoint}` | {p.role} | {kb(p.html.raw)} | {kb(p.html.gzip)} | "
                   f"{kb(p.html.br)} | {kb(first.raw)} | {kb(first.gzip)} | {kb(first.br)}{flag} |")
    return "\n".join(out)


def build(tmp: Path, participants: int) -> tuple[Flask, int]:
    """The app on a new SQLite database: the demo, and the year cohort at ``participants``."""
    app = bench.make_app(tmp, f"sqlite:///{tmp / 'weight.sqlite3'}")
    logging.getLogger("dap").setLevel(logging.WARNING)  # no line per sign-in or request
    with app.app_context():
        db.create_all()
        load_demo(params=HashParams(time_cost=1, memory_cost=1024, parallelism=1))
        db.session.commit()
        cohort_id, events = insights_bench.make_cohort()
        insights_bench.add_people(cohort_id, events, 0, participants)
        for email in ("participant@example.org", "bench.year00000@example.org"):
            bench.set_cap_exempt(email, True)  # a long walk must not run into the cap
        db.session.remove()
    return app, cohort_id


def starts_for(app: Flask, cohort_id: int) -> dict[str, tuple[str | None, list[str]]]:
    """Who signs in, and where each starts: the year cohort's pages first, so that the
    pages of each kind measured are the big cohort's where there is a choice."""
    with app.app_context():
        demo_cohort = db.session.scalars(select(Cohort.id).join(Cohort.memberships).join(
            User).where(User.email == "participant@example.org").order_by(Cohort.id)).first()
    year = f"/cohorts/{cohort_id}"
    return {
        "signed out": (None, ["/login", "/reset"]),
        "participant": ("participant@example.org",
                        ["/", f"/cohorts/{demo_cohort}/plan", f"/cohorts/{demo_cohort}/home",
                         f"/cohorts/{demo_cohort}/support", f"/cohorts/{demo_cohort}/baseline"]),
        "participant, a year in": ("bench.year00000@example.org",
                                   ["/", f"{year}/plan", f"{year}/home", f"{year}/feed"]),
        "patron": ("patron@example.org", ["/patron", "/"]),
        "facilitator": ("facilitator@example.org",
                        [f"{year}/insights", f"{year}/insights/people",
                         f"{year}/insights/activity", f"{year}/insights/channels",
                         f"{year}/people", f"{year}/home", f"{year}/feed", f"{year}/events",
                         f"{year}/baseline/report", "/"]),
        "admin": ("admin@example.org", ["/admin/insights", "/admin/users", "/"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=PARTICIPANTS,
                        help=f"people in the year cohort (default {PARTICIPANTS})")
    parser.add_argument("--limit", type=int, default=LIMIT,
                        help=f"most bytes a first visit may send (default {LIMIT:,})")
    parser.add_argument("--json", type=Path, default=bench.RESULTS / "latest-page-weight.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dap-weight-") as tmp:
        app, cohort_id = build(Path(tmp), args.participants)
        print(f"seeded in {time.perf_counter() - started:.1f} s "
              f"({args.participants} participants with a year of activity)", flush=True)
        assets: dict[str, Weight] = {}
        pages: list[Page] = []
        for role, (email, starts) in starts_for(app, cohort_id).items():
            t0 = time.perf_counter()
            client = bench.signed_in(app, email) if email else app.test_client()
            found = walk(app, client, role, starts, assets)
            pages += found
            print(f"{role}: {len(found)} pages in {time.perf_counter() - t0:.1f} s", flush=True)
        with app.app_context():
            db.engine.dispose()
    print("\nStatic files (bytes sent, in thousands):\n")
    print("| file | raw | gzip | br |\n|---|---|---|---|")
    for path, w in sorted(assets.items(), key=lambda item: -item[1].raw):
        print(f"| `{path}` | {kb(w.raw)} | {kb(w.gzip)} | {kb(w.br)} |")
    print(f"\nPages (every role's in {args.json.name}), heaviest first visit (brotli) first; "
          f"KB = 1,000 bytes; limit {kb(args.limit)} KB:\n")
    print(table(pages, args.limit))
    over = [p for p in pages if max(p.first_visit().gzip, p.first_visit().br) > args.limit]
    heaviest = max(pages, key=lambda p: p.first_visit().br)
    first = heaviest.first_visit()
    print(f"\n{len(pages)} pages; heaviest first visit: {heaviest.role} {heaviest.endpoint} "
          f"{first.raw:,} bytes raw, {first.gzip:,} gzip, {first.br:,} br "
          f"({time.perf_counter() - started:.0f} s in all)")
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "participants": args.participants, "limit": args.limit,
              "assets": {k: asdict(v) for k, v in assets.items()},
              "pages": [{**asdict(p), "first_visit": asdict(p.first_visit())} for p in pages],
              "over": [f"{p.role} {p.path}" for p in over]}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.json}")
    for p in over:
        print(f"OVER {kb(args.limit)} KB: {p.role} {p.path} "
              f"(gzip {p.first_visit().gzip:,}, br {p.first_visit().br:,})", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
