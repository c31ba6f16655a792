"""Questions about the report itself ("who wrote ...", "which agency filed ...", "when
was ... filed"): the head line or dateline that answers them."""

from __future__ import annotations

import math
import re

import numpy as np

from ..types import Hit, Passage
from .candidate_reads import DocumentCache
from .evidence import DATE_LIKE, RANK_FEATURES, Evidence
from .question import QuestionAnalysis

# A dateline opens a story: "KATHMANDU, April 25 (Reuters) -", "Dec. 23 (UPI) --",
# "PUTRAJAYA, Nov 22 —", "WASHINGTON (AP) —".
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][A-Z .,'’/-]{2,40}?)?,?\s*"
    r"(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\s*)?"
    r"(?:\([A-Z][\w .&/-]{1,30}\)\s*)?(?:-{1,2}|–|—)\s",
    re.IGNORECASE,
)
_AGENCY = re.compile(r"\((?P<agency>[A-Z][\w .&/-]{1,30})\)")
_MONTH_DAY = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b", re.IGNORECASE
)


def report_line(
    question: QuestionAnalysis, doc_id: str, documents: DocumentCache
) -> Evidence | None:
    """For "who wrote ...", the byline; for "which agency filed ..." and "when was
    ... filed", the dateline opening the story (or the date line of the head)."""
    if not question.about_report:
        return None
    heads = [p for p in documents.passages_of(doc_id) if p.is_head]
    found: Passage | None = None
    if question.kind == "author":
        found = next((p for p in heads if _names_author(p, documents.document(doc_id))), None)
    else:
        found = _dateline(question, documents.citable_of(doc_id))
        if found is None and question.kind == "report_date":
            found = next((p for p in heads if DATE_LIKE.search(p.text)), None)
    if found is None:
        return None
    hit = Hit(passage=found, score=1.0)
    return Evidence(hit, np.zeros(len(RANK_FEATURES)), frozenset(), score=math.inf)


def _names_author(head: Passage, document) -> bool:
    """A head line "By Jane Doe", or the byline alone as the page shows it."""
    text = " ".join(head.text.split())
    byline = " ".join((document.byline or "").split())
    return text.lower().startswith("by ") or (bool(byline) and text.casefold() == byline.casefold())


def _dateline(question: QuestionAnalysis, body: list[Passage]) -> Passage | None:
    """The passage among the first three that opens with a dateline naming the agency
    (or the day, for "when")."""
    for passage in body[:3]:
        opening = passage.text[:80]
        if _DATELINE.match(opening) and (
            _AGENCY.search(opening) if question.kind == "agency" else _MONTH_DAY.search(opening)
        ):
            return passage
    return None
