"""HTML as blocks: a paragraph is a block element, never a run between two tags.

A block is what a browser lays out as a box of its own: ``p``, ``li``, ``dd``, ``dt``,
``pre``, the headings, ``blockquote``, a table row (its cells joined), and any ``div``
(DocBook's ``div.para``, an admonition, a sidebar). Inline elements (``a``, ``code``,
``em``, ``span``, ``kbd``, ...) are part of the paragraph around them: a sentence with
a linked word is one paragraph. A ``pre`` block keeps its lines.

Documentation pages (:func:`is_documentation`) are read whole this way: everything in
``<body>`` but navigation, the site's banner and footer, and what is never shown.
Article pages are left to the main-text extractor (see ``sources``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from . import one_line


def _names(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


# Elements laid out as boxes of their own: each starts and ends a paragraph.
BLOCK_TAGS = _names(
    "address article aside blockquote body caption center dd details dialog dir div"
    " dl dt fieldset figcaption figure form h1 h2 h3 h4 h5 h6 hgroup hr html li main"
    " menu ol p pre section summary table tbody thead tfoot tr ul legend"
)
HEADING_TAGS = _names("h1 h2 h3 h4 h5 h6")
CELL_TAGS = frozenset(("td", "th"))
CELL_SEPARATOR = " | "
# Never shown, or not text.
UNSEEN_TAGS = _names(
    "script style noscript template head title meta link svg math iframe object embed"
    " canvas select option button input textarea audio video map"
)
# Site furniture a documentation page repeats on every page: left out.
NAVIGATION_TAGS = frozenset(("nav", "header", "footer"))
NAVIGATION_ROLES = frozenset(("navigation", "banner", "contentinfo", "search"))
# Class or id words documentation generators give their navigation (DocBook's
# navheader/navfooter, Publican's docnav and banner, Sphinx's related bar, sidebar,
# footer and "¶" anchors, skip links, breadcrumbs).
NAVIGATION_NAMES = _names(
    "docnav navheader navfooter breadcrumb breadcrumbs sphinxsidebar related banner footer"
    " headerlink skip-link skiplink skip-to-content wy-nav-side md-sidebar md-header"
    " md-footer sidebar-nav toc-backref"
)


@dataclass(frozen=True)
class Block:
    text: str  # whitespace collapsed; a ``pre`` block keeps its line breaks
    kind: str  # "heading", "pre" or "text"


def parse(html: str | bytes):
    """The page's element tree (lxml), or None when it cannot be parsed."""
    import lxml.etree
    import lxml.html

    # The text was decoded already: the parser must not decode it again by the
    # page's own charset declaration.
    data = html.encode("utf-8") if isinstance(html, str) else html
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        return lxml.html.document_fromstring(data, parser=parser)
    except (ValueError, lxml.etree.ParserError):
        return None


def _tag(element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""  # a comment or processing instruction
    return tag.rsplit("}", 1)[-1].lower()  # XHTML's namespaced tags


def is_hidden(element) -> bool:
    style = (element.get("style") or "").replace(" ", "").lower()
    return (
        element.get("hidden") is not None
        or (element.get("aria-hidden") or "").lower() == "true"
        or "display:none" in style
        or "visibility:hidden" in style
    )


def is_navigation(element) -> bool:
    """Navigation by its markup: a nav/header/footer element, a navigation role, or a
    class or id that documentation generators give their navigation."""
    if _tag(element) in NAVIGATION_TAGS:
        return True
    if (element.get("role") or "").lower() in NAVIGATION_ROLES:
        return True
    names = [*(element.get("class") or "").lower().split(), (element.get("id") or "").lower()]
    return any(name in NAVIGATION_NAMES for name in names)


class _Collector:
    """Text gathered into blocks as the tree is walked."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._parts: list[str] = []
        self._kind = "text"
        self._pre_depth = 0
        self._row_cells = 0

    def text(self, text: str | None) -> None:
        if text:
            self._parts.append(text)

    def cell(self) -> None:
        if self._row_cells and "".join(self._parts).strip():
            self._parts.append(CELL_SEPARATOR)
        self._row_cells += 1

    def flush(self) -> None:
        raw = "".join(self._parts)
        self._parts = []
        if self._kind == "pre":
            lines = [" ".join(line.split()) for line in raw.splitlines()]
            text = "\n".join(line for line in lines if line)
        else:
            text = one_line(raw)
        text = text.strip(CELL_SEPARATOR.strip() + " ")
        if text:
            self.blocks.append(Block(text, self._kind))
        self._kind = "pre" if self._pre_depth else "text"
        self._row_cells = 0

    def open_block(self, tag: str) -> None:
        self.flush()
        if tag == "pre":
            self._pre_depth += 1
        if self._pre_depth:
            self._kind = "pre"
        elif tag in HEADING_TAGS:
            self._kind = "heading"

    def close_block(self, tag: str) -> None:
        self.flush()
        if tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
            self._kind = "pre" if self._pre_depth else "text"


def blocks(root, *, drop_navigation: bool = True) -> list[Block]:
    """The blocks of ``root`` (a page, or part of one) in document order.

    Unseen elements are always left out; navigation too when ``drop_navigation``.
    """
    import lxml.etree

    collector = _Collector()
    walker = lxml.etree.iterwalk(root, events=("start", "end"))
    skipped = set()
    for event, element in walker:
        tag = _tag(element)
        if event == "start":
            if (
                not tag
                or tag in UNSEEN_TAGS
                or is_hidden(element)
                or (drop_navigation and is_navigation(element))
            ):
                skipped.add(element)
                walker.skip_subtree()
                continue
            if tag in BLOCK_TAGS:
                collector.open_block(tag)
            elif tag in CELL_TAGS:
                collector.cell()
            elif tag == "br":
                collector.text("\n")
            collector.text(element.text)
            continue
        if element in skipped:
            skipped.discard(element)
        elif tag in BLOCK_TAGS:
            collector.close_block(tag)
        elif tag in CELL_TAGS:
            collector.text(" ")
        if element is not root:
            collector.text(element.tail)
    collector.flush()
    return collector.blocks


def body(root):
    """The page's ``<body>`` (or the whole tree when it has none)."""
    for element in root.iter():
        if _tag(element) == "body":
            return element
    return root


# --- telling documentation from an article ------------------------------------------

# <meta name="generator"> values of documentation tools.
_DOC_GENERATORS = re.compile(
    r"docbook|publican|sphinx|mkdocs|docusaurus|doxygen|javadoc|texinfo|makeinfo|texi2html"
    r"|asciidoc|rustdoc|pydoctor|antora|vuepress|vitepress|gitbook|jsdoc|godoc|pandoc"
    r"|readthedocs|hevea|latex2html|htlatex|tex4ht|man2html|groff",
    re.IGNORECASE,
)
# <link rel> values only manuals use (news pages use prev/next for paginated stories).
_DOC_LINK_RELS = frozenset(("up", "contents", "start", "chapter", "section", "subsection", "toc"))
# Class names documentation themes put on their page structure.
_DOC_CLASSES = _names(
    "docnav navheader navfooter sphinxsidebar rst-content toctree-wrapper bodywrapper"
    " md-content theme-doc-markdown refentry book chapter sect1 sect2 titlepage manual"
    " doc-content devsite-article-body"
)
# Signs of a news article: its date and its kind stated for aggregators.
_ARTICLE_PROPERTIES = frozenset(("article:published_time", "og:article:published_time"))
_ARTICLE_TYPES = re.compile(r'"@type"\s*:\s*"(?:News|Report|Blog)?(?:Article|Posting)"')


def _meta_value(element) -> str | None:
    """A ``<meta>``'s value: ``content``, or ``value`` as some saved pages write it."""
    return element.get("content") or element.get("value")


def generator(root) -> str | None:
    for element in root.iter("meta"):
        if (element.get("name") or "").lower() == "generator":
            return _meta_value(element)
    return None


def is_documentation(root) -> bool:
    """Whether a page is documentation (a manual's section, an API page) rather than
    an article: the tool that generated it says so, or manual-style links (``rel="up"``,
    ``rel="contents"``) or a documentation theme's page structure, with no sign that
    the page is a news article."""
    made_by = generator(root) or ""
    if _DOC_GENERATORS.search(made_by):
        return True
    if _looks_like_article(root):
        return False
    for element in root.iter("link"):
        if _DOC_LINK_RELS & set((element.get("rel") or "").lower().split()):
            return True
    for element in root.iter():
        if isinstance(element.tag, str) and _DOC_CLASSES & set(
            (element.get("class") or "").lower().split()
        ):
            return True
    return False


def _looks_like_article(root) -> bool:
    for element in root.iter("meta"):
        name = (element.get("property") or element.get("name") or "").lower()
        if name in _ARTICLE_PROPERTIES:
            return True
        if name == "og:type" and (_meta_value(element) or "").lower() == "article":
            return True
    for element in root.iter("script"):
        if (element.get("type") or "").lower() == "application/ld+json" and (
            _ARTICLE_TYPES.search(element.text or "")
        ):
            return True
    return False


def json_ld(root) -> list[dict]:
    """The page's JSON-LD objects (``@graph`` members included); unreadable ones skipped."""
    found: list[dict] = []
    for element in root.iter("script"):
        if (element.get("type") or "").lower() != "application/ld+json":
            continue
        try:
            data = json.loads(element.text or "")
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                found.append(item)
                stack.extend(value for key, value in item.items() if key == "@graph")
    return found


# --- what the markup states ----------------------------------------------------------

# <meta> names and properties that state when a page was published, in order of trust.
DATE_META_NAMES = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "dcterms.created",
    "citation_publication_date",
    "citation_date",
    "pubdate",
    "publishdate",
    "publish-date",
    "publication_date",
    "parsely-pub-date",
    "sailthru.date",
    "date",
)


def _as_date(value: str | None) -> str | None:
    from ..metadata import parse_date

    value = (value or "").strip()
    return parse_date(value) or parse_date(value[:10]) if value else None


def markup_date(root) -> str | None:
    """The publication date the page's markup states, or None: JSON-LD
    ``datePublished``, then a ``<meta>`` date (:data:`DATE_META_NAMES`), then a
    ``<time>`` marked as the publication date (``itemprop="datePublished"`` or
    ``pubdate``) or the first ``<time datetime>`` inside an ``<article>``. Never a
    date found in the text."""
    for item in json_ld(root):
        date = _as_date(
            item.get("datePublished") if isinstance(item.get("datePublished"), str) else None
        )
        if date:
            return date
    stated: dict[str, str] = {}
    for element in root.iter("meta"):
        for attribute in ("property", "name", "itemprop"):
            name = (element.get(attribute) or "").lower()
            if name in DATE_META_NAMES and _meta_value(element):
                stated.setdefault(name, _meta_value(element))
    for name in DATE_META_NAMES:
        date = _as_date(stated.get(name))
        if date:
            return date
    return _time_element_date(root)


def _time_element_date(root) -> str | None:
    """An element marked as the publication date (``itemprop="datePublished"``, a
    ``<time pubdate>``), else the first ``<time datetime>`` of the ``<article>``, else
    the page's only ``<time datetime>``."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        marked = (element.get("itemprop") or "").lower() == "datepublished"
        if marked or (element.tag == "time" and element.get("pubdate") is not None):
            stated = element.get("content") or element.get("datetime")
            date = _as_date(stated or element.text_content())
            if date:
                return date
    for article in root.iter("article"):
        for element in article.iter("time"):
            date = _as_date(element.get("datetime"))
            if date:
                return date
        break
    times = [element.get("datetime") for element in root.iter("time") if element.get("datetime")]
    return _as_date(times[0]) if len(times) == 1 else None


# What a documentation page leaves out of what its body shows (``index sources``).
NAVIGATION_LEFT_OUT = "navigation, site banner and footer"


def _laid_out(found: list[Block]) -> str:
    """Blocks as a document's text: one paragraph each, a ``pre`` block's lines kept."""
    from . import TextBuilder

    builder = TextBuilder()
    for block in found:
        builder.paragraph(block.text, keep_lines=block.kind == "pre")
    return builder.text


def shown_length(root) -> int:
    """The characters the page's body shows, navigation included, laid out as a
    documentation page's kept text is: what a reader is offered."""
    return len(_laid_out(blocks(body(root), drop_navigation=False)))


def shown_text(root) -> str:
    """All the text the page's body shows (navigation included), one line."""
    return " ".join(block.text for block in blocks(body(root), drop_navigation=False))


def headings(root, tag: str) -> list[str]:
    """The texts of the page's ``tag`` headings ("h1"), in order."""
    return [text for element in root.iter(tag) if (text := one_line(element.text_content()))]


def page_title(root) -> str | None:
    for element in root.iter("title"):
        return one_line(element.text_content()) or None
    for element in root.iter("h1"):
        return one_line(element.text_content()) or None
    return None


def meta_content(root, *names: str) -> str | None:
    """The first ``<meta>`` (by name or property) among ``names`` that has content."""
    wanted = {name.lower() for name in names}
    for element in root.iter("meta"):
        name = (element.get("property") or element.get("name") or "").lower()
        if name in wanted and (_meta_value(element) or "").strip():
            return one_line(_meta_value(element))
    return None


def canonical_url(root) -> str | None:
    for element in root.iter("link"):
        if "canonical" in (element.get("rel") or "").lower().split() and element.get("href"):
            return element.get("href").strip()
    return meta_content(root, "og:url")


def page_language(root) -> str | None:
    """The language a page states: ``<html lang>`` (or ``xml:lang``), else a
    ``<meta http-equiv="content-language">`` (its first tag), else None."""
    for attribute in ("lang", "{http://www.w3.org/XML/1998/namespace}lang", "xml:lang"):
        value = (root.get(attribute) or "").strip()
        if value:
            return value
    for element in root.iter("meta"):
        if (element.get("http-equiv") or "").strip().lower() == "content-language":
            value = (element.get("content") or "").split(",")[0].strip()
            if value:
                return value
    return None


def read_documentation(root, source: str):
    """A documentation page read whole: every block of its body but navigation, as
    one paragraph each; title, site, date and address from the markup only."""
    from ...types import SourceDocument

    return SourceDocument(
        doc_id=source,
        source=source,
        text=_laid_out(blocks(body(root))),
        title=page_title(root),
        outlet=meta_content(root, "og:site_name", "application-name"),
        byline=meta_content(root, "author", "dc.creator", "article:author"),
        published=markup_date(root),
        url=canonical_url(root),
        language=page_language(root),
        # The text's head is a section heading, not a news headline and dateline.
        detect_metadata=False,
    )
