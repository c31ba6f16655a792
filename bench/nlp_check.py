"""What the index-time parse (assistant/ingest/nlp.py) would cost and buy on news-dev.

1. Cost: seconds to analyse every non-boilerplate passage of every document of an
   index (one process, one core), and characters a second.
2. Typing: for the answerable questions of news-dev-extra whose answer type is one the
   parse types, how often the gold passage (the first passage of the question's page
   holding a gold string) has a span of that type (anywhere; over the gold string),
   against the best 3 other passages of the same page for that question (ranked by
   the index's search): recall of the typing, and how well it tells them apart.
   'question->span': the type read from the question (assistant/query/answer_types.py)
   has a span over the gold string: the whole chain an answerer would use.
3. Said: how often a said question's gold string lies inside a quote span assigned to
   the speaker the question names (surname in the question), by the parse and by the
   statements the index stored at build time; and the same per gold quote of
   said-dev's news-dev topics, with the speaker's listed names and aliases ('a
   not_speaker': a span over the gold quote gives it to one of the topic's not_speakers).
   A span covers a gold string when it holds 80% of it; an unresolved speaker is
   matched as written. The said-dev misses were read while writing the resolution
   rules (its figure is optimistic); news-dev-extra's said questions were not.
4. The number of spans over the whole collection, parse and stored.

    python bench/nlp_check.py --index /work/cache/newsdev-idx [--cache /tmp/nlp.pkl]
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Index  # noqa: E402
from assistant.query.answer_types import expected_answer_type  # noqa: E402

TYPED = ("money", "count", "quantity", "percentage", "date", "duration", "person",
         "organisation", "place")  # fmt: skip
GENERIC = {"the", "a", "an", "of", "ministry", "government", "minister", "president", "s"}


def stem(source: str) -> str:
    return Path(source).stem


def analyse(index: Index, cache: Path | None) -> tuple[dict, dict]:
    """{doc stem: [(passage, analysis)]} and the parse's timing. The parses (not the
    analyses) are kept in ``cache``, so the rules can change between runs."""
    from spacy.tokens import DocBin

    from assistant.ingest.nlp import analyse_docs, parse, pipeline

    started = time.perf_counter()
    vocab = pipeline().vocab
    load_seconds = time.perf_counter() - started
    if cache and cache.exists():
        parsed, timing = pickle.loads(cache.read_bytes())
    else:
        parsed, timing = parse_all(index, parse, DocBin)
        timing["load"] = load_seconds
        if cache:
            cache.write_bytes(pickle.dumps((parsed, timing)))
    by_doc = {}
    for name, (passages, docs) in parsed.items():
        results = analyse_docs(DocBin().from_bytes(docs).get_docs(vocab))
        by_doc[name] = list(zip(passages, results, strict=True))
    return by_doc, timing


def parse_all(index: Index, parse, doc_bin) -> tuple[dict, dict]:
    """Every document's non-boilerplate passages and their parses (as DocBin bytes),
    timed: wall and this process's CPU seconds."""
    parsed, chars = {}, 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for document in index.documents():
        passages = [p for p in index.document_passages(document.doc_id) if not p.is_boilerplate]
        chars += sum(len(p.text) for p in passages)
        docs = parse([p.text for p in passages])
        parsed[stem(document.source)] = (passages, doc_bin(docs=docs).to_bytes())
    timing = {
        "documents": len(parsed),
        "chars": chars,
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu_started,
    }
    return parsed, timing


def gold_passage(pairs: list, gold: list[str]):
    for passage, analysis in pairs:
        for text in gold:
            at = passage.text.find(text)
            if at >= 0:
                return passage, analysis, (at, at + len(text))
    return None


def has_type(analysis, kind: str, within: tuple[int, int] | None = None) -> bool:
    for span in analysis.spans:
        if span.type != kind:
            continue
        if within is None or (span.start < within[1] and span.end > within[0]):
            return True
    return False


def typing_table(index: Index, by_doc: dict, items: list[dict]) -> None:
    rows = defaultdict(lambda: defaultdict(int))
    for item in items:
        kind = item["answer_type"]
        pairs = by_doc.get(item["id"])
        if item["abstain"] or kind not in TYPED or not pairs:
            continue
        row = rows[kind]
        row["n"] += 1
        found = gold_passage(pairs, item["gold"])
        if found is None:
            row["no_gold"] += 1
            continue
        passage, analysis, where = found
        row["gold"] += 1
        row["gold_any"] += has_type(analysis, kind)
        row["gold_over"] += has_type(analysis, kind, where)
        # The whole chain: the type read from the question, found over the gold string.
        row["chain"] += has_type(analysis, expected_answer_type(item["q"]), where)
        others = rivals(index, item, pairs, passage.passage_id)
        row["rivals"] += len(others)
        row["rivals_any"] += sum(has_type(a, kind) for a in others)
    print("\nTyping: gold passage vs the best 3 other passages of the same page")
    print(f"{'type':13} {'n':>4} {'gold':>5} {'gold has':>9} {'over gold':>10} {'others':>7} "
          f"{'others have':>12} {'question->span':>15}")  # fmt: skip
    total = defaultdict(int)
    for kind in TYPED:
        row = rows[kind]
        for key, value in row.items():
            total[key] += value
        print_row(kind, row)
    print_row("all", total)


def print_row(name: str, row: dict) -> None:
    def share(part, whole):
        return f"{part / whole:.2f}" if whole else "-"

    print(
        f"{name:13} {row['n']:4d} {row['gold']:5d} {share(row['gold_any'], row['gold']):>9}"
        f" {share(row['gold_over'], row['gold']):>10} {row['rivals']:7d}"
        f" {share(row['rivals_any'], row['rivals']):>12} {share(row['chain'], row['gold']):>15}"
    )


def rivals(index: Index, item: dict, pairs: list, gold_id: int) -> list:
    """The analyses of the 3 best-ranked other passages of the question's page."""
    by_id = {p.passage_id: a for p, a in pairs if not p.is_head}
    hits = index.search(item["q"], k=200)
    ranked = [h.passage.passage_id for h in hits if h.passage.passage_id in by_id]
    return [by_id[pid] for pid in ranked if pid != gold_id][:3]


# -- said ------------------------------------------------------------------------------


def words(name: str) -> list[str]:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"['’]s\b", "", text)
    return re.findall(r"[a-z0-9]+", text)


def name_matches(returned: str | None, names: list[str]) -> bool:
    """Equal, one inside the other as whole words (two words or more), or the same
    surname (last word, not a generic word)."""
    if not returned:
        return False
    got = words(returned)
    if not got:
        return False
    for name in names:
        want = words(name)
        if not want:
            continue
        if got == want or (got[-1] == want[-1] and got[-1] not in GENERIC):
            return True
        shorter, longer = sorted((" ".join(got), " ".join(want)), key=len)
        if len(shorter.split()) >= 2 and f" {shorter} " in f" {longer} ":
            return True
    return False


def in_question(speaker: str | None, question: str) -> bool:
    """The speaker's surname (last word) is a word of the question."""
    got = words(speaker or "")
    return bool(got) and got[-1] not in GENERIC and got[-1] in words(question)


def spans_of(index: Index, pairs: list) -> tuple[list, list]:
    """(absolute start, end, speaker) of the parse's attributions and of the stored
    statements of one document."""
    parsed = [
        # An unresolved speaker is matched as written ('a company spokesperson').
        (p.start + a.quote_start, p.start + a.quote_end,
         a.speaker or p.text[a.speaker_start : a.speaker_end])
        for p, analysis in pairs
        for a in analysis.attributions
    ]  # fmt: skip
    stored = index.store.statements([p.passage_id for p, _ in pairs])
    statements = [(s.start, s.end, s.speaker) for found in stored.values() for s in found]
    return parsed, statements


def covered(spans: list, where: tuple[int, int], speaker_ok) -> bool:
    """Whether a span of an accepted speaker holds the gold string, or 80% of it (a
    gold string may take in the quotation marks or a word around them)."""
    need = 0.8 * (where[1] - where[0])
    return any(
        min(e, where[1]) - max(s, where[0]) >= need and speaker_ok(who) for s, e, who in spans
    )


def said_questions(index: Index, by_doc: dict, items: list[dict]) -> None:
    counts = defaultdict(int)
    for item in items:
        pairs = by_doc.get(item["id"])
        if item["kind"] != "said" or item["abstain"] or not pairs:
            continue
        counts["n"] += 1
        found = gold_passage(pairs, item["gold"])
        if found is None:
            continue
        passage, _, (start, end) = found
        where = (passage.start + start, passage.start + end)
        counts["gold"] += 1
        parsed, stored = spans_of(index, pairs)
        right = lambda who, q=item["q"]: in_question(who, q)  # noqa: E731
        counts["parse_any"] += covered(parsed, where, lambda who: True)
        counts["parse_right"] += covered(parsed, where, right)
        counts["stored_any"] += covered(stored, where, lambda who: True)
        counts["stored_right"] += covered(stored, where, right)
    print(f"\nSaid questions of news-dev-extra: {counts['n']} answerable, "
          f"{counts['gold']} with the gold string in a passage")  # fmt: skip
    print(f"{'':20} {'in a quote':>11} {'right speaker':>14}")
    for name in ("parse", "stored"):
        print(f"{name:20} {share(counts[name + '_any'], counts['gold']):>11}"
              f" {share(counts[name + '_right'], counts['gold']):>14}")  # fmt: skip


def share(part: int, whole: int) -> str:
    return f"{part}/{whole} {part / whole:.2f}" if whole else "-"


def said_dev(index: Index, by_doc: dict, topics: list[dict]) -> None:
    """Per gold quote of said-dev's news-dev topics: covered by a span of the right
    speaker (names and aliases), by the parse and by the stored statements."""
    counts = defaultdict(int)
    for topic in topics:
        if topic["corpus"] != "news-dev":
            continue
        wrong_names = topic["not_speakers"]
        wrong = lambda who, names=wrong_names: name_matches(who, names)  # noqa: E731
        for speaker in topic["speakers"]:
            names = [speaker["speaker"], *speaker["aliases"]]
            right = lambda who, names=names: name_matches(who, names)  # noqa: E731
            for quote in speaker["quotes"]:
                hit = next(
                    ((doc, found) for doc in speaker["doc_ids"]
                     if (found := gold_passage(by_doc.get(doc, []), [quote]))),
                    None,
                )  # fmt: skip
                counts["quotes"] += 1
                if hit is None:
                    continue
                doc, (passage, _, (start, end)) = hit
                where = (passage.start + start, passage.start + end)
                parsed, stored = spans_of(index, by_doc[doc])
                counts["found"] += 1
                counts["parse_any"] += covered(parsed, where, lambda who: True)
                counts["parse_right"] += covered(parsed, where, right)
                counts["stored_any"] += covered(stored, where, lambda who: True)
                counts["stored_right"] += covered(stored, where, right)
                counts["parse_wrong"] += covered(parsed, where, wrong)
                counts["stored_wrong"] += covered(stored, where, wrong)
    print(f"\nsaid-dev news-dev gold quotes: {counts['quotes']}, found in a passage "
          f"{counts['found']}")  # fmt: skip
    print(f"{'':20} {'in a quote':>11} {'right speaker':>14} {'a not_speaker':>14}")
    for name in ("parse", "stored"):
        print(f"{name:20} {share(counts[name + '_any'], counts['found']):>11}"
              f" {share(counts[name + '_right'], counts['found']):>14}"
              f" {share(counts[name + '_wrong'], counts['found']):>14}")  # fmt: skip


def volume(index: Index, by_doc: dict) -> None:
    """How many spans each gives over the whole collection, and how many name someone."""
    kinds, named, stored, stored_named = defaultdict(int), 0, 0, 0
    for pairs in by_doc.values():
        for _, analysis in pairs:
            for attribution in analysis.attributions:
                kinds[attribution.kind] += 1
                named += attribution.speaker is not None
        found = index.store.statements([p.passage_id for p, _ in pairs])
        statements = [s for listed in found.values() for s in listed]
        stored += len(statements)
        stored_named += sum(bool(s.speaker) for s in statements)
    total = sum(kinds.values())
    print(f"\nSpans over the collection: parse {total} ({dict(kinds)}), {named} with a resolved"
          f" speaker; stored {stored}, {stored_named} with a speaker")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--cache", type=Path, help="keep the analyses here between runs")
    parser.add_argument("--questions", type=Path,
                        default=ROOT / "bench" / "data" / "news-dev-extra.jsonl")  # fmt: skip
    parser.add_argument("--said", type=Path, default=ROOT / "bench" / "data" / "said-dev.jsonl")
    parser.add_argument("--cost-only", action="store_true")
    args = parser.parse_args(argv)
    index = Index(args.index)
    by_doc, timing = analyse(index, args.cache)
    print(
        f"Parse: {timing['documents']} documents, {timing['chars']} characters in"
        f" {timing['seconds']:.1f} s wall, {timing['cpu']:.1f} s CPU"
        f" ({timing['chars'] / timing['cpu']:.0f} chars per CPU second),"
        f" pipeline load {timing['load']:.1f} s"
    )
    if args.cost_only:
        return 0
    items = [json.loads(line) for line in args.questions.read_text("utf-8").splitlines() if line]
    typing_table(index, by_doc, items)
    said_questions(index, by_doc, items)
    topics = [json.loads(line) for line in args.said.read_text("utf-8").splitlines() if line]
    said_dev(index, by_doc, topics)
    volume(index, by_doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
