"""Boilerplate: page furniture that must never be cited as an answer.

Within one document these are recognised: known furniture lines ("Sign up for our
Newsletter", "Print Friendly, PDF & Email", "Skip to content"); credit and licensing
lines ("Photo: …", "(AP Photo/…)", "…/Getty Images", "Acquire Licensing Rights");
labelled links to other stories ("READ MORE: …", "WATCH: …", "RELATED: …"); text of
links or hover cards glued to a name ("Jane DoeJane DoeCouncil votes …"); teasers of
other stories (a cut-off blurb ending in "..." and the headline above it); menus
(several short lines with no sentence in them) and tables of contents (lines of a
title, dot leaders and a page number). Once a page's furniture starts ("More
News", "Related", a newsletter box), short lines after it are furniture too.

Across documents (:func:`mark_corpus`, called by the indexer on every write): a short
paragraph that several documents of one site share is that site's furniture (a slogan,
a footer, a standing note).

The word lists and patterns are data, ``assistant/data/boilerplate.json``: each entry
says where it came from and gives an example line it matches.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

from ..data import DATA_DIR
from ..text.textspans import iter_lines
from .metadata import SITE_SLOGANS

RULES_FILE = DATA_DIR / "boilerplate.json"


@dataclass(frozen=True)
class Rule:
    table: str  # "furniture", "tail_openers", "credits" or "teaser_labels"
    name: str
    pattern: re.Pattern
    source: str
    example: str


def _load_rules() -> dict[str, list[Rule]]:
    data = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    tables: dict[str, list[Rule]] = {}
    for table in ("furniture", "tail_openers", "credits", "teaser_labels"):
        rules = []
        for entry in data[table]:
            flags = 0 if entry.get("case_sensitive") else re.IGNORECASE
            if table == "teaser_labels":
                # A label, a colon, then the linked headline: "READ MORE: …".
                whole = rf"^(?:{entry['pattern']})\s*:\s*(?P<rest>\S.*)$"
            else:
                whole = rf"^(?:{entry['pattern']})$"
            rules.append(
                Rule(
                    table,
                    entry["name"],
                    re.compile(whole, flags),
                    entry["source"],
                    entry["example"],
                )
            )
        tables[table] = rules
    return tables


RULES = _load_rules()

_TEASER_END = re.compile(r"(?:\.\.\.|…)[\"'”’]?$")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")
# A teaser is a blurb: a sentence or two cut off. A long paragraph ending in "..." is a
# text that was cut short (an abstract, an excerpt) and is still worth citing.
TEASER_MAX_WORDS = 60
# "READ MORE: <headline>": a headline is rarely longer than this.
LABELLED_LINK_MAX_WORDS = 30
# A credit line is short: a longer line holding a credit is a caption, and captions
# are content (questions are asked about them).
CREDIT_MAX_WORDS = 25
# Link or hover-card text glued to a name: "Jane DoeJane DoeCouncil votes …" (the
# name is repeated with nothing between, as page scripts render a name card).
_GLUED_NAME = re.compile(r"\b([A-Z][\w'’-]{2,}(?: [A-Z][\w'’-]{2,}){0,3})\1(?=[A-Z\s]|$)")
GLUED_MAX_WORDS = 30
# Shared by several documents of one site: a slogan or footer, not a story's words.
REPEATED_MAX_WORDS = 30


# A table-of-contents line: a title, dot leaders ("....", ". . .", "…") and a page
# number (arabic or roman), as books and manuals print them.
_CONTENTS_LINE = re.compile(
    r"^\S.*?\S\s*(?:\.{4,}|(?:\s?\.(?=\s)){2,}|…{2,}|(?:·\s*){3,})\s*(?:\d{1,4}|[ivxlc]{1,7})$"
)


def is_contents_line(line: str) -> bool:
    return bool(_CONTENTS_LINE.match(line.strip()))


def _is_contents(lines: list[str]) -> bool:
    """A table of contents (its heading may lead it): most lines are contents lines."""
    found = sum(1 for line in lines if is_contents_line(line))
    return found > 0 and found * 2 >= len(lines)


def matching_rule(line: str, table: str, rules: Iterable[Rule] | None = None) -> Rule | None:
    """The first rule of ``table`` that matches the whole line, or None."""
    line = line.strip()
    for rule in RULES[table] if rules is None else rules:
        match = rule.pattern.match(line)
        if not match:
            continue
        if table == "teaser_labels" and len(match.group("rest").split()) > LABELLED_LINK_MAX_WORDS:
            continue
        return rule
    return None


def is_furniture_line(line: str) -> bool:
    return (
        matching_rule(line, "furniture") is not None
        or line.strip().lower().rstrip(".!") in SITE_SLOGANS
    )


def is_credit_line(line: str) -> bool:
    return len(line.split()) <= CREDIT_MAX_WORDS and matching_rule(line, "credits") is not None


def is_labelled_link(line: str) -> bool:
    return matching_rule(line, "teaser_labels") is not None


def _is_tail_opener(line: str) -> bool:
    return matching_rule(line, "tail_openers") is not None


def glued_names(text: str) -> list[str]:
    """Names repeated with nothing between ("Jane DoeJane Doe"): link or card text."""
    return [match.group(0) for match in _GLUED_NAME.finditer(text)]


def _is_glued_link_text(lines: list[str]) -> bool:
    text = " ".join(lines)
    glued = glued_names(text)
    if not glued:
        return False
    # Short, or mostly glued text (several name cards in a row).
    return len(text.split()) <= GLUED_MAX_WORDS or sum(map(len, glued)) * 2 >= len(text)


# A line of code, a command or a configuration file: a shell prompt, an assignment, a
# path or an option, braces or a call. Menus are words; a block of these is a program
# listing or an example session, which is content.
_CODE_LINE = re.compile(
    r"^[$#>%] \S|\w ?[:+]?= ?\S|(?:^|\s)(?:\.{0,2}/|~/)\w|\s--?\w|[{}]|\w\(.*\)"
)


def _is_code(lines: list[str]) -> bool:
    return sum(1 for line in lines if _CODE_LINE.search(line)) * 2 >= len(lines)


def _is_menu(lines: list[str]) -> bool:
    return (
        len(lines) >= 2
        and all(len(line.split()) <= 8 and not _SENTENCE_END.search(line) for line in lines)
        and not _is_code(lines)
    )


def _words(lines: list[str]) -> int:
    return sum(len(line.split()) for line in lines)


def _is_short(lines: list[str]) -> bool:
    return _words(lines) < 15


def _is_headline(lines: list[str]) -> bool:
    return len(lines) == 1 and len(lines[0].split()) <= 20 and not _SENTENCE_END.search(lines[0])


def _is_furniture(lines: list[str]) -> bool:
    """A short block or a menu holding a line of site furniture."""
    return any(is_furniture_line(line) for line in lines) and (_is_short(lines) or _is_menu(lines))


def _is_standing_text(lines: list[str]) -> bool:
    """Credits and labelled links, a table of contents, link texts glued together."""
    return (
        all(is_credit_line(line) or is_labelled_link(line) for line in lines)
        or _is_contents(lines)
        or _is_glued_link_text(lines)
    )


def _is_teaser(lines: list[str]) -> bool:
    return bool(_TEASER_END.search(lines[-1].strip())) and _words(lines) <= TEASER_MAX_WORDS


def mark(paragraphs: list[list[str]]) -> list[bool]:
    """For each paragraph (given as its lines), whether it is boilerplate."""
    flags = [False] * len(paragraphs)
    in_tail = False
    for index, lines in enumerate(paragraphs):
        if _is_furniture(lines):
            flags[index] = True
            in_tail = in_tail or any(_is_tail_opener(line) for line in lines)
        elif _is_standing_text(lines):
            flags[index] = True
        elif _is_teaser(lines):
            flags[index] = True
            # The headline right above a teaser belongs to the same teaser.
            if index > 0 and _is_headline(paragraphs[index - 1]):
                flags[index - 1] = True
        elif _is_menu(lines) or (
            in_tail and _is_short(lines) and not _SENTENCE_END.search(lines[-1])
        ):
            flags[index] = True
    return flags


# --- across documents ---------------------------------------------------------------


def normalise(paragraph: str) -> str:
    """Casefolded, whitespace collapsed: how paragraphs are compared across documents."""
    return " ".join(paragraph.casefold().split())


def site_key(outlet: str | None, url: str | None, source: str) -> tuple[str, str]:
    """Which site a document is from: its outlet, else its URL's host, else its folder."""
    if outlet and outlet.strip():
        name = re.sub(r"\.(?:com|org|net|co\.uk|co|news)$", "", outlet.strip().casefold())
        name = re.sub(r"\W+", "", name.removeprefix("www."))
        if name:
            return "outlet", name
    host = urlsplit(url).hostname if url else None
    if host:
        return "outlet", re.sub(r"\W+", "", re.sub(r"^www\d*\.|\.[a-z]+$", "", host))
    return "folder", str(PurePath(source).parent)


def repeated_across_documents(
    docs_paragraphs: Mapping[Hashable, Sequence[str]], min_documents: int = 2
) -> set[str]:
    """Normalised short paragraphs that at least ``min_documents`` documents share.

    Give it the documents of one site: what they all print (a slogan, a footer, a
    standing note) is the site's furniture, not any one story's words.
    """
    holders: dict[str, set[Hashable]] = {}
    for key, paragraphs in docs_paragraphs.items():
        for paragraph in paragraphs:
            text = normalise(paragraph)
            if text and len(text.split()) <= REPEATED_MAX_WORDS:
                holders.setdefault(text, set()).add(key)
    return {text for text, keys in holders.items() if len(keys) >= min_documents}


# Documents grouped only by folder may be from different sites that happen to quote
# the same sentence: ask for more of them before calling a paragraph furniture.
_MIN_DOCUMENTS = {"outlet": 2, "folder": 3}


def own_flags(text: str, chunks: Sequence[Any]) -> list[bool]:
    """Per-document boilerplate flags of a document's chunks, worked out again.

    ``chunks`` are what :func:`assistant.ingest.chunks.split_document` gave for ``text`` (or
    the same read back from an index): objects with ``paragraph``, ``start`` and
    ``end``. Chunks of one paragraph with only space between are one piece of it (a
    paragraph cut to fit the model's window), as the chunker marked them.
    """
    pieces: list[list[int]] = []  # chunk numbers of each piece
    for number, chunk in enumerate(chunks):
        if pieces:
            last = chunks[pieces[-1][-1]]
            if last.paragraph == chunk.paragraph and not text[last.end : chunk.start].strip():
                pieces[-1].append(number)
                continue
        pieces.append([number])
    lines = [
        [
            text[start:end]
            for start, end in iter_lines(text, chunks[piece[0]].start, chunks[piece[-1]].end)
        ]
        for piece in pieces
    ]
    flags = [False] * len(chunks)
    for piece, flag in zip(pieces, mark(lines), strict=True):
        for number in piece:
            flags[number] = flag
    return flags


def mark_corpus(
    documents: Mapping[Hashable, tuple[Any, Sequence[Any]]],
) -> dict[Hashable, list[bool]]:
    """Boilerplate flags of every chunk of every document, across documents.

    ``documents`` maps a document key to (document, its chunks in text order); a
    document has ``text``, ``outlet``, ``url`` and ``source``. A chunk is boilerplate
    if the chunker's own rules say so (worked out again with :func:`own_flags`, so
    chunks read back from an index are judged like fresh ones) or if it is a short
    paragraph that documents of the same site share. Head chunks (``is_head``) keep
    their flag. (:class:`SiteRepeats` does the same a document at a time.)
    """
    repeats = SiteRepeats()
    for document, chunks in documents.values():
        repeats.add(document, chunks)
    return {key: repeats.flags(document, chunks) for key, (document, chunks) in documents.items()}


class SiteRepeats:
    """What documents of one site share, learnt a document at a time: how many
    documents of each site hold each short paragraph, kept as an 8-byte digest of the
    paragraph and a count that stops at the number that makes furniture. This is all
    a streaming write keeps of its corpus for the cross-document pass: every document
    is :meth:`add`-ed once, then each is flagged with :meth:`flags`."""

    def __init__(self) -> None:
        self.holders: dict[tuple[str, str], dict[bytes, int]] = {}

    def add(self, document: Any, chunks: Sequence[Any]) -> None:
        site = site_key(document.outlet, document.url, document.source)
        counts = self.holders.setdefault(site, {})
        enough = _MIN_DOCUMENTS[site[0]]
        short = {
            _digest(text)
            for c in chunks
            if not getattr(c, "is_head", False) and _may_repeat(text := normalise(c.text))
        }
        for digest in short:
            counts[digest] = min(counts.get(digest, 0) + 1, enough)

    def flags(self, document: Any, chunks: Sequence[Any]) -> list[bool]:
        """The boilerplate flag of each chunk (see :func:`mark_corpus`)."""
        site = site_key(document.outlet, document.url, document.source)
        counts = self.holders.get(site, {})
        enough = _MIN_DOCUMENTS[site[0]]
        body = [i for i, c in enumerate(chunks) if not getattr(c, "is_head", False)]
        own = own_flags(document.text, [chunks[i] for i in body])
        result = [c.is_boilerplate for c in chunks]
        for i, flag in zip(body, own, strict=True):
            text = normalise(chunks[i].text)
            shared = _may_repeat(text) and counts.get(_digest(text), 0) >= enough
            result[i] = flag or shared
        return result


def _may_repeat(text: str) -> bool:
    return bool(text) and len(text.split()) <= REPEATED_MAX_WORDS


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
