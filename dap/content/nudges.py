"""Nudge templates: the ready-made messages a patron can send, read from ``content/nudges/``
(one Markdown file each, with front matter), checked and cached like the goal library.

A template's body is plain text with paragraphs, not Markdown: it goes into an email and
into the message box the patron can edit before sending. It may name the participant and
the patron with ``{first_name}`` and ``{patron_first_name}``, and nothing else.

A file with a problem is left out and its problem logged (the other templates keep
working); ``flask --app dap content check`` lists every problem and fails CI.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from dap.content.cache import ContentCache, ContentSource
from dap.content.library import SLUG_RE

#: the kinds of nudge, in the order a patron sees them
KINDS = ("nudge", "cajole", "enthuse")
#: the only placeholders a body may use
PLACEHOLDERS = ("first_name", "patron_first_name")
TITLE_MAX = 80
WHEN_MAX = 160
BODY_MAX = 600
#: names of a generous length, to check a body still fits once rendered
SAMPLE_NAMES = {"first_name": "Alexandrina", "patron_first_name": "Christopher"}

#: ``{anything}`` in a body: a placeholder if it is one of PLACEHOLDERS, a problem if not
BRACES_RE = re.compile(r"\{([^{}\n]*)\}")
#: something that looks like an HTML tag, comment or entity: content is plain text
HTML_RE = re.compile(r"<\s*[a-zA-Z!/?]|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")
BLANK_LINES_RE = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class NudgeTemplate:
    slug: str
    kind: str
    #: what the patron sees when choosing
    title: str
    #: the body, paragraphs separated by one blank line, placeholders still in it
    body: str
    #: a short hint for the patron on when to use it
    when: str | None = None


@dataclass
class NudgeSet:
    templates: dict[str, NudgeTemplate] = field(default_factory=dict)
    #: (file relative to the content folder, problem) pairs
    problems: list[tuple[str, str]] = field(default_factory=list)

    def ordered(self, kind: str | None = None) -> list[NudgeTemplate]:
        """Templates by kind (nudge, cajole, enthuse) then title, optionally one kind."""
        chosen = [t for t in self.templates.values() if kind is None or t.kind == kind]
        return sorted(chosen, key=lambda t: (KINDS.index(t.kind), t.title.casefold(), t.slug))


def _plain_name(value: str) -> str:
    """A name as one line of plain text: control characters dropped, whitespace collapsed."""
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in str(value))
    return " ".join(kept.split())


def _fill(body: str, values: dict[str, str]) -> str:
    # One pass over the template: braces or HTML inside a name are never looked at again.
    return BRACES_RE.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def render_nudge(template: NudgeTemplate, *, first_name: str, patron_first_name: str) -> str:
    """The template's message for one participant, as plain text with paragraphs.

    The names are put in as they are (on one line): nothing in them is treated as a
    placeholder or as markup, so the result must be escaped like any other text when it
    goes into HTML (Jinja does that by itself).
    """
    return _fill(template.body, {"first_name": _plain_name(first_name),
                                 "patron_first_name": _plain_name(patron_first_name)})


def _paragraphs(text: str) -> str:
    """Paragraphs separated by one blank line; the lines of each joined with a space."""
    paragraphs = (" ".join(p.split()) for p in BLANK_LINES_RE.split(text.strip()))
    return "\n\n".join(p for p in paragraphs if p)


def _text(value: Any, name: str, problems: list[str], *, max_len: int) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"`{name}` must be non-empty text")
        return ""
    value = " ".join(value.split())
    if len(value) > max_len:
        problems.append(f"`{name}` is longer than {max_len} characters")
    if HTML_RE.search(value):
        problems.append(f"`{name}` must be plain text, without HTML")
    if "{" in value or "}" in value:
        problems.append(f"`{name}` cannot use placeholders or braces")
    return value


def _check_body(body: str, problems: list[str]) -> None:
    if not body:
        problems.append("the body is empty")
        return
    if HTML_RE.search(body):
        problems.append("the body must be plain text, without HTML")
    allowed = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
    for name in sorted({m.group(1) for m in BRACES_RE.finditer(body)} - set(PLACEHOLDERS)):
        problems.append(f"unknown placeholder `{{{name}}}` (only {allowed})")
    outside = BRACES_RE.sub("", body)
    if "{" in outside or "}" in outside:
        problems.append("the body has a stray `{` or `}`")
    rendered = _fill(body, SAMPLE_NAMES)
    if len(rendered) > BODY_MAX:
        problems.append(f"the body is longer than {BODY_MAX} characters ({len(rendered)} with "
                        "sample names)")


def _read_template(path: Path, nudges: NudgeSet) -> NudgeTemplate | None:
    rel = f"nudges/{path.name}"
    try:
        post = frontmatter.load(path)
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as error:
        nudges.problems.append((rel, f"cannot be read: {error}"))
        return None
    meta = post.metadata
    problems: list[str] = []
    slug = _text(meta.get("slug"), "slug", problems, max_len=TITLE_MAX)
    if slug:
        if not SLUG_RE.match(slug):
            problems.append(f"slug `{slug}` must be lower-case letters, digits and hyphens")
        if slug != path.stem:
            problems.append(f"slug `{slug}` must match the file name `{path.stem}`")
        if slug in nudges.templates:
            problems.append(f"duplicate slug `{slug}`")
    kind = meta.get("kind")
    if kind not in KINDS:
        problems.append(f"`kind` must be one of {', '.join(KINDS)}")
    title = _text(meta.get("title"), "title", problems, max_len=TITLE_MAX)
    when = meta.get("when")
    if when is not None:
        when = _text(when, "when", problems, max_len=WHEN_MAX)
    body = _paragraphs(post.content)
    _check_body(body, problems)
    if problems:
        nudges.problems.extend((rel, p) for p in problems)
        return None
    return NudgeTemplate(slug=slug, kind=str(kind), title=title, body=body, when=when or None)


def load_nudges(content_dir: Path) -> NudgeSet:
    """Read and check every template in ``content_dir/nudges``. Never raises for a bad
    file: its problems are recorded in ``NudgeSet.problems`` and it is left out."""
    nudges = NudgeSet()
    folder = content_dir / "nudges"
    if not folder.is_dir():
        nudges.problems.append(("nudges/", "missing"))
        return nudges
    for path in sorted(folder.glob("*.md")):
        template = _read_template(path, nudges)
        if template is not None:
            nudges.templates[template.slug] = template
    return nudges


def _nudge_files(content_dir: Path) -> list[Path]:
    return sorted((content_dir / "nudges").glob("*.md"))


NUDGES = ContentSource(
    "nudge templates", load=load_nudges, files=_nudge_files,
    unreadable=lambda: NudgeSet(problems=[("nudges/", "folder unreadable")]),
)


def nudge_cache(content_dir: Path) -> ContentCache[NudgeSet]:
    """The one nudge template cache per content folder in this process (apps in one
    process share it)."""
    return NUDGES.cache(content_dir)


def nudge_templates(kind: str | None = None) -> list[NudgeTemplate]:
    """The current app's templates, by kind (nudge, cajole, enthuse) then title."""
    return NUDGES.current().ordered(kind)


def nudge_template(slug: str) -> NudgeTemplate | None:
    """One of the current app's templates by slug, or None."""
    return NUDGES.current().templates.get(slug)
