"""News metadata from the text itself: headline, byline, outlet and publication date.

Only the head of a document (the lines before the body starts) is searched for the
headline, byline and date lines; those lines become metadata, not passages. The outlet
also comes from author bios at the end ("a regular contributor to <outlet>") and from
site slogans some outlets print on every page. Slogans and bio patterns are data
(``assistant/data/metadata.json``), each entry with where it came from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..data import DATA_DIR
from ..text.textspans import iter_blocks, iter_lines

if TYPE_CHECKING:
    from ..types import SourceDocument

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ],
        1,
    )
    for name in names
}  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_TIME = r"(?:,?\s*(?:at\s+)?\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*[A-Z]{2,4})?)?"
_DATE_FORMS = [
    rf"{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})",
    rf"(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(?P<year>\d{{4}})",
    r"(?P<year>\d{4})-(?P<mnum>\d{1,2})-(?P<day>\d{1,2})(?:[T ][\d:.+Z-]*)?",
    # Numeric dates on US news sites are month/day/year ("10/03/2021").
    r"(?P<mnum>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})",
]
_DATE_ONLY = [
    re.compile(
        rf"^(?:(?:published|updated|posted|date)\s*:?\s*)?(?:on\s+)?{_WEEKDAY}{form}{_TIME}$",
        re.IGNORECASE,
    )
    for form in _DATE_FORMS
]
_DATE_ANYWHERE = [re.compile(rf"\b{form}\b", re.IGNORECASE) for form in _DATE_FORMS[:2]]

_NAME = r"[A-Z][\w'’.-]+(?:\s+(?:[A-Z][\w'’.-]+|de|van|von|al|bin|el|la|le)){1,3}"
_BYLINE = re.compile(
    rf"^by\s*:?\s+(?P<name>{_NAME})(?:\s*[,|–—-]\s*(?P<outlet>.+))?$", re.IGNORECASE
)
_BARE_NAME = re.compile(rf"^{_NAME}$")

RULES_FILE = DATA_DIR / "metadata.json"
_RULES = json.loads(RULES_FILE.read_text(encoding="utf-8"))

# Slogans some outlets print on every page (lower-cased, without a closing "." or "!"),
# and whose they are.
SITE_SLOGANS: dict[str, str] = {
    entry["slogan"].lower().rstrip(".!"): entry["outlet"] for entry in _RULES["site_slogans"]
}
_OUTLET_WORDS = r"(?:[A-Z][\w&'’.-]*(?:\s+(?:of|for|and|&|the|on)\s+|\s+)?)+"


@dataclass(frozen=True)
class BioRule:
    """An author-bio shape that names the outlet ("a regular contributor to X")."""

    name: str
    pattern: re.Pattern
    needs_byline: bool  # names an outlet only in the bio of the document's own author


BIO_OUTLET = [
    BioRule(
        name=entry["name"],
        pattern=re.compile(
            entry["pattern"].replace("{outlet}", _OUTLET_WORDS),
            re.IGNORECASE if entry.get("ignore_case") else 0,
        ),
        needs_byline=bool(entry.get("needs_byline")),
    )
    for entry in _RULES["bio_outlet"]
]


def parse_date(text: str) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date written the ways news sites write them."""
    text = text.strip()
    for pattern in _DATE_ONLY:
        match = pattern.match(text)
        if match:
            return _iso(match)
    return None


def _iso(match: re.Match) -> str | None:
    groups = match.groupdict()
    month = _MONTHS.get((groups.get("month") or "").lower().rstrip(".")) or int(
        groups.get("mnum") or 0
    )
    day, year = int(groups["day"]), int(groups["year"])
    if not (1 <= month <= 12 and 1 <= day <= 31 and 1800 <= year <= 2200):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def ends_with_date(line: str) -> bool:
    """Photo captions end with a date ("... speaking on October 3, 2021")."""
    for pattern in _DATE_ANYWHERE:
        for match in pattern.finditer(line):
            if match.end() >= len(line.rstrip(". ")):
                return True
    return False


def site_slogan_outlet(line: str) -> str | None:
    return SITE_SLOGANS.get(line.strip().lower().rstrip(".!"))


def parse_byline(line: str) -> tuple[str, str | None] | None:
    match = _BYLINE.match(line.strip())
    if not match:
        return None
    outlet = (match.group("outlet") or "").strip() or None
    return match.group("name").strip(), outlet


def looks_like_headline(line: str) -> bool:
    words = line.split()
    if not 2 <= len(words) <= 30 or len(line) > 250:
        return False
    if line.rstrip().endswith((".", ",", ";", ":")) and not line.rstrip().endswith("..."):
        return False
    first = line.lstrip("\"'“‘#* ")
    return bool(first) and (first[0].isupper() or first[0].isdigit()) and not ends_with_date(line)


def is_body_line(line: str) -> bool:
    """The first line that reads like running prose marks the end of the head."""
    words = len(line.split())
    return words >= 25 or (words >= 12 and line.rstrip().endswith((".", ".”", '."', "?", "!")))


def annotate(document: SourceDocument) -> None:
    """Fill in title, byline, outlet and date from the text; record the metadata lines."""
    if not document.detect_metadata:
        return
    text = document.text
    blocks = list(iter_blocks(text))
    for block_start, block_end in blocks[:12]:
        if _is_wrapped_prose(text, block_start, block_end):
            break  # the story has begun
        if _annotate_block(document, block_start, block_end):
            break
    if document.outlet is None:
        document.outlet = _outlet_from_bios(text, blocks, document.byline)
    # A line the reader marked already (a page's headline) is marked once.
    document.meta_spans[:] = list(dict.fromkeys(document.meta_spans))


def _annotate_block(document: SourceDocument, block_start: int, block_end: int) -> bool:
    """The head lines of one block; True when the story's body begins in it."""
    text = document.text
    for start, end in iter_lines(text, block_start, block_end):
        line = text[start:end].strip()
        if is_body_line(line):
            return True
        # A title is a paragraph of its own or a Markdown heading: the first line of
        # hard-wrapped prose is a sentence cut off, not a headline.
        own_line = (start, end) == (block_start, block_end) or line.startswith("#")
        if _is_metadata_line(document, line.lstrip("#").strip(), start, own_line):
            document.meta_spans.append((start, end))
    return False


def _is_metadata_line(document: SourceDocument, plain: str, start: int, own_line: bool) -> bool:
    """Take what the head line ``plain`` says into ``document``; True when the line is
    metadata to mark (a site slogan is not: the chunker marks it as boilerplate)."""
    slogan_outlet = site_slogan_outlet(plain)
    if slogan_outlet:
        document.outlet = document.outlet or slogan_outlet
        return False
    date = parse_date(plain)
    if date:
        document.published = document.published or date
        return True
    byline = parse_byline(plain)
    if byline:
        document.byline = document.byline or byline[0]
        document.outlet = document.outlet or byline[1]
        return True
    previous_is_meta = bool(document.meta_spans) and _only_space_between(
        document.text, document.meta_spans[-1][1], start
    )
    if document.byline is None and previous_is_meta and _BARE_NAME.match(plain):
        # A name on its own line right under the date or headline is the byline.
        document.byline = plain
        return True
    if document.title is None and own_line and looks_like_headline(plain):
        document.title = plain
        return True
    return bool(document.title) and plain == document.title


def _is_wrapped_prose(text: str, start: int, end: int) -> bool:
    """A paragraph hard-wrapped over several lines that reads as running prose."""
    lines = [text[s:e] for s, e in iter_lines(text, start, end)]
    return (
        len(lines) > 1
        and is_body_line(" ".join(lines))
        and not any(parse_date(line) or parse_byline(line) for line in lines)
    )


def _only_space_between(text: str, start: int, end: int) -> bool:
    return not text[start:end].strip()


def _outlet_from_bios(text: str, blocks: list[tuple[int, int]], byline: str | None) -> str | None:
    # Bios sit in the head or in the last paragraphs; the middle is the story itself.
    candidates = blocks[:8] + blocks[-8:]
    for start, end in candidates:
        found = bio_outlet(text[start:end], byline)
        if found:
            return found[0]
    return None


def bio_outlet(
    paragraph: str, byline: str | None, rules: list[BioRule] | None = None
) -> tuple[str, str] | None:
    """The outlet a bio paragraph names, and the name of the rule that found it."""
    for rule in BIO_OUTLET if rules is None else rules:
        match = rule.pattern.search(paragraph)
        if not match:
            continue
        # "X is an intern at the Y center" names an outlet only in the author’s own bio.
        if rule.needs_byline and not (byline and byline.split()[-1] in paragraph):
            continue
        outlet = match.group("outlet").strip().rstrip(".,;").strip()
        outlet = re.sub(r"\s+(?:of|for|and|&|the|on)$", "", outlet)
        kind = match.groupdict().get("kind")
        if kind:
            outlet = f"{outlet} {kind.capitalize()}"
        if outlet:
            return outlet, rule.name
    return None


# Metadata keys of YAML front matter (as Jekyll, Hugo and Pandoc write them) and of
# reStructuredText fields, and the field each fills.
METADATA_KEYS = {
    "title": "title",
    "date": "published",
    "published": "published",
    "author": "byline",
    "authors": "byline",
    "byline": "byline",
    "outlet": "outlet",
    "publisher": "outlet",
    "source": "outlet",
    "site": "outlet",
    "url": "url",
    "link": "url",
    "lang": "language",
    "language": "language",
}


def set_metadata_field(document: SourceDocument, key: str, value: str) -> bool:
    """Fill the field a metadata key names ("author" -> byline), unless the document
    already has it; whether the key names a field."""
    field_name = METADATA_KEYS.get(key.strip().lower())
    if field_name is None:
        return False
    if getattr(document, field_name) is None:
        setattr(document, field_name, _metadata_value(field_name, value))
    return True


def _metadata_value(field_name: str, value: str) -> str | None:
    value = value.strip().strip("\"'").strip()
    if not value:
        return None
    if field_name == "published":
        return parse_date(value) or parse_date(value[:10])
    return value
