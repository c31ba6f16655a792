"""The optional generative answerer: a language model writes, the verifier decides.

Retrieval and the decision to abstain stay with the extractive engine: the model is
asked only when the sources hold an answer, and it sees only the passages that fit
the token budget, numbered [1], [2], ... Its answer streams to the caller, then every
sentence is checked (:mod:`assistant.query.citecheck`). If the server fails, or nothing the
model wrote can be verified, the extractive answer is returned with a notice saying so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from ..filters import SearchFilter
from ..storage.base import ReadStore
from ..text.keywords import content_terms, tokens
from ..types import Answer, Citation, Hit, LLMReport, Passage, Span
from . import budget
from .citecheck import CheckedAnswer, best_quote_span, check_answer
from .extractive import CANDIDATE_POOL, ExtractiveAnswerer
from .llm import ChatClient, LLMConfig, LLMError
from .prompts import load_prompt
from .retrieval import Retriever

CONDENSE_TOKENS = 96
# Earlier turns given to the condensing prompt, newest last; answers cut to this length.
CONDENSE_TURNS = 3
CONDENSE_ANSWER_CHARS = 400
MAX_CONDENSED_CHARS = 400

TextCallback = Callable[[str], None]


class GenerativeAnswerer:
    def __init__(
        self,
        store: ReadStore,
        retriever: Retriever,
        extractive: ExtractiveAnswerer,
        config: LLMConfig,
    ) -> None:
        self.store = store
        self.retriever = retriever
        self.extractive = extractive
        self.config = config
        self.client = ChatClient(config)

    # -- answering -------------------------------------------------------------------

    def answer(
        self,
        question: str,
        max_citations: int = 3,
        on_text: TextCallback | None = None,
        search_filter: SearchFilter | None = None,
    ) -> Answer:
        analysis = self.retriever.analyze(question)
        hits = self.retriever.search(
            question, CANDIDATE_POOL, analysis=analysis, search_filter=search_filter
        )
        fallback = self.extractive.answer(
            question, max_citations, analysis=analysis, hits=hits, search_filter=search_filter
        )
        if fallback.abstained:
            # The engine's evidence says the sources do not answer; a model would guess.
            not_asked = LLMReport(
                self.config.shown_url,
                self.config.model,
                fallback="not asked: the sources do not answer this question",
            )
            return _with_report(fallback, not_asked)

        report: dict = {"url": self.config.shown_url, "model": self.config.model}
        asked = self._ask_model(question, fallback, hits, report, on_text)
        if isinstance(asked, Answer):
            return asked
        given, usage, result = asked
        return self._verified(question, fallback, hits, given, usage, result, report)

    def _ask_model(self, question, fallback: Answer, hits: list[Hit], report: dict, on_text):
        """The passages that fit, and the model's streamed answer to them; the fallback
        answer (with the report saying why) when the model fails."""
        system = load_prompt("system", self.config.prompts)
        template = load_prompt("answer", self.config.prompts)
        today = date.today().isoformat()
        system_text = system.render(today=today)
        pieces: list[str] = []
        usage = None
        try:
            given, usage, messages = self._fit(
                question, system_text, template, today, fallback, hits
            )
            report.update(
                tokens=usage.to_json(), given=tuple(_given_json(n, p) for n, p in given.items())
            )
            report["model"] = self.client.model
            stream = self.client.stream(messages, self.config.answer_tokens)
            while True:
                try:
                    piece = next(stream)
                except StopIteration as done:
                    result = done.value
                    break
                pieces.append(piece)
                if on_text is not None:
                    on_text(piece)
        except LLMError as error:
            raw = "".join(pieces)
            if usage is not None:
                usage.answer = budget.count_tokens(raw)
                report["tokens"] = usage.to_json()
            report.update(raw=raw, error=str(error))
            notice = f"{error}; showing the extractive answer instead"
            return _with_report(fallback, LLMReport(**report, fallback=notice), notice)
        return given, usage, result

    def _verified(self, question, fallback, hits, given, usage, result, report) -> Answer:
        """The model's answer as far as it is verified against the passages it saw; the
        fallback when nothing of it is."""
        usage.answer = budget.count_tokens(result.text)
        usage.server_prompt = result.prompt_tokens
        # Checked against what the model saw: each passage with its title line.
        blocks = {n: self._passage_block(n, p) for n, p in given.items()}
        checked = check_answer(result.text, blocks)
        report.update(
            raw=result.text,
            sentences=checked.sentences,
            removed=checked.removed,
            tokens=usage.to_json(),
            finish_reason=result.finish_reason,
        )
        if not checked.verified:
            notice = (
                "no sentence of the model's answer could be verified against the passages;"
                " showing the extractive answer instead"
            )
            return _with_report(fallback, LLMReport(**report, fallback=notice), notice)
        notice = None
        if result.cut_at is not None:
            notice = (
                f"the server did not stop at the {self.config.answer_tokens}-token limit;"
                f" its answer was cut at {result.cut_at} tokens"
            )
        elif result.finish_reason == "length":
            notice = f"the answer was cut at the {self.config.answer_tokens}-token limit"
        return Answer(
            question=question,
            text=checked.text,
            abstained=False,
            citations=self._citations(checked, given, hits),
            mode="llm",
            llm=LLMReport(**report),
            notice=notice,
        )

    def _fit(self, question, system_text, template, today, fallback: Answer, hits: list[Hit]):
        """The passages that fit the budget, best first, and the messages that hold them."""
        candidates: dict[int, Passage] = {}
        for passage in [c.passage for c in fallback.citations] + [h.passage for h in hits]:
            candidates.setdefault(passage.passage_id, passage)
        limit = budget.prompt_limit(self.config.context_window, self.config.answer_tokens)
        usage = budget.TokenUsage(self.config.context_window, self.config.answer_tokens, limit)

        def messages_for(chosen: list[Passage]) -> list[dict]:
            return self.messages(question, system_text, template, today, chosen)

        if budget.messages_tokens(messages_for([])) > limit:
            raise LLMError(
                f"the prompts and the question alone exceed the {limit}-token budget of a"
                f" {self.config.context_window}-token context window"
            )
        chosen: list[Passage] = []
        for passage in candidates.values():
            # Counted whole each time: token counts of parts do not add up exactly.
            # The best passages in order; one that does not fit ends the list, so a
            # lesser passage never takes the place of a better one.
            if budget.messages_tokens(messages_for([*chosen, passage])) > limit:
                break
            chosen.append(passage)
        if not chosen:
            raise LLMError(
                f"not even the best passage fits the {limit}-token prompt budget of a"
                f" {self.config.context_window}-token context window"
            )
        messages = messages_for(chosen)
        usage.prompt = budget.messages_tokens(messages)
        usage.passages = sum(
            budget.count_tokens(self._passage_block(n, p)) for n, p in enumerate(chosen, 1)
        )
        usage.passages_given = len(chosen)
        usage.passages_left_out = len(candidates) - len(chosen)
        return dict(enumerate(chosen, 1)), usage, messages

    def messages(
        self, question: str, system_text: str, template, today: str, passages: list[Passage]
    ) -> list[dict]:
        """The chat messages for these passages, numbered [1], [2], ... in this order."""
        blocks = [self._passage_block(n, p) for n, p in enumerate(passages, 1)]
        user = template.render(
            question=question,
            passages="\n\n".join(blocks),
            passage_count=len(passages),
            today=today,
        )
        return [{"role": "system", "content": system_text}, {"role": "user", "content": user}]

    def _passage_block(self, n: int, passage: Passage) -> str:
        """``[n] title — outlet, date`` then the passage on one line.

        Line breaks inside the passage become spaces, so no passage can start a line
        that looks like another passage's header.
        """
        document = self.extractive.documents.document(passage.doc_id)
        facts = ", ".join(f for f in (document.outlet, document.published) if f)
        title = " ".join((document.title or passage.source).split())
        header = f"[{n}] {title}" + (f" — {facts}" if facts else "")
        return f"{header}\n{' '.join(passage.text.split())}"

    def _citations(
        self, checked: CheckedAnswer, given: dict[int, Passage], hits: list[Hit]
    ) -> tuple[Citation, ...]:
        scores = {h.passage.passage_id: h.score for h in hits}
        citing: dict[int, list[str]] = {}
        for sentence in checked.sentences:
            for n in sentence.citations:
                citing.setdefault(n, []).append(sentence.text)
        citations = []
        for n in sorted(citing):
            passage = given[n]
            quote = _quote_for(passage, citing[n])
            citations.append(
                Citation(
                    n=n,
                    passage=passage,
                    document=self.extractive.documents.document(passage.doc_id),
                    score=scores.get(passage.passage_id, 0.0),
                    quote=quote,
                    quote_text=_text_of(passage, quote),
                )
            )
        return tuple(citations)

    # -- follow-ups ------------------------------------------------------------------

    def condense(self, question: str, turns: list[tuple[str, str]]) -> str:
        """The question rewritten by the model to stand alone, given earlier turns.

        Raises :class:`LLMError` when the server fails or the reply is not one question.
        """
        template = load_prompt("condense", self.config.prompts)
        limit = budget.prompt_limit(self.config.context_window, CONDENSE_TOKENS)
        turns = turns[-CONDENSE_TURNS:]
        while True:
            history = "\n".join(
                f"User: {q}\nAssistant: {' '.join(a.split())[:CONDENSE_ANSWER_CHARS]}"
                for q, a in turns
            )
            content = template.render(
                history=history or "(none)", question=question, today=date.today().isoformat()
            )
            messages = [{"role": "user", "content": content}]
            if budget.messages_tokens(messages) <= limit or not turns:
                break
            turns = turns[1:]  # the oldest turn goes first
        reply = self.client.complete(messages, CONDENSE_TOKENS)
        condensed = _first_line(reply)
        if not condensed or len(condensed) > MAX_CONDENSED_CHARS:
            raise LLMError("the model's rewrite of the follow-up was not a single question")
        return condensed


def _first_line(reply: str) -> str:
    for line in reply.splitlines():
        line = re.sub(r"^\s*(?:standalone question|question)\s*:\s*", "", line, flags=re.I)
        line = line.strip().strip("\"'“”*` ").strip()
        if line:
            return line
    return ""


def _quote_for(passage: Passage, sentences: list[str]) -> Span:
    """The passage's part that the answer rests on: a phrase it quotes, else the passage
    sentence sharing the most words with the sentences citing it."""
    quoted = best_quote_span(passage.text, sentences)
    if quoted is not None:
        return Span(passage.start + quoted[0], passage.start + quoted[1])
    wanted = set(content_terms(" ".join(sentences)))
    best, best_overlap = Span(passage.start, passage.end), -1
    for span in passage.sentences:
        overlap = len(wanted & set(tokens(_text_of(passage, span))))
        if overlap > best_overlap:
            best, best_overlap = span, overlap
    return best


def _text_of(passage: Passage, span: Span) -> str:
    return passage.text[span.start - passage.start : span.end - passage.start]


def _given_json(n: int, passage: Passage) -> dict:
    return {"n": n, "source": passage.source, "paragraph": passage.paragraph}


def _with_report(answer: Answer, report: LLMReport, notice: str | None = None) -> Answer:
    from dataclasses import replace

    return replace(answer, llm=report, notice=notice)
