"""A conversation: follow-up questions made standalone, and an export to Markdown.

Retrieval sees one question at a time, so a follow-up such as "and what did Iran say?"
would lose the dispute it refers to. :meth:`Conversation.standalone` rewrites it from
the previous turn without any model: the new question keeps its own subject and takes
the previous question's topic (its "about ..." clause, or failing that its content
words), giving "what did Iran say about the 132-km border?". The front ends show the
rewritten question, so the user can see what was searched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ..query.question import analyze
from ..text.keywords import content_terms, tokens
from ..types import Answer
from .render import citation_clipboard_text, citation_label, one_line, quote_line, said_by

__all__ = ["Conversation", "Turn", "citation_clipboard_text", "citation_label", "make_standalone"]

# Openers that only make sense as a continuation of the previous question.
_FOLLOW_UP_OPENER = re.compile(
    r"^\s*(?:and|but|also|so|then|what about|how about|and what about)\b[\s,]*", re.IGNORECASE
)
# Words that point back at something named earlier.
_BACK_REFERENCES = frozenset(
    ["it", "its", "they", "them", "their", "he", "she", "him", "his", "her", "those", "these"]
)
# The clause naming what a question is about.
_TOPIC_CLAUSE = re.compile(
    r"\b(?:about|regarding|concerning|on the subject of|over)\s+(?P<topic>.+?)\s*[?.!]*\s*$",
    re.IGNORECASE,
)


def topic_of(question: str) -> str | None:
    match = _TOPIC_CLAUSE.search(question)
    return match.group("topic") if match else None


def is_follow_up(question: str) -> bool:
    """Whether the question leans on an earlier one (opener, back-reference or too bare)."""
    if _FOLLOW_UP_OPENER.match(question):
        return True
    if set(tokens(question)) & _BACK_REFERENCES:
        return True
    # "What did X say?" without a topic is a follow-up about the last one.
    asked = analyze(question)
    if asked.speaker and not asked.topic_terms:
        return True
    return not content_terms(question)


def make_standalone(question: str, previous: str | None) -> str:
    """``question`` rewritten to carry the topic of ``previous`` when it is a follow-up."""
    if not previous or not is_follow_up(question):
        return question
    core = _FOLLOW_UP_OPENER.sub("", question, count=1).strip().rstrip("?.! ") or question
    if topic_of(core):
        return question  # it names its own topic: only the subject changed
    topic = topic_of(previous)
    if not topic:
        own = set(content_terms(core))
        topic = " ".join(t for t in content_terms(previous) if t not in own)
    if not topic:
        return question
    if analyze(core).speaker:
        return f"{core} about {topic}?"
    return f"{core}, regarding {topic}?"


@dataclass
class Turn:
    question: str
    standalone: str
    answer: Answer | None = None
    asked_at: datetime = field(default_factory=datetime.now)


class Conversation:
    """The turns of one chat, oldest first."""

    def __init__(self) -> None:
        self.turns: list[Turn] = []

    def standalone(self, question: str) -> str:
        previous = self.turns[-1].standalone if self.turns else None
        return make_standalone(question, previous)

    def add(self, question: str, standalone: str, answer: Answer) -> Turn:
        turn = Turn(question, standalone, answer)
        self.turns.append(turn)
        return turn

    def clear(self) -> None:
        self.turns.clear()

    def __len__(self) -> int:
        return len(self.turns)

    def to_markdown(self, title: str = "Conversation") -> str:
        lines = [f"# {title}", ""]
        for number, turn in enumerate(self.turns, 1):
            lines += [f"## {number}. {_md_inline(turn.question)}", ""]
            if turn.standalone != turn.question:
                lines += [f"*Searched as:* {_md_inline(turn.standalone)}", ""]
            answer = turn.answer
            if answer is None:
                continue
            if answer.abstained:
                lines += [f"**Not in the sources.** {_md_inline(answer.text)}", ""]
                if answer.nearest:
                    lines += ["Nearest passages:", ""]
                    for rank, hit in enumerate(answer.nearest, 1):
                        p = hit.passage
                        where = f"`{p.source}` ¶{p.paragraph}"
                        lines.append(f"- ({rank}) {where}: {_md_inline(p.text)}")
                    lines.append("")
                continue
            for citation in answer.citations:  # each quote with who says it, as the chat shows
                lines += [f"> {quote_line(citation)}", ">"]
            if answer.citations:
                lines.pop()
            lines += ["", "Sources:", ""]
            for citation in answer.citations:
                lines.append(f"[{citation.n}] {_md_inline(citation_label(citation))}")
                speaker = said_by(citation)
                if speaker:
                    lines.append(f"*{_md_inline(speaker)}*")
                # A blockquote of its own: a blank line ends the label's paragraph.
                lines += ["", f"> {_md_inline(citation.passage.text)}", ""]
        return "\n".join(lines).rstrip() + "\n"


def _md_inline(text: str) -> str:
    """One Markdown line: whitespace collapsed, control characters made visible."""
    return one_line(text)
