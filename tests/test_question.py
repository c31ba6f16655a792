"""One reading of a question (assistant/query/question.py) and its data files."""

from __future__ import annotations

import json

import pytest

from assistant.query import extractive as answer
from assistant.query import question
from assistant.query.question import analyze


@pytest.mark.parametrize(
    ("text", "kind", "speaker"),
    [
        (
            "What did the spokesperson for Nepal's civil aviation authority say about the claim?",
            "said",
            "the spokesperson for Nepal's civil aviation authority",
        ),
        ("How did Indiana's governor describe the state budget?", "said", "Indiana's governor"),
        (
            "What worries did the pipelines executive raise about it?",
            "said",
            "the pipelines executive",
        ),
        ("According to Levitt, how did Sinwar come to understand Israelis?", "said", "Levitt"),
        ("Who wrote the Reuters report about the bird strike?", "author", None),
        ("Which reporter wrote the article on the gifts?", "author", None),
        ("Which news agency filed the report about the whale?", "agency", None),
        ("On what date was the story about the final report filed?", "report_date", None),
        ("When did Finland join Nato?", "when", None),
        ("At what time was the superintendent told?", "when", None),
        ("How many jobs did Canada add in May?", "amount", None),
        # An amount that someone states: the kind is the amount, the speaker is kept.
        ("How much profit does the vendor say she makes a day?", "amount", "the vendor"),
        ("Why did Toyota recall its hybrid cars?", "other", None),
        ("Who is the best-known former student of the school?", "other", None),
    ],
)
def test_kinds_and_speakers(text, kind, speaker):
    analysis = analyze(text)
    assert (analysis.kind, analysis.speaker) == (kind, speaker)


def test_subject_terms_are_names_numbers_and_quotes_not_verbs():
    # "came" and "describe" follow a possessive, but they are not names.
    assert analyze("What did Heydari's came to describe in 2021?").subject_terms == (
        "heydari",
        "2021",
    )
    assert analyze(
        "What did Pakistan's army chief say 'digital terrorism' meant?"
    ).subject_terms == (
        "pakistan",
        "digital",
        "terrorism",
    )
    # Title Case questions: capitals say nothing.
    assert analyze("What Did The Minister Say About Taxes?").subject_terms == ()


def test_topic_terms_leave_out_the_speaker():
    analysis = analyze("What did the immigration department's spokesperson say about offices?")
    assert analysis.speaker_terms == ("immigration", "department", "spokesperson")
    assert analysis.topic_terms == ("offices",)


def _use(name: str, word: str) -> str:
    return {
        "speech_verbs": f"What did the minister {word} about the border?",
        "author_nouns": f"Which {word} wrote the story about the border?",
        "agency_nouns": f"Which {word} filed the story about the border?",
        "report_nouns": f"On what date was the {word} about the border filed?",
    }[name]


def test_every_entry_of_the_question_words_is_used():
    data = json.loads(question.DATA.read_text(encoding="utf-8"))
    expected_kind = {
        "speech_verbs": "said",
        "author_nouns": "author",
        "agency_nouns": "agency",
        "report_nouns": "report_date",
    }
    assert set(data["lists"]) == set(expected_kind)
    for name, entries in data["lists"].items():
        for entry in entries:
            assert entry["source"], entry
            text = _use(name, entry["word"])
            assert analyze(text).kind == expected_kind[name], text
            # Without the entry, the question is no longer read that way.
            question._words.cache_clear()
            question._patterns.cache_clear()
            question._report_words.cache_clear()
            original = question._words

            def without(name=name, entry=entry, original=original):
                words = dict(original())
                words[name] = [w for w in words[name] if w != entry["word"]]
                return words

            question._words = without
            try:
                question._patterns.cache_clear()
                question._report_words.cache_clear()
                assert analyze(text).kind != expected_kind[name], (name, entry["word"])
            finally:
                question._words = original
                question._patterns.cache_clear()
                question._report_words.cache_clear()


def test_the_fitted_weights_say_what_they_were_fitted_on():
    weights = answer.fitted()
    assert weights["rank"]["features"] == list(answer.RANK_FEATURES)
    assert weights["abstain"]["features"] == list(answer.ABSTAIN_FEATURES)
    assert len(weights["rank"]["weights"]) == len(answer.RANK_FEATURES)
    assert len(weights["abstain"]["weights"]) == len(answer.ABSTAIN_FEATURES)
    fitted_on = weights["fitted_on"]
    assert set(fitted_on["sets"]) == {"seeds-dev", "news-dev"}
    assert fitted_on["cross_validated"]["news-dev"]["hit@1"] > 0
