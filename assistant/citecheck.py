"""Checking a generated answer against the passages the model was given.

Nothing the model writes is trusted. Each sentence of its answer is checked:

* every ``[n]`` must name a passage it was given; others are removed and flagged;
* a sentence is *verified* only if it has at least one valid citation, every phrase it
  puts in quotation marks occurs in one of its cited passages, and its cited passages
  hold at least half of its content words (so a citation stuck on an invented claim
  does not pass);
* a passage that addresses the model ("ignore previous instructions ...") is data that
  cannot vouch for anything: a sentence resting only on such passages is unverified.

The verdicts come from this code alone; whatever the model writes about verification
is just text in a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .keywords import content_terms, fold, tokens
from .textspans import iter_sentences
from .types import CheckedSentence

# [1], [2, 3], [2; 3]: what the prompt asks for.
CITATION_MARK = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
_LEADING_MARKS = re.compile(r"^(?:\s*\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\])+[.,;:]?")
_QUOTED = re.compile(r"“([^”]{3,}?)”|\"([^\"]{3,}?)\"")
# Words addressed to a model rather than to a reader.
_INSTRUCTIONS = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}?\b(?:instructions?|prompts?|rules|"
    r"above|previous|prior|everything)\b"
    r"|\bsystem prompt\b|\byou are now\b|\bnew instructions?\b|\bas an ai\b"
    r"|\b(?:mark|label|treat) (?:all|every|each)\b.{0,30}?\bverified\b",
    re.IGNORECASE | re.DOTALL,
)
SUPPORT_SHARE = 0.5


def addresses_model(text: str) -> bool:
    """Whether a passage contains instructions aimed at a language model."""
    return bool(_INSTRUCTIONS.search(text))


def _comparable(text: str) -> str:
    """Folded, quotes and dashes unified, whitespace collapsed: for phrase matching."""
    text = fold(text)
    text = re.sub(r"[‘’`´]", "'", text)
    text = re.sub(r"[‐‑‒–—―]", "-", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class CheckedAnswer:
    sentences: tuple[CheckedSentence, ...]
    removed: tuple[int, ...]  # citation numbers of passages the model was not given

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    @property
    def verified(self) -> list[CheckedSentence]:
        return [s for s in self.sentences if s.verified]

    @property
    def cited(self) -> list[int]:
        """Valid citation numbers in order of first use, from verified sentences."""
        seen: dict[int, None] = {}
        for sentence in self.verified:
            for n in sentence.citations:
                seen.setdefault(n, None)
        return list(seen)


def split_sentences(answer: str) -> list[str]:
    """The answer's sentences; a citation written after the full stop joins its sentence."""
    sentences: list[str] = []
    previous_end = 0
    for start, end in iter_sentences(answer, 0, len(answer)):
        sentence = answer[start:end]
        leading = _LEADING_MARKS.match(sentence)
        same_line = "\n" not in answer[previous_end:start]
        previous_end = end
        if leading and sentences and same_line:
            sentences[-1] += " " + leading.group().strip()
            sentence = sentence[leading.end() :].strip()
        if sentence:
            sentences.append(sentence)
    return sentences


def check_answer(answer: str, passages: dict[int, str]) -> CheckedAnswer:
    """Check ``answer`` against ``passages`` (number -> text, as given to the model)."""
    folded = {n: _comparable(text) for n, text in passages.items()}
    words = {n: set(tokens(text)) for n, text in passages.items()}
    instructing = {n for n, text in passages.items() if addresses_model(text)}
    removed: dict[int, None] = {}
    checked = []
    for sentence in split_sentences(answer):
        valid: dict[int, None] = {}
        invalid: dict[int, None] = {}
        for match in CITATION_MARK.finditer(sentence):
            for number in re.split(r"[,;]", match.group(1)):
                n = int(number)
                (valid if n in passages else invalid).setdefault(n, None)
        removed.update(invalid)
        shown = _without_marks(sentence, set(invalid))
        removed_notes = [f"cited [{n}], which it was not given (removed)" for n in invalid]
        problems: list[str] = []
        cited = list(valid)
        if not cited:
            problems.append("no valid citation")
        else:
            problems.extend(_quote_problems(shown, cited, folded))
            evidence = [n for n in cited if n not in instructing]
            if not evidence:
                listed = ", ".join(f"[{n}]" for n in cited)
                problems.append(f"{listed} holds instructions to the model, not evidence")
            else:
                problems.extend(_support_problems(shown, evidence, words))
        text = " ".join(shown.split())
        if not CITATION_MARK.sub("", text).strip(" .,;:"):
            continue  # only markers were left
        # A removed citation is flagged, but the sentence stands on its valid ones.
        notes = (*removed_notes, *problems)
        checked.append(CheckedSentence(text, tuple(cited), not problems, notes))
    return CheckedAnswer(tuple(checked), tuple(removed))


def _without_marks(sentence: str, invalid: set[int]) -> str:
    """The sentence with citations to passages not given taken out."""

    def keep_valid(match: re.Match) -> str:
        numbers = [int(x) for x in re.split(r"[,;]", match.group(1))]
        kept = [n for n in numbers if n not in invalid]
        return "[" + ", ".join(map(str, kept)) + "]" if kept else ""

    return re.sub(r"\s+([.,;:!?])", r"\1", CITATION_MARK.sub(keep_valid, sentence))


def _quote_problems(sentence: str, cited: list[int], folded: dict[int, str]) -> list[str]:
    problems = []
    for match in _QUOTED.finditer(sentence):
        phrase = match.group(1) or match.group(2)
        pieces = [p for p in re.split(r"\.\.\.|…", _comparable(phrase)) if p.strip(" .,;")]
        if not pieces:
            continue
        if not any(all(p.strip(" .,;") in folded[n] for p in pieces) for n in cited):
            listed = ", ".join(f"[{n}]" for n in cited)
            problems.append(f"quoted “{phrase.strip()}” does not occur in {listed}")
    return problems


def _support_problems(sentence: str, cited: list[int], words: dict[int, set[str]]) -> list[str]:
    terms = content_terms(CITATION_MARK.sub(" ", sentence))
    if not terms:
        return []
    available = set().union(*(words[n] for n in cited))
    found = sum(1 for t in terms if t in available)
    if found >= SUPPORT_SHARE * len(terms):
        return []
    listed = ", ".join(f"[{n}]" for n in cited)
    return [f"{listed} does not state this ({found} of {len(terms)} words found)"]


def best_quote_span(passage_text: str, sentences: list[str]) -> tuple[int, int] | None:
    """Offsets (into ``passage_text``) of a phrase the answer quotes from it, if any."""
    for sentence in sentences:
        for match in _QUOTED.finditer(sentence):
            words = re.findall(r"\w+", match.group(1) or match.group(2))
            if len(words) < 2:
                continue
            pattern = r"\W+".join(re.escape(w) for w in words)
            found = re.search(pattern, passage_text, re.IGNORECASE)
            if found:
                return found.start(), found.end()
    return None
