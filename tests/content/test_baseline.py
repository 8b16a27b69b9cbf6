"""The skills baseline content: loading and checking ``content/baseline.md``, the check
command."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from dap.app import ROOT
from dap.content.baseline import (
    STATEMENTS_PER_AREA,
    baseline_cache,
    current_baseline,
    load_baseline,
)
from dap.content.library import load_areas

REAL_CONTENT = ROOT / "content"
REAL_AREAS = list(load_areas(REAL_CONTENT).areas)
INTRO = "Why we ask.\n\n**This is not a test.**\n"


def statement(area: str, name: str, text: str = "I can do this thing in my work.") -> dict:
    return {"id": f"{area}.{name}", "text": text}


def baseline_meta(areas: list[str] = REAL_AREAS) -> dict:  # noqa: B006 - never mutated
    """Good front matter: a five-point scale, three statements per area, two questions."""
    return {
        "scale": [{"value": n, "label": f"Label {n}", "description": f"Point {n}."}
                  for n in range(1, 6)],
        "areas": [{"area": slug, "statements": [statement(slug, name)
                                                for name in ("one", "two", "three")]}
                  for slug in areas],
        "questions": [
            {"id": "needs", "kind": "text", "text": "What do you need from this programme?"},
            {"id": "barriers", "kind": "choices", "multiple": True,
             "text": "What gets in the way?", "free_text": "Tell us more",
             "choices": [{"id": "time", "label": "Time"},
                         {"id": "confidence", "label": "Confidence"},
                         {"id": "other", "label": "Something else"}]},
        ],
    }


def write_baseline(root: Path, meta: dict | None = None, body: str = INTRO, *,
                   text: str | None = None) -> Path:
    """``root/baseline.md`` from ``meta`` (good front matter by default), or exactly
    ``text``; returns ``root``."""
    if text is None:
        text = "---\n" + yaml.safe_dump(meta or baseline_meta(), sort_keys=False) + "---\n" + body
    (root / "baseline.md").write_text(text, encoding="utf-8")
    return root


def content_dir(tmp_path: Path) -> Path:
    """A content folder with a copy of the real ``areas.md``."""
    root = tmp_path / "content"
    root.mkdir()
    shutil.copy(REAL_CONTENT / "areas.md", root / "areas.md")
    return root


def problems_of(root: Path) -> list[str]:
    baseline = load_baseline(root)
    assert {rel for rel, _ in baseline.problems} <= {"baseline.md"}
    if baseline.problems:  # a file with a problem is not used at all
        assert not baseline.is_available
        assert baseline.areas == {}
        assert baseline.questions == {}
    return [text for _, text in baseline.problems]


def test_the_real_baseline_loads_with_no_problems_and_covers_every_area():
    baseline = load_baseline(REAL_CONTENT)
    assert baseline.problems == []
    assert baseline.is_available
    assert list(baseline.areas) == REAL_AREAS  # all ten, in the order of areas.md
    low, high = STATEMENTS_PER_AREA
    for area in baseline.areas.values():
        assert low <= len(area.statements) <= high, area.slug
    assert [p.value for p in baseline.scale.points] == [1, 2, 3, 4, 5]
    assert baseline.scale.label(1) == "I haven't tried this"
    assert baseline.scale.label(5) == "I could show others how"
    assert list(baseline.questions) == ["needs", "learning", "barriers", "anything-else"]
    barriers = baseline.questions["barriers"]
    assert barriers.multiple
    assert barriers.free_text
    assert {"time", "it-restrictions", "confidence", "access", "other"} == {
        c.id for c in barriers.choices}
    assert "This is not a test" in baseline.intro_html


def test_a_good_baseline_loads_in_the_order_of_the_areas(tmp_path):
    baseline = load_baseline(write_baseline(content_dir(tmp_path)))
    assert baseline.problems == []
    assert list(baseline.areas) == REAL_AREAS
    first = baseline.areas[REAL_AREAS[0]]
    assert first.name == "Listening online"
    assert [s.id for s in first.statements] == [f"{REAL_AREAS[0]}.{n}"
                                                for n in ("one", "two", "three")]
    assert len(baseline.statements) == 3 * len(REAL_AREAS)
    assert baseline.scale.points[2].description == "Point 3."
    assert baseline.questions["needs"].kind == "text"
    assert [c.id for c in baseline.questions["barriers"].choices] == ["time", "confidence", "other"]
    with pytest.raises(KeyError):
        baseline.scale.label(6)


def test_the_introduction_is_rendered_then_sanitised(tmp_path):
    body = ('Why we ask.\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1))\n\n'
            '<img src=x onerror="alert(1)">\n\n# Who sees it\n\nYou.\n')
    html = str(load_baseline(write_baseline(content_dir(tmp_path), body=body)).intro_html)
    for unsafe in ("<script", "javascript:", "onerror"):
        assert unsafe not in html
    assert "<h2" in html  # "# Who sees it": the page around it owns <h1>
    assert "You." in html


def _area(meta: dict, slug: str) -> dict:
    return next(a for a in meta["areas"] if a["area"] == slug)


def _statements(meta: dict) -> list[dict]:
    return _area(meta, "listening-online")["statements"]


def _unknown_area(meta):
    meta["areas"].append({"area": "astrology", "statements": [
        statement("astrology", n) for n in ("one", "two", "three")]})


def _missing_area(meta):
    meta["areas"].pop()


def _areas_out_of_order(meta):
    meta["areas"].reverse()


def _area_twice(meta):
    meta["areas"].append(meta["areas"][0])


def _duplicate_statement_id(meta):
    _statements(meta)[2]["id"] = "listening-online.one"


def _duplicate_question_id(meta):
    meta["questions"][1]["id"] = "needs"


def _question_id_of_a_statement(meta):
    meta["questions"][0]["id"] = "listening-online.two"


def _two_statements(meta):
    _statements(meta).pop()


def _six_statements(meta):
    _statements(meta).extend(statement("listening-online", n)
                             for n in ("four", "five", "six"))


def _scale_of_four(meta):
    meta["scale"].pop()


def _scale_out_of_order(meta):
    meta["scale"][1], meta["scale"][2] = meta["scale"][2], meta["scale"][1]


def _scale_without_label(meta):
    del meta["scale"][3]["label"]


def _scale_label_too_long(meta):
    meta["scale"][0]["label"] = "x" * 41


def _scale_value_true(meta):
    meta["scale"][0]["value"] = True


def _html_in_statement(meta):
    _statements(meta)[0]["text"] = "I can <b>find</b> what people say."


def _bad_statement_id(meta):
    _statements(meta)[0]["id"] = "listening-online.Find_Mentions"


def _bad_question_id(meta):
    meta["questions"][0]["id"] = "what do you need?"


def _id_without_its_area(meta):
    _statements(meta)[0]["id"] = "writing-for-the-web.find"


def _statement_too_short(meta):
    _statements(meta)[0]["text"] = "I can."


def _statement_too_long(meta):
    _statements(meta)[0]["text"] = "I can " + "x" * 195


def _statement_typo(meta):
    _statements(meta)[0]["txt"] = _statements(meta)[0].pop("text")


def _no_questions(meta):
    meta["questions"] = []


def _unknown_kind(meta):
    meta["questions"][0]["kind"] = "rating"


def _duplicate_choice_ids(meta):
    meta["questions"][1]["choices"][2]["id"] = "time"


def _duplicate_choice_labels(meta):
    meta["questions"][1]["choices"][2]["label"] = "time"


def _one_choice(meta):
    del meta["questions"][1]["choices"][1:]


def _eleven_choices(meta):
    meta["questions"][1]["choices"] = [{"id": f"c{i}", "label": f"Choice {i}"}
                                       for i in range(11)]


def _choices_on_a_text_question(meta):
    meta["questions"][0]["choices"] = [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}]


def _multiple_not_a_boolean(meta):
    meta["questions"][1]["multiple"] = "sometimes"


def _unknown_top_level_key(meta):
    meta["questoins"] = meta.pop("questions")


@pytest.mark.parametrize(("change", "problem"), [
    (_unknown_area, "unknown area `astrology` (not in content/areas.md)"),
    (_missing_area, "missing area `campaigning-online`"),
    (_areas_out_of_order, "areas: must be in the same order as content/areas.md"),
    (_area_twice, "area `listening-online` appears more than once"),
    (_duplicate_statement_id, "area `listening-online`, statement 3: duplicate id "
                              "`listening-online.one` (also area `listening-online`, statement 1)"),
    (_duplicate_question_id, "question 2: duplicate id `needs` (also question 1)"),
    (_question_id_of_a_statement, "question 1: duplicate id `listening-online.two`"),
    (_two_statements, "area `listening-online`: has 2 statements; each area needs 3 to 5"),
    (_six_statements, "area `listening-online`: has 6 statements; each area needs 3 to 5"),
    (_scale_of_four, "scale: must be a list of exactly 5 points, 1 to 5"),
    (_scale_out_of_order, "scale point 2: `value` must be 2 (the points go 1 to 5 in order)"),
    (_scale_without_label, "scale point 4: `label` must be non-empty text"),
    (_scale_label_too_long, "scale point 1: `label` is longer than 40 characters"),
    (_scale_value_true, "scale point 1: `value` must be 1"),
    (_html_in_statement, "statement 1: `text` must be plain text, without HTML"),
    (_bad_statement_id, "id `listening-online.Find_Mentions` must be lower-case letters"),
    (_bad_question_id, "question 1: id `what do you need?` must be lower-case letters"),
    (_id_without_its_area, "id `writing-for-the-web.find` must start with `listening-online.`"),
    (_statement_too_short, "statement 1: `text` is shorter than 10 characters"),
    (_statement_too_long, "statement 1: `text` is longer than 200 characters"),
    (_statement_typo, "statement 1: unknown key `txt`"),
    (_no_questions, "`questions` must be a non-empty list"),
    (_unknown_kind, "question `needs`: `kind` must be one of text, choices"),
    (_duplicate_choice_ids, "question `barriers`: duplicate choice id `time`"),
    (_duplicate_choice_labels, "question `barriers`: duplicate choice label `time`"),
    (_one_choice, "question `barriers`: has 1 choices; a question needs 2 to 10"),
    (_eleven_choices, "question `barriers`: has 11 choices; a question needs 2 to 10"),
    (_choices_on_a_text_question, "`choices` is only for questions of kind `choices`"),
    (_multiple_not_a_boolean, "`multiple` must be true or false"),
    (_unknown_top_level_key, "front matter: unknown key `questoins`"),
])
def test_each_bad_baseline_is_reported_and_not_used(tmp_path, change: Callable, problem: str):
    meta = baseline_meta()
    change(meta)
    problems = problems_of(write_baseline(content_dir(tmp_path), meta))
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(("text", "problem"), [
    ("", "the file is empty"),
    ("\n  \n", "the file is empty"),
    ("Just an introduction, no front matter.\n", "needs YAML front matter between `---` lines"),
    ("---\n- scale\n- areas\n---\nIntro.\n", "the front matter must be a mapping"),
    ("---\njust words\n---\nIntro.\n", "the front matter must be a mapping"),
    ("---\nscale: [unclosed\n---\nIntro.\n", "the front matter is not valid YAML"),
    ("---\nscale: []\n", "the front matter is not closed with a `---` line"),
])
def test_a_file_that_is_not_front_matter_and_markdown_is_a_problem(tmp_path, text, problem):
    problems = problems_of(write_baseline(content_dir(tmp_path), text=text))
    assert any(p.startswith(problem) for p in problems), problems


def test_an_empty_introduction_is_a_problem(tmp_path):
    problems = problems_of(write_baseline(content_dir(tmp_path), body="\n"))
    assert problems == ["the introduction (the Markdown after the front matter) is empty"]


def test_a_missing_file_is_a_problem_not_an_error(tmp_path):
    assert problems_of(content_dir(tmp_path)) == ["missing"]


def test_without_valid_areas_nothing_can_be_checked(tmp_path):
    root = write_baseline(content_dir(tmp_path))
    (root / "areas.md").unlink()
    assert "areas: cannot be checked: content/areas.md has no valid skill areas" in problems_of(root)


def test_the_cache_reads_a_changed_file_again(tmp_path, monkeypatch):
    root = write_baseline(content_dir(tmp_path))
    cache = baseline_cache(root)
    assert cache.get().is_available
    meta = baseline_meta()
    _missing_area(meta)
    path = write_baseline(root, meta) / "baseline.md"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    monkeypatch.setattr("dap.content.cache.RECHECK_SECONDS", 0.0)
    assert not cache.get().is_available


def test_the_app_reads_the_baseline_of_its_content_folder(app, tmp_path):
    root = write_baseline(content_dir(tmp_path))
    app.config["CONTENT_DIR"] = str(root)
    with app.app_context():
        assert current_baseline().questions["barriers"].free_text == "Tell us more"


def test_check_command_counts_the_real_baseline(runner):
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 0, result.output
    assert "content/baseline.md" not in result.output
    count = len(load_baseline(REAL_CONTENT).statements)
    assert f"Baseline: {count} statements in 10 areas, 4 questions." in result.output


def test_check_command_fails_naming_the_baseline_file_and_problem(app, runner, tmp_path):
    root = content_dir(tmp_path)
    shutil.copytree(REAL_CONTENT / "goals", root / "goals")
    shutil.copytree(REAL_CONTENT / "nudges", root / "nudges")
    meta = baseline_meta()
    _unknown_area(meta)
    _duplicate_question_id(meta)
    app.config["CONTENT_DIR"] = str(write_baseline(root, meta))
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 1
    assert ("content/baseline.md: unknown area `astrology` (not in content/areas.md)"
            in result.output)
    assert ("content/baseline.md: question 2: duplicate id `needs` (also question 1)"
            in result.output)
    assert "2 problem(s) found." in result.output
    assert "Baseline:" not in result.output
