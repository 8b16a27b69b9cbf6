"""User Markdown is rendered, then sanitised: nothing executable reaches a page."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from dap.content.render import render_markdown


class _Attributes(HTMLParser):
    """Collects every (tag, attribute) pair of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.seen += [(tag, name) for name, _ in attrs]


def attributes(html: str) -> list[tuple[str, str]]:
    parser = _Attributes()
    parser.feed(html)
    return parser.seen


def test_normal_markdown_survives():
    html = render_markdown(
        "Welcome to **the programme**, *little and often*.\n\n"
        "- try a [search tool](https://example.org/search)\n- share a `snippet`\n\n"
        "1. first\n2. second\n\n> a quote\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert isinstance(html, Markup)
    for fragment in ("<strong>the programme</strong>", "<em>little and often</em>",
                     "<li>try a <a href=\"https://example.org/search\"", "<code>snippet</code>",
                     "<ol>", "<blockquote>", "<table>", "<td>1</td>"):
        assert fragment in html


def test_links_are_marked_as_user_content():
    html = render_markdown("[DAP](https://example.org) and <https://example.org/auto>")
    assert html.count('rel="noopener nofollow ugc"') == 2


def test_a_rel_chosen_by_the_author_is_replaced():
    html = render_markdown('<a href="https://example.org" rel="opener">x</a>')
    assert 'rel="noopener nofollow ugc"' in html
    assert '"opener"' not in html


@pytest.mark.parametrize("text", [
    "<script>alert('x')</script>",
    "Hello <script src=https://evil.example/x.js></script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "```\n</code></pre><script>alert(1)</script>\n```",
])
def test_script_never_survives(text):
    html = render_markdown(text)
    assert "<script" not in html.lower()
    assert "alert('x')" not in html


@pytest.mark.parametrize("text", [
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    '<a href="javascript:alert(1)">click</a>',
    "[click](  javascript:alert(1))",
    "[click](jav&#x09;ascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
])
def test_dangerous_link_schemes_are_dropped(text):
    html = render_markdown(text)
    assert "javascript" not in html.lower()
    assert "data:" not in html
    assert "vbscript" not in html.lower()
    assert "click" in html  # the words stay, only the link target goes


@pytest.mark.parametrize("text", [
    '<img src="x" onerror="alert(1)">',
    '<p onclick="alert(1)">hi</p>',
    '<a href="https://example.org" onmouseover="alert(1)">x</a>',
    '![pic](https://example.org/x.png){: onerror="alert(1)" }',
    '<svg onload="alert(1)"></svg>',
])
def test_event_handler_attributes_are_dropped(text):
    html = render_markdown(text)
    assert not [pair for pair in attributes(html) if pair[1].startswith("on")]


@pytest.mark.parametrize("tag", ["iframe", "object", "embed", "style", "form", "input", "img", "svg"])
def test_only_allowed_tags_survive(tag):
    html = render_markdown(f"before <{tag} src='x'></{tag}> after")
    assert f"<{tag}" not in html
    assert "before" in html


def test_headings_start_below_the_page_headings():
    html = render_markdown("# Week one\n\n## Day one")
    assert "<h3>Week one</h3>" in html
    assert "<h4>Day one</h4>" in html
    assert "<h1" not in html


@pytest.mark.parametrize("text", [None, "", "   \n\t "])
def test_empty_text_renders_nothing(text):
    assert render_markdown(text) == Markup("")


def test_unicode_survives_and_is_escaped_where_it_should_be():
    html = render_markdown("Zoë & 李 < 3 — “quoted” 🎉")
    assert "Zoë &amp; 李 &lt; 3 — “quoted” 🎉" in html


def test_html_comments_are_removed():
    assert "secret" not in render_markdown("<!-- secret -->visible")
