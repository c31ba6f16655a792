"""The expected answer type of a question (assistant/query/answer_types.py), on
hand-written questions."""

from __future__ import annotations

import subprocess
import sys

import pytest

from assistant.query.answer_types import expected_answer_type


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How much did the new stadium cost?", "money"),
        ("How much money did the charity raise?", "money"),
        ("What did the airline pay for the two jets?", "money"),
        ("What is the painting worth?", "money"),
        ("What was the cost of the repairs?", "money"),
        ("How many people were rescued from the ferry?", "count"),
        ("What was the death toll of the earthquake?", "count"),
        ("How old was the pilot?", "count"),
        ("How long did the siege last?", "duration"),
        ("How many years did she serve as mayor?", "duration"),
        ("What prison sentence did the smuggler receive?", "duration"),
        ("What percentage of voters backed the plan?", "percentage"),
        ("What share of the market does the firm hold?", "percentage"),
        ("By how much did house prices rise?", "percentage"),
        ("How much did the economy grow last year?", "percentage"),
        ("When did the bridge open?", "date"),
        ("What year was the treaty signed?", "date"),
        ("On what date will the polls close?", "date"),
        ("Which country won the tournament?", "place"),
        ("Where did the plane land?", "place"),
        ("In which cities were the protests held?", "place"),
        ("Who will lead the inquiry?", "person"),
        ("Who is the new coach of the team?", "person"),
        ("Which minister resigned on Friday?", "person"),
        ("Which company built the tunnel?", "organisation"),
        ("Which party won the most seats?", "organisation"),
        ("What is the name of the company that owns the mine?", "organisation"),
        ("What is the name of the man who found the wreck?", "person"),
        ("How tall is the new tower?", "quantity"),
        ("How far did the ship drift?", "quantity"),
        ("How much does the rover weigh?", "quantity"),
        ("Why did the talks collapse?", "free"),
        ("How did the fire start?", "free"),
        ("What did the mayor say about the flooding?", "free"),
        ("What new name did the owners give the ship?", "free"),
    ],
)
def test_expected_answer_type(question, expected):
    assert expected_answer_type(question) == expected


def test_a_plural_head_noun_counts_as_its_singular():
    assert expected_answer_type("Which companies bid for the contract?") == "organisation"


def test_a_possessive_owner_is_what_is_asked():
    assert expected_answer_type("Which university's scientists made the vaccine?") == (
        "organisation"
    )


def test_an_empty_question_is_free():
    assert expected_answer_type("") == "free"


def test_reading_the_type_imports_no_spacy():
    code = (
        "import sys; from assistant.query.answer_types import expected_answer_type;"
        "expected_answer_type('How much did it cost?');"
        "print('spacy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
