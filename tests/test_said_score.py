"""The "who said what" scorer (bench/said_score.py) and dev-file checker
(bench/said_check.py) on tiny hand-made topics and results."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str):
    """A bench script as a module, without putting bench/ (whose script names could
    shadow installed packages) on sys.path."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


said_check = _load("said_check")  # said_score imports it by this name
said_score = _load("said_score")

BORDER = {
    "topic": "the 132-km border",
    "corpus": "seeds",
    "speakers": [
        {
            "speaker": "Azerbaijan's Defence Ministry",
            "aliases": ["Azerbaijan’s Ministry of Defense", "the ministry"],
            "side": "Azerbaijan",
            "quotes": [
                "a 132-kilometer section of the Azerbaijani-Iranian state border had also "
                "been occupied",
                "including a 132-kilometers stretch of the border with Iran",
            ],
            "doc_ids": ["002_ae98e70f0ec14293", "004_5c92c3c2da052747"],
        },
        {
            "speaker": "Kioumars Heydari",
            "aliases": ["Hedari"],
            "side": "Iran",
            "quotes": ["Iran respects the borders of neighboring countries"],
            "doc_ids": ["002_ae98e70f0ec14293"],
        },
    ],
    "not_speakers": ["Ilham Aliyev"],
    "related_speakers": ["Azerbaijani media"],
    "abstain": False,
}
OIL = {
    "topic": "Azerbaijan's oil exports to Israel",
    "corpus": "seeds",
    "speakers": [],
    "not_speakers": [],
    "related_speakers": [],
    "abstain": True,
}
DEV = [BORDER, OIL]


def statement(quote: str, doc: str = "002_ae98e70f0ec14293") -> dict:
    return {"quote": quote, "doc_id": f"/corpus/seeds/{doc}.txt", "source": "x"}


def perfect_results() -> dict[str, dict]:
    border = {
        "topic": BORDER["topic"],
        "speakers": [
            {
                "speaker": "Azerbaijan’s Ministry of Defense",
                "statements": [
                    statement(
                        "As a result of this military aggression, a 132-kilometer section of the "
                        "Azerbaijani-Iranian state border had also been occupied."
                    ),
                    statement(
                        "including a 132-kilometers stretch of the border with Iran",
                        "004_5c92c3c2da052747",
                    ),
                ],
            },
            {
                "speaker": "Brigadier General Kioumars Heydari, commander of Iran’s Ground Force",
                "statements": [statement("Iran respects the borders of neighboring countries")],
            },
        ],
        "abstained": False,
    }
    oil = {"topic": OIL["topic"], "speakers": [], "abstained": True, "reason": "nobody"}
    return {said_score._topic_key(r["topic"]): r for r in (border, oil)}


def summary(results: dict[str, dict]) -> dict:
    return said_score.score(DEV, results)["summary"]["all"]


def border_speakers(results: dict[str, dict]) -> list[dict]:
    return results[said_score._topic_key(BORDER["topic"])]["speakers"]


def test_a_perfect_result_scores_one_everywhere():
    scores = summary(perfect_results())
    for metric in (
        "speaker_recall",
        "speaker_precision",
        "quote_accuracy",
        "source_accuracy",
        "abstention_accuracy",
    ):
        assert scores[metric] == 1.0, metric
    assert scores["false_abstentions"] == 0


def test_a_missing_speaker_lowers_recall_only():
    results = perfect_results()
    del border_speakers(results)[1]
    scores = summary(results)
    assert scores["speaker_recall"] == 0.5
    assert scores["speaker_precision"] == 1.0
    row = said_score.score(DEV, results)["topics"][0]
    assert row["missed"] == ["Kioumars Heydari"]


def test_a_narrative_quote_lowers_quote_accuracy():
    results = perfect_results()
    border_speakers(results)[0]["statements"].append(
        statement("The ministry addressed Heydari’s insistence that Iran would not allow changes")
    )
    scores = summary(results)
    assert scores["quote_accuracy"] == pytest.approx(3 / 4, abs=1e-4)
    assert scores["speaker_precision"] == 1.0


def test_a_not_speaker_lowers_precision_and_is_counted():
    results = perfect_results()
    border_speakers(results).append(
        {"speaker": "Ilham Aliyev", "statements": [statement("unfounded accusations")]}
    )
    scores = summary(results)
    assert scores["speaker_precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert scores["not_speakers_returned"] == 1
    assert scores["speaker_recall"] == 1.0


def test_an_unknown_speaker_is_wrong_but_a_related_one_is_not_judged():
    results = perfect_results()
    border_speakers(results).append({"speaker": "Azerbaijani media", "statements": []})
    assert summary(results)["speaker_precision"] == 1.0
    border_speakers(results).append({"speaker": "Some Pundit", "statements": []})
    assert summary(results)["speaker_precision"] == pytest.approx(2 / 3, abs=1e-4)


def test_speakers_on_an_abstain_topic_are_wrong_and_abstention_fails():
    results = perfect_results()
    oil = results[said_score._topic_key(OIL["topic"])]
    oil.update(abstained=False, speakers=[{"speaker": "Azerbaijan", "statements": []}])
    scores = summary(results)
    assert scores["abstention_accuracy"] == 0.0
    assert scores["speaker_precision"] == pytest.approx(2 / 3, abs=1e-4)


def test_abstaining_on_an_answerable_topic_is_a_false_abstention():
    results = perfect_results()
    results[said_score._topic_key(BORDER["topic"])].update(abstained=True, speakers=[])
    scores = summary(results)
    assert scores["false_abstentions"] == 1
    assert scores["speaker_recall"] == 0.0


def test_a_missing_topic_is_neither_found_nor_an_abstention():
    scores = summary({})
    assert scores["missing"] == 2
    assert scores["speaker_recall"] == 0.0
    assert scores["abstention_accuracy"] == 0.0


def test_a_quote_from_another_document_is_right_but_not_its_source():
    results = perfect_results()
    border_speakers(results)[1]["statements"][0]["doc_id"] = "/corpus/seeds/000_x.txt"
    scores = summary(results)
    assert scores["quote_accuracy"] == 1.0
    assert scores["source_accuracy"] == pytest.approx(2 / 3, abs=1e-4)


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        ("Azerbaijan’s Ministry of Defense", "gold"),  # an alias, curly apostrophe
        ("AZERBAIJAN'S DEFENCE MINISTRY.", "gold"),  # case and punctuation
        ("Heydari", "gold"),  # surname
        ("Senior Iranian military commander Kioumars Heydari", "gold"),  # name inside a role
        ("Russia's Defence Ministry", "unknown"),  # a generic surname is no surname
        ("the Ministry", "gold"),  # a generic alias matches when it is the whole name
        ("the Ministry of Foreign Affairs", "unknown"),  # ... and only then
        ("President Ilham Aliyev", "not_speaker"),
    ],
)
def test_name_matching(returned, expected):
    kind, _ = said_score.classify(returned, BORDER, set())
    assert kind == expected


def test_a_second_entry_for_one_speaker_is_a_split_not_a_second_find():
    results = perfect_results()
    border_speakers(results).append({"speaker": "Hedari", "statements": []})
    row = said_score.score(DEV, results)["topics"][0]
    assert (row["found"], row["correct"], row["splits"]) == (2, 3, 1)


@pytest.mark.parametrize(
    ("quote", "right"),
    [
        ("including a 132-kilometers stretch of the border with Iran", True),
        ("It said: “including a 132‑kilometers stretch of the border with Iran.”", True),
        ("the Azerbaijani-Iranian state border had also been occupied, it said", True),  # > half
        ("state border had", True),  # inside a gold quote
        ("the border", True),  # inside, two words
        ("Iran", False),  # one word
        ("The ministry replied on Thursday in a statement", False),
    ],
)
def test_quote_matching(quote, right):
    assert said_score.quote_matches(quote, BORDER["speakers"][0]["quotes"]) is right


def test_results_load_from_json_lines_or_a_list(tmp_path):
    rows = list(perfect_results().values())
    lines = tmp_path / "lines.jsonl"
    lines.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(rows), encoding="utf-8")
    assert said_score.load_results(lines) == said_score.load_results(listed)


def test_the_command_prints_a_table_and_writes_json(tmp_path, capsys):
    dev = tmp_path / "dev.jsonl"
    dev.write_text("".join(json.dumps(t) + "\n" for t in DEV), encoding="utf-8")
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in perfect_results().values()))
    out = tmp_path / "scores.json"
    assert said_score.main([str(results), "--dev", str(dev), "--out", str(out)]) == 0
    assert "| all | 2 | 1.000 |" in capsys.readouterr().out
    assert json.loads(out.read_text())["summary"]["seeds"]["speaker_recall"] == 1.0


TEXTS = {
    "seeds": {
        "002_ae98e70f0ec14293": [
            "As a result of this military aggression, a 132-kilometer section of the "
            "Azerbaijani-Iranian state border had also been occupied.",
            "“Iran respects the borders of neighboring countries and will not allow them to "
            "change,”",
        ],
        "004_5c92c3c2da052747": [
            "replying by emphasising the Armenian forces’ occupation of Azerbaijani territory "
            "for almost 30 years, including a 132-kilometers stretch of the border with Iran."
        ],
    }
}


def test_the_checker_passes_verbatim_quotes():
    counts, problems = said_check.check(DEV, TEXTS)
    assert problems == []
    assert (counts["quotes"], counts["quotes found"], counts["abstain topics"]) == (3, 3, 1)


def test_the_checker_rejects_a_quote_that_is_not_verbatim():
    topic = json.loads(json.dumps(BORDER))
    topic["speakers"][1]["quotes"] = ["Iran respects the borders of its neighbours"]
    _, problems = said_check.check([topic], TEXTS)
    assert any("not in a passage" in problem for problem in problems)


def test_the_checker_rejects_a_straight_quote_for_a_curly_one_and_bad_shapes():
    topic = json.loads(json.dumps(BORDER))
    topic["speakers"][1]["quotes"] = ['"Iran respects the borders of neighboring countries']
    _, problems = said_check.check([topic, {**OIL, "abstain": False}], TEXTS)
    assert sum("not in a passage" in problem for problem in problems) == 1
    assert any("abstain must be true" in problem for problem in problems)


def test_the_dev_file_is_well_formed():
    """The committed dev file has the shape and counts its README promises (the quotes
    themselves are checked against the indexes by bench/said_check.py)."""
    topics = said_check.load_dev(said_check.DEV)
    assert all(not said_check.shape_problems(topic) for topic in topics)
    assert len(topics) >= 30
    assert sum(topic["abstain"] for topic in topics) >= 5
    assert {topic["corpus"] for topic in topics} == {"seeds", "news-dev"}
    border = next(topic for topic in topics if topic["topic"] == "the 132-km border")
    ministry = border["speakers"][0]
    assert {"002_ae98e70f0ec14293", "004_5c92c3c2da052747"} <= set(ministry["doc_ids"])
