"""Score "who said what" results against the dev file (bench/data/said-dev.jsonl).

    python bench/said_score.py RESULTS.jsonl [--dev bench/data/said-dev.jsonl] [--out FILE]

RESULTS holds one JSON object a topic, the ``assistant said TOPIC --json`` shape:
``{"topic", "speakers": [{"speaker", "statements": [{"quote", "doc_id", ...}]}],
"abstained"}`` (JSON lines, or one JSON list). Results are joined to the dev file by
topic (case and surrounding spaces ignored).

The rules (bench/data/README.md says the same):

Names. A returned speaker matches a name (a gold speaker, one of its aliases, a
not_speaker, a related speaker) after both are normalised: case, accents, punctuation
and curly apostrophes dropped. Match strength: 3 the same name; 2 one contains the other
as a run of whole words, the contained one having two or more words and at least one
that is not generic ("the ministry" only ever matches exactly); 1 the same surname (last
word, not a generic word such as "ministry" or "spokesperson"). A returned speaker goes
to the gold speaker it matches most strongly; among equals, to one not yet taken.

Speaker recall: gold speakers matched by some returned speaker / gold speakers.

Speaker precision: correct / judged. Judged is every returned speaker except those
that match only a ``related_speakers`` name (people quoted near the topic whose
inclusion is defensible either way: neither credited nor penalised). Correct is a
returned speaker matched to a gold speaker (a second entry for the same gold speaker
counts as correct and is reported as a split). A returned speaker that matches a
not_speaker at least as strongly as any gold speaker (surname-only ties go to the gold
speaker) is always wrong, as is one that matches nothing. On abstain topics every
judged speaker is wrong.

Quote accuracy: over the statements of returned speakers matched to a gold speaker, the
share whose quote (normalised: case, spacing, straight quotes and dashes) contains a
gold quote of that speaker, or shares a run of characters at least half as long as one
of them, or lies inside one of them and has two words or more. Source accuracy: of
those correct statements, the share whose doc_id names one of the speaker's doc_ids
(compared by file stem).

Abstention accuracy: abstain topics answered with ``abstained: true`` or no speakers /
abstain topics. False abstentions: other topics answered that way. A topic missing
from the results is counted as missing: not an abstention, and no speaker found.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from difflib import SequenceMatcher
from pathlib import Path

from said_check import DEV, doc_stem, load_dev

# Words that name a kind of speaker, not a person: never a surname, and a name made of
# only these (and stop words) matches only when it is the whole returned name.
_GENERIC_WORDS = """ministry minister service government spokesperson spokesman spokeswoman
    source office department committee authority authorities official officials news agency
    council forces force military army police president secretary commander union airlines
    house team campaign bureau affairs defence defense party board court group institute research
    economics statement letter report people state foreign press chief leader general
    director manager adviser advisor the a an of for and in on at to"""
GENERIC = frozenset(_GENERIC_WORDS.split())
QUOTE_CHARS = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‐": "-",
        "‑": "-",
        "–": "-",
        "—": "-",
        "−": "-",
        "…": "...",
    }
)


def name_tokens(name: str) -> tuple[str, ...]:
    text = unicodedata.normalize("NFKD", name.translate(QUOTE_CHARS))
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    text = re.sub(r"'s\b", "", text)  # "Azerbaijan's ministry" is "Azerbaijan ministry"
    return tuple(re.findall(r"\w+", text))


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    size = len(shorter)
    return any(longer[i : i + size] == shorter for i in range(len(longer) - size + 1))


def _specific(tokens: tuple[str, ...]) -> bool:
    return len(tokens) >= 2 and any(token not in GENERIC for token in tokens)


def name_strength(returned: tuple[str, ...], name: tuple[str, ...]) -> int:
    """3 same name, 2 one contains the other, 1 same surname, 0 no match."""
    if not returned or not name:
        return 0
    if returned == name:
        return 3
    if (_specific(name) and _contains(returned, name)) or (
        _specific(returned) and _contains(name, returned)
    ):
        return 2
    surname = returned[-1]
    if surname == name[-1] and surname not in GENERIC and len(surname) >= 3:
        return 1
    return 0


def best_strength(returned: tuple[str, ...], names: list[str]) -> int:
    return max((name_strength(returned, name_tokens(name)) for name in names), default=0)


def quote_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(QUOTE_CHARS).lower()
    return " ".join(text.split()).strip(" \"'.,;:!?-")


def quote_matches(quote: str, gold_quotes: list[str]) -> bool:
    """The quote holds a gold quote, overlaps half of one, or lies inside one (2+ words)."""
    returned = quote_text(quote)
    if not returned:
        return False
    for gold in map(quote_text, gold_quotes):
        if gold in returned:
            return True
        if returned in gold and len(returned.split()) >= 2:
            return True
        matcher = SequenceMatcher(None, returned, gold, autojunk=False)
        overlap = matcher.find_longest_match(0, len(returned), 0, len(gold)).size
        if overlap >= 0.5 * len(gold):
            return True
    return False


def gold_names(speaker: dict) -> list[str]:
    return [speaker["speaker"], *speaker.get("aliases", [])]


def classify(returned_name: str, gold: dict, taken: set[int]) -> tuple[str, int | None]:
    """("gold", i) | ("split", i) | ("not_speaker"|"related"|"unknown", None).

    The strongest match wins. A not_speaker wins ties, except a surname-only tie with a
    gold speaker; a gold speaker wins ties with a related speaker."""
    tokens = name_tokens(returned_name)
    strengths = [best_strength(tokens, gold_names(speaker)) for speaker in gold["speakers"]]
    top = max(strengths, default=0)
    wrong = best_strength(tokens, gold.get("not_speakers", []))
    related = best_strength(tokens, gold.get("related_speakers", []))
    best = max(top, wrong, related)
    if best == 0:
        return "unknown", None
    if wrong == best and (best >= 2 or top < best):
        return "not_speaker", None
    if top < best:
        return "related", None
    candidates = [i for i, strength in enumerate(strengths) if strength == top]
    free = [i for i in candidates if i not in taken]
    return ("gold", free[0]) if free else ("split", candidates[0])


def _ordered(speakers: list[dict], gold: dict) -> list[dict]:
    """Strongest matches first, so a surname does not take a gold speaker that a full
    name returned later would have matched."""

    def strength(speaker: dict) -> int:
        tokens = name_tokens(str(speaker.get("speaker") or ""))
        return max((best_strength(tokens, gold_names(g)) for g in gold["speakers"]), default=0)

    return sorted(speakers, key=strength, reverse=True)


def score_statements(statements: list[dict], speaker: dict, row: dict) -> None:
    for statement in statements:
        row["statements"] += 1
        if quote_matches(str(statement.get("quote") or ""), speaker["quotes"]):
            row["quotes_right"] += 1
            if doc_stem(str(statement.get("doc_id") or "")) in speaker["doc_ids"]:
                row["sources_right"] += 1
        else:
            row["quotes_wrong"].append(statement.get("quote"))


def score_topic(gold: dict, result: dict | None) -> dict:
    """One topic's counts; the totals are sums of these."""
    row = {
        "topic": gold["topic"],
        "corpus": gold["corpus"],
        "abstain": bool(gold.get("abstain")),
        "missing": result is None,
        "gold_speakers": len(gold["speakers"]),
        "found": 0,
        "returned": 0,
        "judged": 0,
        "correct": 0,
        "splits": 0,
        "not_speakers_returned": [],
        "unknown_returned": [],
        "statements": 0,
        "quotes_right": 0,
        "sources_right": 0,
        "quotes_wrong": [],
        "abstained": False,
        "missed": [],
    }
    result = result or {}
    speakers = [s for s in result.get("speakers") or [] if isinstance(s, dict)]
    row["abstained"] = result != {} and (bool(result.get("abstained")) or not speakers)
    taken: set[int] = set()
    for speaker in _ordered(speakers, gold):
        name = str(speaker.get("speaker") or "")
        row["returned"] += 1
        kind, index = classify(name, gold, taken)
        if kind == "related":
            continue
        row["judged"] += 1
        if kind == "not_speaker":
            row["not_speakers_returned"].append(name)
            continue
        if kind == "unknown":
            row["unknown_returned"].append(name)
            continue
        row["correct"] += 1
        row["splits"] += kind == "split"
        taken.add(index)
        statements = [s for s in speaker.get("statements") or [] if isinstance(s, dict)]
        score_statements(statements, gold["speakers"][index], row)
    row["found"] = len(taken)
    row["missed"] = [s["speaker"] for i, s in enumerate(gold["speakers"]) if i not in taken]
    return row


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def summarise(rows: list[dict]) -> dict:
    total = {
        key: sum(row[key] for row in rows)
        for key in (
            "gold_speakers",
            "found",
            "judged",
            "correct",
            "splits",
            "statements",
            "quotes_right",
            "sources_right",
        )
    }
    abstain = [row for row in rows if row["abstain"]]
    answerable = [row for row in rows if not row["abstain"]]
    return {
        "topics": len(rows),
        "missing": sum(row["missing"] for row in rows),
        "speaker_recall": _ratio(total["found"], total["gold_speakers"]),
        "speaker_precision": _ratio(total["correct"], total["judged"]),
        "quote_accuracy": _ratio(total["quotes_right"], total["statements"]),
        "source_accuracy": _ratio(total["sources_right"], total["quotes_right"]),
        "abstention_accuracy": _ratio(sum(r["abstained"] for r in abstain), len(abstain)),
        "false_abstentions": sum(row["abstained"] for row in answerable),
        "not_speakers_returned": sum(len(row["not_speakers_returned"]) for row in rows),
        **{f"n_{key}": value for key, value in total.items()},
        "n_abstain_topics": len(abstain),
    }


def _topic_key(topic: str) -> str:
    return " ".join(str(topic).split()).casefold()


def load_results(path: Path) -> dict[str, dict]:
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("["):
        items = json.loads(text)
    else:
        items = [json.loads(line) for line in text.splitlines() if line.strip()]
    return {_topic_key(item.get("topic", "")): item for item in items if isinstance(item, dict)}


def score(dev: list[dict], results: dict[str, dict]) -> dict:
    rows = [score_topic(gold, results.get(_topic_key(gold["topic"]))) for gold in dev]
    groups = {"all": rows}
    for corpus in sorted({row["corpus"] for row in rows}):
        groups[corpus] = [row for row in rows if row["corpus"] == corpus]
    return {"summary": {name: summarise(group) for name, group in groups.items()}, "topics": rows}


COLUMNS = (
    ("topics", "topics"),
    ("speaker_recall", "recall"),
    ("speaker_precision", "precision"),
    ("quote_accuracy", "quotes"),
    ("source_accuracy", "sources"),
    ("abstention_accuracy", "abstain"),
    ("false_abstentions", "false abst."),
    ("not_speakers_returned", "not_spk"),
    ("missing", "missing"),
)


def table(summary: dict) -> str:
    def cell(value) -> str:
        if value is None:
            return "-"
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| set | " + " | ".join(label for _, label in COLUMNS) + " |"]
    lines.append("|---" * (len(COLUMNS) + 1) + "|")
    for name, values in summary.items():
        cells = " | ".join(cell(values[key]) for key, _ in COLUMNS)
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--out", type=Path, help="write the scores here as JSON")
    args = parser.parse_args(argv)
    scores = score(load_dev(args.dev), load_results(args.results))
    print(table(scores["summary"]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(scores, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
