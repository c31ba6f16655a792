"""Chunks: split a document into paragraph passages that keep exact offsets.

A paragraph is text between blank lines. Headline, byline and date lines are
document metadata: each becomes a passage of its own, flagged as the document's head,
so "who wrote ..." can be answered with a citation while no other answer cites it. A
paragraph longer than the model's window is cut on sentence boundaries. Boilerplate is
kept, flagged, so the reader view can still show it but no answer ever cites it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..text.textspans import iter_blocks, iter_lines, iter_sentences
from . import boilerplate
from .sources import SourceDocument

# all-MiniLM-L6-v2 reads 256 word pieces, two of which are [CLS] and [SEP].
MAX_TOKENS = 254
# Raised whenever splitting or the boilerplate rules change what a file's passages
# are: the manifest records it, and an update re-reads every file of an index written
# under an older version instead of keeping its old passages. 2: a long paragraph
# ending in "..." is no longer taken for a teaser. 3: head lines (headline, byline,
# date) are kept as head passages. 4: credit, teaser-label, glued-name and
# repeated-across-a-site lines are boilerplate. 5: speakers found in news in general
# (the statements table is rebuilt). 6: a role set off before the name ("Valencia’s
# mayor, María José Catalá, said") stays part of the speaker. 7: sentences run on
# across the line breaks of hard-wrapped prose; a metadata line without a word (a
# "---" or "=====" rule) is no head passage.
# 8: documentation HTML read block by block, EPUB files once each, no date lines
# written into HTML text; a PDF heading leads the passage after it as its title (not
# one of its sentences); table-of-contents lines are boilerplate.
CHUNKING_VERSION = 8

TokenCounter = Callable[[str], int]
_WORD = re.compile(r"\S+")
_WORD_CHARACTER = re.compile(r"\w")


@dataclass(frozen=True)
class Chunk:
    paragraph: int  # 1-based number of the paragraph in the document
    start: int
    end: int
    text: str
    is_boilerplate: bool
    sentences: tuple[tuple[int, int], ...]
    # A headline, byline or date line: never embedded or cited as an answer, but the
    # citation for questions about the report itself ("who wrote ...").
    is_head: bool = False


def approximate_token_count(text: str) -> int:
    """Word pieces, estimated: used when no tokenizer is at hand (tests, tooling)."""
    return int(len(text.split()) * 1.4) + 1


def split_document(
    document: SourceDocument,
    count_tokens: TokenCounter = approximate_token_count,
    max_tokens: int = MAX_TOKENS,
) -> list[Chunk]:
    text = document.text
    meta = set(document.meta_spans)
    pieces: list[tuple[int, int, int]] = []  # (paragraph, start, end)
    heads: list[Chunk] = []
    for paragraph, (block_start, block_end) in enumerate(iter_blocks(text), 1):
        # Consecutive lines that are not metadata form one piece of the paragraph.
        run: list[tuple[int, int]] = []
        for line in iter_lines(text, block_start, block_end):
            if line in meta:
                if run:
                    pieces.append((paragraph, run[0][0], run[-1][1]))
                run = []
                if _WORD_CHARACTER.search(text, line[0], line[1]):
                    heads.append(_head_chunk(text, paragraph, *line))
            else:
                run.append(line)
        if run:
            pieces.append((paragraph, run[0][0], run[-1][1]))

    lines_of = [[text[s:e] for s, e in iter_lines(text, start, end)] for _, start, end in pieces]
    flags = boilerplate.mark(lines_of)

    # Heading lines (a reader that knows them says so) title the passage they lead.
    headings = set(getattr(document, "headings", ()))
    chunks: list[Chunk] = []
    for (paragraph, start, end), flag in zip(pieces, flags, strict=True):
        body_start = _after_headings(text, start, end, headings)
        if body_start >= end:  # headings with nothing under them: nothing to cite
            chunks.append(Chunk(paragraph, start, end, text[start:end], True, ()))
            continue
        sentences = list(iter_sentences(text, body_start, end, join_wrapped=True))
        title_tokens = count_tokens(text[start:body_start]) if body_start > start else 0
        for number, (part_start, part_end, part_sentences) in enumerate(
            _fit_window(text, body_start, end, sentences, count_tokens, max_tokens - title_tokens)
        ):
            part_start = start if number == 0 else part_start  # the title leads the first
            chunks.append(
                Chunk(
                    paragraph=paragraph,
                    start=part_start,
                    end=part_end,
                    text=text[part_start:part_end],
                    is_boilerplate=flag,
                    sentences=tuple(part_sentences),
                )
            )
    return sorted(chunks + heads, key=lambda chunk: chunk.start)


def _after_headings(text: str, start: int, end: int, headings: set[tuple[int, int]]) -> int:
    """Where a paragraph's text starts after the heading lines that lead it."""
    if not headings:
        return start
    body = start
    for line in iter_lines(text, start, end):
        if line not in headings:
            break
        body = line[1]
    while body < end and text[body].isspace():
        body += 1
    return body


def _head_chunk(text: str, paragraph: int, start: int, end: int) -> Chunk:
    # The line without its surrounding spaces or Markdown heading marks.
    line = text[start:end]
    start += len(line) - len(line.lstrip("# \t"))
    end -= len(line) - len(line.rstrip())
    return Chunk(
        paragraph=paragraph,
        start=start,
        end=end,
        text=text[start:end],
        is_boilerplate=True,
        sentences=((start, end),),
        is_head=True,
    )


def _fit_window(
    text: str,
    start: int,
    end: int,
    sentences: list[tuple[int, int]],
    count_tokens: TokenCounter,
    max_tokens: int,
):
    """Yield (start, end, sentences) parts of a paragraph, each within the token window."""
    if count_tokens(text[start:end]) <= max_tokens:
        yield start, end, sentences
        return
    group: list[tuple[int, int]] = []
    for sentence in _split_long_sentences(text, sentences, count_tokens, max_tokens):
        candidate = [*group, sentence]
        if group and count_tokens(text[candidate[0][0] : candidate[-1][1]]) > max_tokens:
            yield group[0][0], group[-1][1], group
            candidate = [sentence]
        group = candidate
    if group:
        yield group[0][0], group[-1][1], group


def _split_long_sentences(text, sentences, count_tokens, max_tokens):
    """A single sentence over the window is cut between words, as a last resort."""
    for start, end in sentences:
        if count_tokens(text[start:end]) <= max_tokens:
            yield start, end
            continue
        # Word pieces never cross whitespace, so a run's count is the sum of its words'.
        piece_start = piece_end = None
        used = 0
        for match in _WORD.finditer(text, start, end):
            cost = count_tokens(match.group())
            if piece_start is not None and used + cost > max_tokens:
                yield piece_start, piece_end
                piece_start, used = None, 0
            if piece_start is None:
                piece_start = match.start()
            piece_end = match.end()
            used += cost
        if piece_start is not None:
            yield piece_start, piece_end
