"""Rendering user-written Markdown to HTML that is safe to put on a page.

Python-Markdown does not sanitise: raw ``<script>``, ``javascript:`` links and ``onerror=``
attributes pass straight through it. So the text is rendered first and the HTML *output*
is cleaned with nh3 (an allow-list sanitiser); the Content-Security-Policy is a second wall.
"""

from __future__ import annotations

import markdown
import nh3
from markupsafe import Markup

#: the Markdown extensions user text may use (no raw-HTML tricks: the output is cleaned anyway)
EXTENSIONS = ["fenced_code", "tables", "sane_lists", "toc"]
#: a ``# Heading`` in user text becomes ``<h3>``: the page around it owns ``<h1>`` and ``<h2>``
EXTENSION_CONFIGS = {"toc": {"baselevel": 3, "marker": ""}}  # no [TOC] tables

#: tags that survive cleaning: what the extensions above produce, nothing more
ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "a",
    "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
#: ``javascript:``, ``data:`` and every other scheme are dropped with the attribute
URL_SCHEMES = {"http", "https", "mailto"}
#: user links open nothing with our window, pass no ranking, and are marked as user content
LINK_REL = "noopener nofollow ugc"


def render_markdown(text: str | None, *, heading_base: int = 3,
                    link_rel: str = LINK_REL) -> Markup:
    """Render ``text`` as Markdown and return sanitised HTML, ready for a template.

    Anything outside the allow-list is removed: ``<script>``/``<style>`` with their
    content, event-handler attributes, and links whose scheme is not http, https or
    mailto. Every link gets ``rel="noopener nofollow ugc"`` (the programme's own content
    passes ``link_rel="noopener"``). ``# Heading`` becomes ``<h{heading_base}>``. Empty
    text gives ``Markup("")``.
    """
    if not text or not text.strip():
        return Markup("")
    configs = {"toc": {**EXTENSION_CONFIGS["toc"], "baselevel": heading_base}}
    # A new Markdown instance per call: instances keep state and are not thread-safe.
    html = markdown.Markdown(
        extensions=EXTENSIONS, extension_configs=configs, output_format="html"
    ).convert(text)
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=link_rel,
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 - nh3 has just cleaned it against an allow-list
