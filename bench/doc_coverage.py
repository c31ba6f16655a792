"""How much of a documentation site's visible text the HTML reader stores.

    python bench/doc_coverage.py [FOLDER] [--json OUT]

For each ``.html`` page under FOLDER (default: the installed Debian Administrator's
Handbook, English): the visible text of ``<body>`` less what is navigation by its markup
(``nav``, ``header``, ``footer`` elements and ARIA navigation/banner/contentinfo roles)
and what is never shown (scripts, styles, ``hidden``), against the text the reader
stores (the document text an index keeps, ``Index.document_text``). Both are compared
as bags of words; a page's share is the part of its visible words found in the stored
text. Prints the per-page minimum and median, the total share, and how many pages got
a publication date.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.ingest.sources import SourceFile, UnreadableSource, load_documents  # noqa: E402

HANDBOOK = Path("/usr/share/doc/debian-handbook/html/en-US")
_WORD = re.compile(r"\w+")
_NEVER_SHOWN = ("script", "style", "noscript", "template", "nav", "header", "footer")
_NAVIGATION_ROLES = {"navigation", "banner", "contentinfo"}


def words(text: str) -> Counter:
    return Counter(_WORD.findall(text.casefold()))


def visible_text(html: bytes) -> str:
    """The body's text less scripts, styles, hidden parts and marked-up navigation."""
    import lxml.html

    root = lxml.html.fromstring(html)
    body = root.find(".//body")
    if body is None:
        body = root
    doomed = [
        element
        for element in body.iter()
        if isinstance(element.tag, str)
        and (
            element.tag.lower() in _NEVER_SHOWN
            or element.get("hidden") is not None
            or (element.get("role") or "").lower() in _NAVIGATION_ROLES
        )
    ]
    for element in doomed:
        element.drop_tree()
    return body.text_content()


def page_share(path: Path) -> tuple[int, int, bool]:
    """(visible words, of them stored, whether a publication date was found)."""
    visible = words(visible_text(path.read_bytes()))
    try:
        document = load_documents(SourceFile(str(path), path))[0]
    except UnreadableSource:
        return sum(visible.values()), 0, False
    stored = words(document.text)
    return sum(visible.values()), sum((visible & stored).values()), bool(document.published)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=HANDBOOK)
    parser.add_argument("--json", type=Path, help="write the per-page figures here")
    arguments = parser.parse_args()
    rows = []
    for path in sorted(arguments.folder.rglob("*.html")):
        visible, stored, dated = page_share(path)
        if visible:
            rows.append((str(path.relative_to(arguments.folder)), visible, stored, dated))
    shares = [stored / visible for _, visible, stored, _ in rows]
    total = sum(row[2] for row in rows) / max(1, sum(row[1] for row in rows))
    dated = sum(row[3] for row in rows)
    print(
        f"{len(rows)} pages: stored share min {min(shares):.3f}, median"
        f" {statistics.median(shares):.3f}, total {total:.3f};"
        f" {dated} pages with a publication date"
    )
    for name, visible, stored, _ in sorted(rows, key=lambda row: row[2] / row[1])[:5]:
        print(f"  lowest: {name} {stored}/{visible} words ({stored / visible:.3f})")
    if arguments.json:
        result = {"pages": len(rows), "min": min(shares), "total": total, "dated": dated}
        result["median"] = statistics.median(shares)
        keys = ("page", "visible", "stored", "dated")
        result["per_page"] = [dict(zip(keys, row, strict=True)) for row in rows]
        arguments.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
