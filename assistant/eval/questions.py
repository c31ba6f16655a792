"""Evaluation over a question file: hit@1, hit@3, MRR and abstention accuracy.

The file has one JSON object a line: ``q`` (the question), ``gold`` (substrings, any
one of which in a cited passage makes it a hit) and optional ``abstain: true`` for
questions the sources cannot answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceNotFoundError, UsageError


@dataclass
class QuestionResult:
    question: str
    expected_abstain: bool
    abstained: bool
    gold_rank: int | None  # 1-based rank of the first citation holding a gold string
    cited: list[str] = field(default_factory=list)
    kind: str | None = None  # the question file's "kind", when it gives one

    @property
    def correct(self) -> bool:
        if self.expected_abstain:
            return self.abstained
        return not self.abstained and self.gold_rank == 1


@dataclass
class EvalReport:
    results: list[QuestionResult]

    @property
    def answerable(self) -> list[QuestionResult]:
        return [r for r in self.results if not r.expected_abstain]

    def _share(self, predicate, population) -> float:
        return sum(1 for r in population if predicate(r)) / len(population) if population else 0.0

    @property
    def metrics(self) -> dict[str, float]:
        answerable = self.answerable
        return {
            "questions": len(self.results),
            "answerable": len(answerable),
            "hit@1": self._share(lambda r: r.gold_rank == 1, answerable),
            "hit@3": self._share(
                lambda r: r.gold_rank is not None and r.gold_rank <= 3, answerable
            ),
            "mrr": (
                sum(1.0 / r.gold_rank for r in answerable if r.gold_rank) / len(answerable)
                if answerable
                else 0.0
            ),
            "abstention_accuracy": self._share(
                lambda r: r.abstained == r.expected_abstain, self.results
            ),
            "false_abstentions": sum(1 for r in answerable if r.abstained),
            "missed_abstentions": sum(
                1 for r in self.results if r.expected_abstain and not r.abstained
            ),
            # Of the refusals, how many were right; of the questions to refuse, how many were.
            "abstention_precision": self._share(
                lambda r: r.expected_abstain, [r for r in self.results if r.abstained]
            ),
            "abstention_recall": self._share(
                lambda r: r.abstained, [r for r in self.results if r.expected_abstain]
            ),
        }

    @property
    def by_kind(self) -> dict[str, dict[str, float]]:
        """Per question kind: hit@1 and hit@3 for answerable kinds; for kinds to refuse
        (such as entity present / absent), the share refused."""
        kinds: dict[str, list[QuestionResult]] = {}
        for result in self.results:
            if result.kind:
                kinds.setdefault(result.kind, []).append(result)
        table = {}
        for kind, results in sorted(kinds.items()):
            answerable = [r for r in results if not r.expected_abstain]
            refusable = [r for r in results if r.expected_abstain]
            # None where the kind has no such questions (nothing to refuse, or to answer).
            table[kind] = {
                "questions": len(results),
                "hit@1": self._share(lambda r: r.gold_rank == 1, answerable)
                if answerable
                else None,
                "hit@3": self._share(
                    lambda r: r.gold_rank is not None and r.gold_rank <= 3, answerable
                )
                if answerable
                else None,
                "refused": self._share(lambda r: r.abstained, refusable) if refusable else None,
                "false_abstentions": sum(1 for r in answerable if r.abstained),
            }
        return table

    def to_json(self) -> dict:
        return {
            "metrics": self.metrics,
            "by_kind": self.by_kind,
            "questions": [r.__dict__ | {"correct": r.correct} for r in self.results],
        }


def load_questions(path: Path) -> list[dict]:
    if not path.is_file():
        raise SourceNotFoundError(f"no such question file: {path}")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise UsageError(f"{path}:{number}: invalid JSON ({error.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("q"), str):
            raise UsageError(f"{path}:{number}: each line needs a string 'q'")
        questions.append(item)
    return questions


def spaced(text: str) -> str:
    """Every run of whitespace one space: a no-break or thin space, a line break of
    hard-wrapped text and a typed space are the same to a gold string. Quotes and
    everything else stay exact."""
    return " ".join(text.split())


def evaluate(index, questions: list[dict], k: int = 3) -> EvalReport:
    results = []
    for item in questions:
        answer = index.ask(item["q"], k=k)
        gold = [spaced(g) for g in item.get("gold") or [] if isinstance(g, str) and g.strip()]
        rank = None
        for citation in answer.citations:
            if any(g in spaced(citation.passage.text) for g in gold):
                rank = citation.n
                break
        results.append(
            QuestionResult(
                question=item["q"],
                expected_abstain=bool(item.get("abstain")),
                abstained=answer.abstained,
                gold_rank=rank,
                cited=[f"{c.passage.source}:{c.passage.paragraph}" for c in answer.citations],
                kind=item.get("kind") if isinstance(item.get("kind"), str) else None,
            )
        )
    return EvalReport(results)
