"""Citing: in each chosen passage, the sentence that answers, quoted verbatim with who
says it when the source says so.

The sentence is the one closest to the question in meaning with the most of its
words; for "what did X say", a sentence holding a quotation, and when the passage
holds X's own statements, the sentence holding them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..ingest import speakers
from ..text import keywords
from ..text.display import flowed
from ..types import Citation, Document, Passage, Span
from .evidence import Evidence, has_quotation
from .retrieval import QueryAnalysis

Embed = Callable[[list[str]], np.ndarray]


def answer_line(citation: Citation) -> str:
    """The quote, and who says it when the source says so (as every front end says it:
    :attr:`Citation.said_by`)."""
    speaker = citation.said_by
    by = f" — {speaker}" if speaker else ""
    return f"{flowed(citation.quote_text)}{by} [{citation.n}]"


def overlaps(a: Span, b) -> bool:
    return a.start < b.end and b.start < a.end


def statement_at(said: list[speakers.Statement], span: Span) -> speakers.Statement | None:
    """The statement the quoted sentence holds (the one overlapping it most)."""
    best, best_overlap = None, 0
    for statement in said:
        overlap = min(span.end, statement.end) - max(span.start, statement.start)
        if overlap > best_overlap:
            best, best_overlap = statement, overlap
    return best


def sentence_text(passage: Passage, span: Span) -> str:
    return passage.text[span.start - passage.start : span.end - passage.start]


def cite(
    chosen: list[Evidence],
    analysis: QueryAnalysis,
    statements: dict[int, list[speakers.Statement]],
    wanted: speakers.SpeakerQuery | None,
    weights: dict[str, float],
    stored_cosines: dict[int, np.ndarray],
    documents: Callable[[str], Document],
    embed: Embed,
) -> tuple[Citation, ...]:
    """The citations of the chosen passages, numbered in order. ``stored_cosines``:
    each passage's sentences' stored cosines with the question (those missing are
    embedded); ``documents``: a document by id."""
    sentences: list[tuple[int, Span]] = []
    for index, item in enumerate(chosen):
        spans = item.hit.passage.sentences or (Span(item.hit.passage.start, item.hit.passage.end),)
        sentences.extend((index, span) for span in spans)
    texts = [sentence_text(chosen[i].hit.passage, span) for i, span in sentences]
    similarity = sentence_similarity(chosen, sentences, texts, analysis, stored_cosines, embed)
    best = _best_sentences(sentences, texts, similarity, analysis, weights)
    citations = []
    for n, item in enumerate(chosen, 1):
        _, span, text = best[n - 1]
        passage = item.hit.passage
        said = statements.get(passage.passage_id, [])
        if item.spoken and wanted is not None:
            # Quote the sentence holding the asked-about speaker's words.
            theirs = [s for s in said if wanted.matches(s.speaker, s.side)]
            span, text = sentence_with(passage, theirs, span, text, weights)
        statement = statement_at(said, span)
        citations.append(
            Citation(
                n=n,
                passage=passage,
                document=documents(passage.doc_id),
                score=item.hit.score,
                quote=span,
                quote_text=text,
                speaker=statement.speaker if statement else None,
                side=statement.side if statement else None,
            )
        )
    return tuple(citations)


def _best_sentences(
    sentences: list[tuple[int, Span]],
    texts: list[str],
    similarity: np.ndarray,
    analysis: QueryAnalysis,
    weights: dict[str, float],
) -> dict[int, tuple[float, Span, str]]:
    """Each chosen passage's best sentence: its cosine with the question, plus half
    the idf share of the question's words it holds (and half again for a quotation,
    for "what did X say": the speaker's own words, not the narrative around them)."""
    total = sum(weights.values()) or 1.0
    best: dict[int, tuple[float, Span, str]] = {}
    for (index, span), text, cosine in zip(sentences, texts, similarity, strict=True):
        present = set(keywords.tokens(text))
        overlap = sum(w for t, w in weights.items() if t in present) / total
        score = float(cosine) + 0.5 * overlap
        if analysis.question.kind == "said" and has_quotation(text):
            score += 0.5
        if index not in best or score > best[index][0]:
            best[index] = (score, span, text)
    return best


def sentence_similarity(
    chosen: list[Evidence],
    sentences: list[tuple[int, Span]],
    texts: list[str],
    analysis: QueryAnalysis,
    stored: dict[int, np.ndarray],
    embed: Embed,
) -> np.ndarray:
    """Cosine of each sentence with the question: from the index's sentence vectors,
    embedding only sentences of passages stored without them."""
    similarity = np.zeros(len(sentences), dtype=np.float32)
    position: dict[int, int] = {}
    to_embed: list[int] = []
    for row, (index, _span) in enumerate(sentences):
        passage = chosen[index].hit.passage
        each = stored.get(passage.passage_id)
        if each is not None and len(each) == len(passage.sentences):
            similarity[row] = each[position.get(index, 0)]
            position[index] = position.get(index, 0) + 1
        else:
            to_embed.append(row)
    if to_embed:
        vectors = embed([texts[row] for row in to_embed])
        similarity[to_embed] = vectors @ analysis.vector
    return similarity


def sentence_with(
    passage: Passage,
    said: list[speakers.Statement],
    span: Span,
    text: str,
    weights: dict[str, float],
) -> tuple[Span, str]:
    """Among the sentences holding the speaker's words, the one sharing most of the
    question's words; the chosen sentence if it is one of them."""
    sentences = passage.sentences or (Span(passage.start, passage.end),)
    holding = [s for s in sentences if any(overlaps(s, st) for st in said)]
    if not holding or any(s == span for s in holding):
        return span, text

    def overlap(sentence: Span) -> float:
        present = set(keywords.tokens(sentence_text(passage, sentence)))
        return sum(w for t, w in weights.items() if t in present)

    chosen = max(holding, key=overlap)
    return chosen, sentence_text(passage, chosen)
