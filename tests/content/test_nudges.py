"""Nudge templates: loading and checking ``content/nudges/``, rendering, the check command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dap.app import ROOT
from dap.content.nudges import (
    KINDS,
    load_nudges,
    nudge_cache,
    nudge_template,
    nudge_templates,
    render_nudge,
)
from tests.content.test_baseline import baseline_meta, write_baseline
from tests.content.test_library import goal, make_content

REAL_CONTENT = ROOT / "content"


def template(slug="been-a-while", body: str | None = None, **overrides) -> str:
    """A template file; ``overrides`` replace front matter values (None leaves a key out)."""
    meta = {"slug": slug, "kind": "nudge", "title": "Haven't seen you for a while",
            "when": "After two quiet weeks."}
    meta.update(overrides)
    lines = [f"{key}: {value}" for key, value in meta.items() if value is not None]
    text = "Hi {first_name}, it's been a while.\nOne small step this week?\n\n{patron_first_name}\n"
    return "---\n" + "\n".join(lines) + "\n---\n" + (text if body is None else body)


def make_nudges(root: Path, files: dict[str, str]) -> Path:
    (root / "nudges").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / "nudges" / name).write_text(text, encoding="utf-8")
    return root


def test_the_real_templates_load_with_no_problems_and_cover_every_kind():
    nudges = load_nudges(REAL_CONTENT)
    assert nudges.problems == []
    for kind in KINDS:
        assert len(nudges.ordered(kind)) >= 5, kind
    for t in nudges.templates.values():
        text = render_nudge(t, first_name="Zoë", patron_first_name="Siân")
        assert "{" not in text, t.slug
        assert "<" not in text, t.slug
        assert "Zoë" in text


def test_a_good_template_loads_as_plain_paragraphs(tmp_path):
    nudges = load_nudges(make_nudges(tmp_path, {"been-a-while.md": template()}))
    assert nudges.problems == []
    loaded = nudges.templates["been-a-while"]
    assert (loaded.kind, loaded.when) == ("nudge", "After two quiet weeks.")
    # lines of a paragraph are joined; paragraphs are kept apart by one blank line
    assert loaded.body == ("Hi {first_name}, it's been a while. One small step this week?"
                           "\n\n{patron_first_name}")


def test_when_is_optional(tmp_path):
    nudges = load_nudges(make_nudges(tmp_path, {"been-a-while.md": template(when=None)}))
    assert nudges.problems == []
    assert nudges.templates["been-a-while"].when is None


@pytest.mark.parametrize(("file_text", "problem"), [
    (template(kind="nag"), "`kind` must be one of nudge, cajole, enthuse"),
    (template(kind=None), "`kind` must be one of nudge, cajole, enthuse"),
    (template(title=None), "`title` must be non-empty text"),
    (template(title="'" + "x" * 81 + "'"), "`title` is longer than 80 characters"),
    (template(title="<b>Hello</b>"), "`title` must be plain text"),
    (template(body="Hello {first_name}, your address is {email}."),
     "unknown placeholder `{email}`"),
    (template(body="Hello { first_name }."), "unknown placeholder `{ first_name }`"),
    (template(body="Hello {first_name."), "stray `{` or `}`"),
    (template(body="Hello <b>{first_name}</b>!"), "must be plain text, without HTML"),
    (template(body="Hello <!-- hidden --> there."), "must be plain text, without HTML"),
    (template(body="Fish &amp; chips."), "must be plain text, without HTML"),
    (template(slug="somewhere-else"), "slug `somewhere-else` must match the file name"),
    (template(slug=None), "`slug` must be non-empty text"),
    (template(body=""), "the body is empty"),
    (template(body="  \n\n  \n"), "the body is empty"),
    (template(body="x" * 601), "the body is longer than 600 characters"),
    # the limit counts the rendered text, with names of a generous length
    (template(body="{first_name}" + "x" * 590), "the body is longer than 600 characters"),
    ("---\ntitle: [unclosed\n---\nHello.\n", "cannot be read"),
])
def test_each_bad_file_is_reported_and_left_out_while_good_ones_load(tmp_path, file_text, problem):
    nudges = load_nudges(make_nudges(tmp_path, {
        "been-a-while.md": file_text,
        "well-done.md": template(slug="well-done", kind="enthuse", title="Well done"),
    }))
    assert list(nudges.templates) == ["well-done"]
    assert any(rel == "nudges/been-a-while.md" and problem in text
               for rel, text in nudges.problems), nudges.problems


def test_a_body_of_exactly_600_characters_is_fine(tmp_path):
    nudges = load_nudges(make_nudges(tmp_path, {"been-a-while.md": template(body="x" * 600)}))
    assert nudges.problems == []


def test_a_missing_folder_is_a_problem_not_an_error(tmp_path):
    nudges = load_nudges(tmp_path)
    assert nudges.templates == {}
    assert nudges.problems == [("nudges/", "missing")]


def test_templates_are_ordered_by_kind_then_title(tmp_path):
    nudges = load_nudges(make_nudges(tmp_path, {
        "a.md": template(slug="a", kind="enthuse", title="Apples"),
        "b.md": template(slug="b", kind="nudge", title="zebra"),
        "c.md": template(slug="c", kind="cajole", title="Middle"),
        "d.md": template(slug="d", kind="nudge", title="Aardvark"),
    }))
    assert [t.slug for t in nudges.ordered()] == ["d", "b", "c", "a"]
    assert [t.slug for t in nudges.ordered("nudge")] == ["d", "b"]


def test_rendering_fills_names_as_plain_text(tmp_path):
    nudges = load_nudges(make_nudges(tmp_path, {"been-a-while.md": template()}))
    text = render_nudge(nudges.templates["been-a-while"],
                        first_name="<b>Zoë {x}</b>", patron_first_name="{first_name} Ødegård")
    # braces and markup in a name are kept as they are, never read as placeholders or HTML
    assert text == ("Hi <b>Zoë {x}</b>, it's been a while. One small step this week?"
                    "\n\n{first_name} Ødegård")


def test_rendering_keeps_a_name_on_one_line(tmp_path):
    nudges = load_nudges(make_nudges(tmp_path, {"been-a-while.md": template()}))
    text = render_nudge(nudges.templates["been-a-while"],
                        first_name="  Anna\n\nMaria\x00 ", patron_first_name="李 雷")
    assert text.startswith("Hi Anna Maria, it's been a while.")
    assert text.endswith("\n\n李 雷")


def test_the_cache_reads_changed_files_again(tmp_path, monkeypatch):
    content = make_nudges(tmp_path, {"been-a-while.md": template()})
    cache = nudge_cache(content)
    assert cache.get().templates["been-a-while"].title == "Haven't seen you for a while"
    path = content / "nudges" / "been-a-while.md"
    path.write_text(template(title="Long time no see"), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    monkeypatch.setattr("dap.content.cache.RECHECK_SECONDS", 0.0)
    assert cache.get().templates["been-a-while"].title == "Long time no see"


def test_the_app_helpers_read_the_apps_content_folder(app, tmp_path):
    app.config["CONTENT_DIR"] = str(make_nudges(tmp_path, {
        "been-a-while.md": template(),
        "well-done.md": template(slug="well-done", kind="enthuse", title="Well done"),
    }))
    with app.app_context():
        assert [t.slug for t in nudge_templates()] == ["been-a-while", "well-done"]
        assert [t.slug for t in nudge_templates("enthuse")] == ["well-done"]
        assert nudge_template("well-done").kind == "enthuse"
        assert nudge_template("nothing-like-this") is None


def test_check_command_counts_the_real_templates(runner):
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 0, result.output
    assert "content/nudges/" not in result.output
    count = len(load_nudges(REAL_CONTENT).templates)
    assert f"{count} nudge templates: nudge " in result.output


def test_check_command_names_the_nudge_file_and_problem(app, runner, tmp_path):
    content = make_content(tmp_path, {"hear-what-people-say.md": goal()})
    write_baseline(content, baseline_meta(["listening-online", "writing-for-the-web"]))
    app.config["CONTENT_DIR"] = str(make_nudges(content, {
        "been-a-while.md": template(body="Hello {email}."),
        "well-done.md": template(slug="well-done", kind="enthuse", title="Well done"),
    }))
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 1
    assert ("content/nudges/been-a-while.md: unknown placeholder `{email}` "
            "(only {first_name}, {patron_first_name})") in result.output
    assert "1 nudge templates: nudge 0, cajole 0, enthuse 1" in result.output
    assert "1 problem(s) found." in result.output
