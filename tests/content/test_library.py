"""The goal library: loading and checking content files, the check command, the pages."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from dap.content.library import current_library, library_cache, load_library

AREAS = """\
---
areas:
  - slug: listening-online
    name: Listening online
    summary: Hearing what people say about your work.
  - slug: writing-for-the-web
    name: Writing for the web
    summary: Words people can scan.
---
The areas fit together.
"""


def goal(slug="hear-what-people-say", body: str | None = None, **overrides) -> str:
    """A goal file; ``overrides`` replace front matter values (None leaves a key out)."""
    meta = {
        "title": "Hear what people say",
        "slug": slug,
        "area": "listening-online",
        "level": "starter",
        "minutes": 30,
        "summary": "Set up searches that bring you what people say about your service.",
        "challenges": '\n  - text: Search for your service name.\n'
                      '  - text: Read the help page.\n    link: https://www.gov.uk/',
    }
    meta.update(overrides)
    lines = [f"{key}: {value}" for key, value in meta.items() if value is not None]
    return "---\n" + "\n".join(lines) + "\n---\n" + (body or dedent("""\
        ## Why it matters

        Because listening comes first.

        ## Steps

        1. Search.

        ## How you'll know you've done it

        - You hear something new.
        """))


def make_content(root: Path, goals: dict[str, str], areas: str = AREAS) -> Path:
    (root / "goals").mkdir(parents=True)
    (root / "areas.md").write_text(areas, encoding="utf-8")
    for name, text in goals.items():
        (root / "goals" / name).write_text(text, encoding="utf-8")
    return root


def test_a_good_library_loads_with_no_problems(tmp_path):
    content = make_content(tmp_path, {"hear-what-people-say.md": goal()})
    library = load_library(content)
    assert library.problems == []
    assert list(library.areas) == ["listening-online", "writing-for-the-web"]
    loaded = library.goals["hear-what-people-say"]
    assert loaded.minutes == 30
    assert loaded.challenges[1].link == "https://www.gov.uk/"
    assert "<h2" in loaded.html  # "## Why it matters" is a section of the goal page


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"title": None}, "`title` must be non-empty text"),
    ({"minutes": "'half an hour'"}, "`minutes` must be a whole number"),
    ({"minutes": 0}, "`minutes` must be a whole number"),
    ({"minutes": "true"}, "`minutes` must be a whole number"),
    ({"level": "expert"}, "`level` must be one of starter, explorer, pioneer"),
    ({"area": "astrology"}, "unknown area `astrology`"),
    ({"slug": "Not_A_Slug"}, "must be lower-case letters"),
    ({"slug": "another-name"}, "must match the file name"),
    ({"summary": "x" * 201}, "longer than 200 characters"),
    ({"challenges": "[]"}, "at least one challenge"),
    ({"challenges": "\n  - text: Try.\n    link: javascript:alert(1)"}, "http(s) address"),
])
def test_each_bad_field_is_reported_with_its_file(tmp_path, overrides, problem):
    content = make_content(tmp_path, {"hear-what-people-say.md": goal(**overrides)})
    library = load_library(content)
    assert "hear-what-people-say" not in library.goals
    assert any(rel == "goals/hear-what-people-say.md" and problem in text
               for rel, text in library.problems), library.problems


def test_duplicate_slugs_and_broken_links_and_bad_yaml(tmp_path):
    content = make_content(tmp_path, {
        "a.md": goal(slug="a", body="See [b](/library/b) and [gone](/library/nowhere).\n"),
        "b.md": goal(slug="b"),
        "c.md": goal(slug="b"),
        "d.md": "---\ntitle: [unclosed\n---\nbody\n",
    })
    library = load_library(content)
    problems = [f"{rel}: {text}" for rel, text in library.problems]
    assert "goals/a.md: broken internal link /library/nowhere" in problems
    assert any(p.startswith("goals/c.md: slug `b` must match") for p in problems)
    assert any(p.startswith("goals/d.md: cannot be read") for p in problems)
    assert set(library.goals) == {"a", "b"}  # the bad files are left out, the rest work


def test_markdown_in_content_is_sanitised(tmp_path):
    body = ('<script>alert(1)</script>\n\n[click](javascript:alert(1))\n\n'
            '<img src=x onerror="alert(1)">\n\n## Why it matters\n\nFine.\n')
    content = make_content(tmp_path, {"hear-what-people-say.md": goal(body=body)})
    html = str(load_library(content).goals["hear-what-people-say"].html)
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onerror" not in html
    assert "Fine." in html


def test_search_needs_every_word_and_ranks_titles_first(tmp_path):
    content = make_content(tmp_path, {
        "hear-what-people-say.md": goal(),
        "write-short-pages.md": goal(slug="write-short-pages", title="Write short pages",
                                     area="writing-for-the-web",
                                     summary="Pages people hear about and read."),
    })
    library = load_library(content)
    assert [g.slug for g in library.search("hear")] == ["hear-what-people-say",
                                                        "write-short-pages"]
    assert [g.slug for g in library.search("HEAR pages")] == ["write-short-pages"]
    assert library.search("nothing-like-this") == []
    assert [g.slug for g in library.search("", area="writing-for-the-web")] == [
        "write-short-pages"]


def test_check_command_passes_on_the_real_library(runner):
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 0, result.output
    assert "Content OK." in result.output


def test_check_command_fails_and_names_file_and_problem(app, runner, tmp_path):
    app.config["CONTENT_DIR"] = str(make_content(tmp_path, {
        "hear-what-people-say.md": goal(area="astrology")}))
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 1
    assert "content/goals/hear-what-people-say.md: unknown area `astrology`" in result.output


def test_the_real_library_is_big_enough():
    from dap.app import ROOT

    library = load_library(ROOT / "content")
    assert library.problems == []
    assert len(library.goals) >= 30
    assert len(library.areas) >= 7
    for area in library.areas:
        assert len(library.goals_in(area)) >= 3, area


def test_a_bad_file_does_not_take_the_site_down(app, world, role_client, tmp_path):
    app.config["CONTENT_DIR"] = str(make_content(tmp_path, {
        "hear-what-people-say.md": goal(),
        "broken.md": "---\nnot: [valid\n---\n",
    }))
    client = role_client("participant")
    page = client.get("/library/")
    assert page.status_code == 200
    assert "Hear what people say" in page.get_data(as_text=True)
    assert client.get("/library/hear-what-people-say").status_code == 200


def test_library_pages_filter_search_and_show_a_goal(app, world, role_client):
    client = role_client("participant")
    with app.app_context():
        library = current_library()
    some = next(iter(library.goals.values()))
    body = client.get(f"/library/?area={some.area}&level={some.level}").get_data(as_text=True)
    assert some.title in body
    page = client.get(f"/library/{some.slug}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Try it on the web" in text
    assert some.challenges[0].text.split()[0] in text
    assert client.get("/library/no-such-goal").status_code == 404


@pytest.mark.parametrize("query", ["?q=" + "x" * 5000, "?area=<script>", "?level=999",
                                   "?q=%00%ff", "?q=café résumé"])
def test_library_survives_odd_queries(world, role_client, query):
    assert role_client("participant").get("/library/" + query).status_code == 200


def test_cache_picks_up_changed_files(tmp_path, monkeypatch):
    monkeypatch.setattr("dap.content.cache.RECHECK_SECONDS", 0.0)
    content = make_content(tmp_path, {"hear-what-people-say.md": goal()})
    cache = library_cache(content)
    assert "hear-what-people-say" in cache.get().goals
    (content / "goals" / "write-short-pages.md").write_text(
        goal(slug="write-short-pages", title="Write short pages"), encoding="utf-8")
    assert "write-short-pages" in cache.get().goals
