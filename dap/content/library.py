"""The goal library: skill areas and goals read from ``content/`` (Markdown with front
matter), checked, rendered once and cached.

A file with a problem is left out and its problem reported (the site keeps working with
the rest); ``flask --app dap content check`` lists every problem and fails CI.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from markupsafe import Markup

from dap.content.cache import ContentCache, ContentSource
from dap.content.render import render_markdown

LEVELS = ("starter", "explorer", "pioneer")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: an internal link in content: ``](/library/<slug>)`` (optionally with a #fragment)
INTERNAL_LINK_RE = re.compile(r"\]\(/library/([^)#?\s]*)")
SUMMARY_MAX = 200
CHALLENGE_MAX = 300


@dataclass(frozen=True)
class Area:
    slug: str
    name: str
    summary: str


@dataclass(frozen=True)
class Challenge:
    text: str
    link: str | None = None


@dataclass(frozen=True)
class Goal:
    slug: str
    title: str
    area: str
    level: str
    minutes: int
    summary: str
    challenges: tuple[Challenge, ...]
    body: str
    html: Markup
    #: lower-cased, accent-free text of each field, for search
    search_title: str = ""
    search_summary: str = ""
    search_body: str = ""


@dataclass
class Library:
    areas: dict[str, Area] = field(default_factory=dict)
    goals: dict[str, Goal] = field(default_factory=dict)
    intro_html: Markup = field(default_factory=Markup)
    #: (file relative to the content folder, problem) pairs
    problems: list[tuple[str, str]] = field(default_factory=list)

    def goals_in(self, area: str | None = None, level: str | None = None) -> list[Goal]:
        """Goals, by area order then level then title, optionally filtered."""
        area_order = {slug: i for i, slug in enumerate(self.areas)}
        chosen = [g for g in self.goals.values()
                  if (area is None or g.area == area) and (level is None or g.level == level)]
        return sorted(chosen, key=lambda g: (area_order.get(g.area, 99), LEVELS.index(g.level),
                                             g.title.lower()))

    def search(self, query: str, *, area: str | None = None,
               level: str | None = None) -> list[Goal]:
        """Goals containing every word of ``query`` (case and accents ignored), best first:
        a word in the title counts 3, in the summary or a challenge 2, in the body 1."""
        words = fold(query).split()[:10]
        candidates = self.goals_in(area, level)
        if not words:
            return candidates
        scored = []
        for goal in candidates:
            score = 0
            for word in words:
                weight = (3 if word in goal.search_title else
                          2 if word in goal.search_summary else
                          1 if word in goal.search_body else 0)
                if not weight:
                    break
                score += weight
            else:
                scored.append((-score, goal.title.lower(), goal))
        return [goal for *_, goal in sorted(scored, key=lambda t: (t[0], t[1]))]


def fold(text: str) -> str:
    """Lower-case and strip accents, for matching ("Café" finds "cafe")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _text(value: Any, name: str, problems: list[str], *, max_len: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"`{name}` must be non-empty text")
        return ""
    if max_len and len(value) > max_len:
        problems.append(f"`{name}` is longer than {max_len} characters")
    return value.strip()


def _read_areas(path: Path, library: Library) -> None:
    rel = path.name
    try:
        post = frontmatter.load(path)
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as error:
        library.problems.append((rel, f"cannot be read: {error}"))
        return
    items = post.metadata.get("areas")
    if not isinstance(items, list) or not items:
        library.problems.append((rel, "front matter needs an `areas` list"))
        return
    for i, item in enumerate(items, start=1):
        problems: list[str] = []
        if not isinstance(item, dict):
            library.problems.append((rel, f"area {i} must be a mapping"))
            continue
        slug = _text(item.get("slug"), "slug", problems)
        if slug and not SLUG_RE.match(slug):
            problems.append(f"slug `{slug}` must be lower-case letters, digits and hyphens")
        name = _text(item.get("name"), "name", problems)
        summary = _text(item.get("summary"), "summary", problems, max_len=SUMMARY_MAX * 2)
        if slug in library.areas:
            problems.append(f"duplicate area slug `{slug}`")
        if problems:
            library.problems.extend((rel, f"area {i}: {p}") for p in problems)
            continue
        library.areas[slug] = Area(slug=slug, name=name, summary=summary)
    library.intro_html = render_markdown(post.content, heading_base=2, link_rel="noopener")


def _read_goal(path: Path, library: Library, seen: dict[str, str]) -> Goal | None:
    rel = f"goals/{path.name}"
    try:
        post = frontmatter.load(path)
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as error:
        library.problems.append((rel, f"cannot be read: {error}"))
        return None
    meta = post.metadata
    problems: list[str] = []
    title = _text(meta.get("title"), "title", problems, max_len=120)
    slug = _text(meta.get("slug"), "slug", problems)
    if slug:
        if not SLUG_RE.match(slug):
            problems.append(f"slug `{slug}` must be lower-case letters, digits and hyphens")
        if slug != path.stem:
            problems.append(f"slug `{slug}` must match the file name `{path.stem}`")
        if slug in seen:
            problems.append(f"duplicate slug `{slug}` (also in {seen[slug]})")
    area = _text(meta.get("area"), "area", problems)
    if area and area not in library.areas:
        problems.append(f"unknown area `{area}`")
    level = meta.get("level")
    if level not in LEVELS:
        problems.append(f"`level` must be one of {', '.join(LEVELS)}")
    minutes = meta.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 600:
        problems.append("`minutes` must be a whole number from 1 to 600")
    summary = _text(meta.get("summary"), "summary", problems, max_len=SUMMARY_MAX)
    challenges: list[Challenge] = []
    raw = meta.get("challenges")
    if not isinstance(raw, list) or not raw:
        problems.append("`challenges` must be a list with at least one challenge")
        raw = []
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            problems.append(f"challenge {i} must be a mapping with `text`")
            continue
        text = _text(item.get("text"), f"challenges[{i}].text", problems,
                     max_len=CHALLENGE_MAX)
        link = item.get("link")
        if link is not None and (not isinstance(link, str)
                                 or not link.startswith(("https://", "http://"))):
            problems.append(f"challenge {i}: `link` must be an http(s) address")
            link = None
        challenges.append(Challenge(text=text, link=link))
    if not post.content.strip():
        problems.append("the body is empty")
    if problems:
        library.problems.extend((rel, p) for p in problems)
        return None
    seen[slug] = rel
    html = render_markdown(post.content, heading_base=1, link_rel="noopener")
    challenge_text = " ".join(c.text for c in challenges)
    return Goal(
        slug=slug, title=title, area=area, level=str(level), minutes=int(minutes),
        summary=summary, challenges=tuple(challenges), body=post.content, html=html,
        search_title=fold(title), search_summary=fold(f"{summary} {challenge_text}"),
        search_body=fold(post.content),
    )


def load_areas(content_dir: Path) -> Library:
    """Read and check only the skill areas (``content/areas.md``), without the goals: a
    library whose ``goals`` is empty. Never raises; problems are recorded."""
    library = Library()
    areas_file = content_dir / "areas.md"
    if areas_file.is_file():
        _read_areas(areas_file, library)
    else:
        library.problems.append(("areas.md", "missing"))
    return library


def load_library(content_dir: Path) -> Library:
    """Read and check every area and goal. Never raises for a bad file: its problems are
    recorded in ``Library.problems`` and it is left out."""
    library = load_areas(content_dir)
    seen: dict[str, str] = {}
    goals_dir = content_dir / "goals"
    for path in sorted(goals_dir.glob("*.md")) if goals_dir.is_dir() else []:
        goal = _read_goal(path, library, seen)
        if goal is not None:
            library.goals[goal.slug] = goal
    for goal in list(library.goals.values()):
        for target in INTERNAL_LINK_RE.findall(goal.body):
            if target and target not in library.goals and target not in seen:
                library.problems.append((f"goals/{goal.slug}.md",
                                         f"broken internal link /library/{target}"))
    return library


def _library_files(content_dir: Path) -> list[Path]:
    return [content_dir / "areas.md", *sorted((content_dir / "goals").glob("*.md"))]


LIBRARY = ContentSource(
    "goal library", load=load_library, files=_library_files,
    unreadable=lambda: Library(problems=[("", "content folder unreadable")]),
)


def library_cache(content_dir: Path) -> ContentCache[Library]:
    """The one library cache per content folder in this process (apps in one process
    share it)."""
    return LIBRARY.cache(content_dir)


def current_library() -> Library:
    """The library for the current app's ``CONTENT_DIR``."""
    return LIBRARY.current()
