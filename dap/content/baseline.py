"""The skills baseline: the rating scale, the statements people rate for each skill area,
and the open questions, read from ``content/baseline.md`` (YAML front matter, with a
Markdown introduction as the body), checked strictly and cached like the goal library.

The ids of statements and questions are what answers are stored against, so they must
be unique across the file and stay stable once people have answered. A file with any
problem is not used at all (half a questionnaire would store answers against a different
set of statements): ``Baseline.is_available`` is then false, the problems are logged,
and ``flask --app dap content check`` lists them and fails CI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler
from markupsafe import Markup

from dap.content.cache import ContentCache, ContentSource
from dap.content.library import load_areas
from dap.content.render import render_markdown

FILE = "baseline.md"
#: statement and question ids: lower-case words joined by dots or hyphens
ID_RE = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")
ID_MAX = 80
SCALE_POINTS = (1, 2, 3, 4, 5)
SCALE_LABEL_MAX = 40
SCALE_DESCRIPTION_MAX = 120
STATEMENT_MIN, STATEMENT_MAX = 10, 200
STATEMENTS_PER_AREA = (3, 5)
QUESTION_KINDS = ("text", "choices")
QUESTION_MAX = 200
HINT_MAX = 300
QUESTIONS_MAX = 10
CHOICES_PER_QUESTION = (2, 10)
CHOICE_LABEL_MAX = 80
#: the keys each part of the front matter may have (anything else is a typo)
TOP_KEYS = {"scale", "areas", "questions"}
POINT_KEYS = {"value", "label", "description"}
AREA_KEYS = {"area", "statements"}
STATEMENT_KEYS = {"id", "text"}
QUESTION_KEYS = {"id", "kind", "text", "hint", "choices", "multiple", "free_text"}
CHOICE_KEYS = {"id", "label"}


@dataclass(frozen=True)
class ScalePoint:
    value: int
    #: a few words, e.g. "I could show others how"
    label: str
    #: an optional line saying a little more
    description: str | None = None


@dataclass(frozen=True)
class Scale:
    #: exactly five points, 1 to 5 in order
    points: tuple[ScalePoint, ...]

    def label(self, value: int) -> str:
        """The label of a point on the scale; ``KeyError`` for a value off the scale."""
        for point in self.points:
            if point.value == value:
                return point.label
        raise KeyError(value)


@dataclass(frozen=True)
class Statement:
    #: stable, unique across the file, e.g. ``listening-online.find-mentions``
    id: str
    #: the skill area's slug (the id starts with it)
    area: str
    #: first person, plain text
    text: str


@dataclass(frozen=True)
class BaselineArea:
    slug: str
    #: the area's name from ``content/areas.md``
    name: str
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class Choice:
    id: str
    label: str


@dataclass(frozen=True)
class Question:
    id: str
    #: ``text`` (an open answer) or ``choices`` (pick from ``choices``)
    kind: str
    text: str
    hint: str | None = None
    choices: tuple[Choice, ...] = ()
    #: choices only: more than one may be picked
    multiple: bool = False
    #: choices only: the label of an optional free-text box next to the choices
    free_text: str | None = None


@dataclass
class Baseline:
    scale: Scale | None = None
    #: by slug, in the order of ``content/areas.md``
    areas: dict[str, BaselineArea] = field(default_factory=dict)
    #: by id, in the file's order
    questions: dict[str, Question] = field(default_factory=dict)
    intro_html: Markup = field(default_factory=Markup)
    #: (file relative to the content folder, problem) pairs
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_available(self) -> bool:
        """True when the file loaded without a problem (a baseline can be taken)."""
        return self.scale is not None and not self.problems

    @property
    def statements(self) -> dict[str, Statement]:
        """Every statement by id, area by area."""
        return {s.id: s for area in self.areas.values() for s in area.statements}


class _Checker:
    """Collects the problems of one file, each located by where it is in the front matter."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        #: id → where it was first used, for duplicates across statements and questions
        self.ids: dict[str, str] = {}

    def add(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}" if where else problem)

    def mapping(self, value: Any, where: str, keys: set[str]) -> dict | None:
        if not isinstance(value, dict):
            self.add(where, "must be a mapping")
            return None
        for key in sorted(set(map(str, value)) - keys):
            self.add(where, f"unknown key `{key}` (expected {', '.join(sorted(keys))})")
        return value

    def items(self, value: Any, where: str, name: str) -> list:
        if not isinstance(value, list) or not value:
            self.add(where, f"`{name}` must be a non-empty list")
            return []
        return value

    def text(self, value: Any, where: str, name: str, *, max_len: int, min_len: int = 1,
             required: bool = True) -> str | None:
        """Plain text on one line (whitespace collapsed), or None if missing or wrong."""
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(where, f"`{name}` must be non-empty text")
            return None
        value = " ".join(value.split())
        if len(value) > max_len:
            self.add(where, f"`{name}` is longer than {max_len} characters")
        elif len(value) < min_len:
            self.add(where, f"`{name}` is shorter than {min_len} characters")
        if "<" in value:
            self.add(where, f"`{name}` must be plain text, without HTML (`<`)")
        return value

    def id(self, value: Any, where: str, *, prefix: str | None = None) -> str | None:
        """A well-formed id not used before in the file."""
        if not isinstance(value, str) or not value:
            self.add(where, "`id` must be non-empty text")
            return None
        if len(value) > ID_MAX or not ID_RE.match(value):
            self.add(where, f"id `{value}` must be lower-case letters and digits joined by dots "
                            f"or hyphens, at most {ID_MAX} characters")
            return None
        if prefix and not value.startswith(f"{prefix}."):
            self.add(where, f"id `{value}` must start with `{prefix}.`")
        if value in self.ids:
            self.add(where, f"duplicate id `{value}` (also {self.ids[value]})")
            return None
        self.ids[value] = where
        return value


def _check_scale(raw: Any, check: _Checker) -> Scale | None:
    if not isinstance(raw, list) or len(raw) != len(SCALE_POINTS):
        check.add("scale", f"must be a list of exactly {len(SCALE_POINTS)} points, 1 to 5")
        return None
    points = []
    before = len(check.problems)
    for expected, item in zip(SCALE_POINTS, raw, strict=True):
        where = f"scale point {expected}"
        item = check.mapping(item, where, POINT_KEYS)
        if item is None:
            continue
        value = item.get("value")
        if isinstance(value, bool) or value != expected:
            check.add(where, f"`value` must be {expected} (the points go 1 to 5 in order)")
        label = check.text(item.get("label"), where, "label", max_len=SCALE_LABEL_MAX)
        description = check.text(item.get("description"), where, "description",
                                 max_len=SCALE_DESCRIPTION_MAX, required=False)
        points.append(ScalePoint(value=expected, label=label or "", description=description))
    if len(check.problems) > before:
        return None
    return Scale(points=tuple(points))


def _check_statements(raw: Any, slug: str, where: str, check: _Checker) -> list[Statement]:
    items = check.items(raw, where, "statements")
    low, high = STATEMENTS_PER_AREA
    if items and not low <= len(items) <= high:
        check.add(where, f"has {len(items)} statements; each area needs {low} to {high}")
    statements = []
    for i, item in enumerate(items, start=1):
        at = f"{where}, statement {i}"
        item = check.mapping(item, at, STATEMENT_KEYS)
        if item is None:
            continue
        statement_id = check.id(item.get("id"), at, prefix=slug)
        text = check.text(item.get("text"), at, "text", min_len=STATEMENT_MIN,
                          max_len=STATEMENT_MAX)
        if statement_id and text:
            statements.append(Statement(id=statement_id, area=slug, text=text))
    return statements


def _check_areas(raw: Any, names: dict[str, str], check: _Checker) -> dict[str, BaselineArea]:
    if not names:
        check.add("areas", "cannot be checked: content/areas.md has no valid skill areas")
        return {}
    found: dict[str, BaselineArea] = {}
    for i, item in enumerate(check.items(raw, "", "areas"), start=1):
        where = f"area {i}"
        item = check.mapping(item, where, AREA_KEYS)
        if item is None:
            continue
        slug = item.get("area")
        if not isinstance(slug, str) or not slug:
            check.add(where, "`area` must be the slug of a skill area")
            continue
        where = f"area `{slug}`"
        if slug not in names:
            check.add("", f"unknown area `{slug}` (not in content/areas.md)")
            continue
        if slug in found:
            check.add("", f"area `{slug}` appears more than once")
            continue
        statements = _check_statements(item.get("statements"), slug, where, check)
        found[slug] = BaselineArea(slug=slug, name=names[slug], statements=tuple(statements))
    for slug in names:
        if slug not in found:
            check.add("", f"missing area `{slug}` (every area of content/areas.md needs "
                          "statements)")
    if list(found) != [slug for slug in names if slug in found]:
        check.add("areas", "must be in the same order as content/areas.md")
    return found


def _check_choices(raw: Any, where: str, check: _Checker) -> list[Choice]:
    items = check.items(raw, where, "choices")
    low, high = CHOICES_PER_QUESTION
    if items and not low <= len(items) <= high:
        check.add(where, f"has {len(items)} choices; a question needs {low} to {high}")
    choices: list[Choice] = []
    labels: set[str] = set()
    for i, item in enumerate(items, start=1):
        at = f"{where}, choice {i}"
        item = check.mapping(item, at, CHOICE_KEYS)
        if item is None:
            continue
        choice_id = item.get("id")
        if not isinstance(choice_id, str) or not ID_RE.match(choice_id) or len(choice_id) > ID_MAX:
            check.add(at, f"id `{choice_id}` must be lower-case letters and digits joined by "
                          "dots or hyphens")
            choice_id = None
        elif any(c.id == choice_id for c in choices):
            check.add(where, f"duplicate choice id `{choice_id}`")
            choice_id = None
        label = check.text(item.get("label"), at, "label", max_len=CHOICE_LABEL_MAX)
        if label and label.casefold() in labels:
            check.add(where, f"duplicate choice label `{label}`")
        elif label:
            labels.add(label.casefold())
        if choice_id and label:
            choices.append(Choice(id=choice_id, label=label))
    return choices


def _check_question(item: Any, i: int, check: _Checker) -> Question | None:
    where = f"question {i}"
    item = check.mapping(item, where, QUESTION_KEYS)
    if item is None:
        return None
    question_id = check.id(item.get("id"), where)
    if question_id:
        where = f"question `{question_id}`"
    kind = item.get("kind")
    if kind not in QUESTION_KINDS:
        check.add(where, f"`kind` must be one of {', '.join(QUESTION_KINDS)}")
    text = check.text(item.get("text"), where, "text", max_len=QUESTION_MAX)
    hint = check.text(item.get("hint"), where, "hint", max_len=HINT_MAX, required=False)
    choices: list[Choice] = []
    multiple = item.get("multiple", False)
    free_text = None
    if kind == "choices":
        choices = _check_choices(item.get("choices"), where, check)
        if not isinstance(multiple, bool):
            check.add(where, "`multiple` must be true or false")
        free_text = check.text(item.get("free_text"), where, "free_text",
                               max_len=CHOICE_LABEL_MAX, required=False)
    else:
        for key in ("choices", "multiple", "free_text"):
            if key in item:
                check.add(where, f"`{key}` is only for questions of kind `choices`")
    if not (question_id and text and kind in QUESTION_KINDS):
        return None
    return Question(id=question_id, kind=str(kind), text=text, hint=hint, choices=tuple(choices),
                    multiple=multiple is True, free_text=free_text)


def _check_questions(raw: Any, check: _Checker) -> dict[str, Question]:
    items = check.items(raw, "", "questions")
    if len(items) > QUESTIONS_MAX:
        check.add("questions", f"at most {QUESTIONS_MAX} questions")
    questions = (_check_question(item, i, check) for i, item in enumerate(items, start=1))
    return {q.id: q for q in questions if q is not None}


def _front_matter(text: str, check: _Checker) -> tuple[dict | None, str]:
    """The front matter as a mapping (None after a problem) and the body."""
    handler = YAMLHandler()
    text = text.lstrip("\ufeff").strip()
    if not text:
        check.add("", "the file is empty")
        return None, ""
    if not handler.detect(text):
        check.add("", "needs YAML front matter between `---` lines at the top")
        return None, text
    try:
        raw, body = handler.split(text)
        meta = handler.load(raw)
    except ValueError:
        check.add("", "the front matter is not closed with a `---` line")
        return None, text
    except yaml.YAMLError as error:
        check.add("", f"the front matter is not valid YAML: {error}")
        return None, ""
    if not isinstance(meta, dict):
        check.add("", "the front matter must be a mapping with `scale`, `areas` and `questions`")
        return None, body
    return meta, body


def load_baseline(content_dir: Path) -> Baseline:
    """Read and check ``content_dir/baseline.md`` against the skill areas of
    ``content_dir/areas.md``. Never raises for a bad file: every problem found is recorded
    in ``Baseline.problems`` (as ``("baseline.md", problem)``) and nothing else is kept."""
    path = content_dir / FILE
    if not path.is_file():
        return Baseline(problems=[(FILE, "missing")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return Baseline(problems=[(FILE, f"cannot be read: {error}")])
    check = _Checker()
    meta, body = _front_matter(text, check)
    if meta is not None:
        check.mapping(meta, "front matter", TOP_KEYS)
        scale = _check_scale(meta.get("scale"), check)
        names = {slug: area.name for slug, area in load_areas(content_dir).areas.items()}
        areas = _check_areas(meta.get("areas"), names, check)
        questions = _check_questions(meta.get("questions"), check)
        if not body.strip():
            check.add("", "the introduction (the Markdown after the front matter) is empty")
    if check.problems:
        return Baseline(problems=[(FILE, p) for p in check.problems])
    return Baseline(scale=scale, areas=areas, questions=questions,
                    intro_html=render_markdown(body, heading_base=2, link_rel="noopener"))


def _baseline_files(content_dir: Path) -> list[Path]:
    return [content_dir / "areas.md", content_dir / FILE]


BASELINE = ContentSource(
    "baseline", load=load_baseline, files=_baseline_files,
    unreadable=lambda: Baseline(problems=[(FILE, "cannot be read")]),
)


def baseline_cache(content_dir: Path) -> ContentCache[Baseline]:
    """The one baseline cache per content folder in this process (apps in one process
    share it)."""
    return BASELINE.cache(content_dir)


def current_baseline() -> Baseline:
    """The baseline for the current app's ``CONTENT_DIR``."""
    return BASELINE.current()
