"""Who says what: statement extraction, sides, and "what did X say" questions."""

from __future__ import annotations

import json

import pytest

from assistant.ingest import speakers
from assistant.text.textspans import iter_blocks

TEXT = """Border row

Iran must stop releasing “false and defamatory information,” warned Azerbaijan.

Azeri Foreign Ministry press manager Leyla Abdullyeva responded in a statement on Tuesday.

“The campaign will not bring benefit to Iran,” said Abdullyeva.

Senior Iranian military commander Kioumars Heidari added that “we respect good relations.”

“Our sensitivity toward the border has increased,” he said during the drill.

Earlier today, Heydari told ParsToday that “There are very sensitive issues in the Caucasus.”

A statement issued on Thursday by Azerbaijan’s Defence Ministry rejected the remarks.

“We would like to remind K. Heydari that Armenia kept our lands under occupation.”

According to Azerbaijani media, the talks will resume in May.
"""


def _statements(text: str = TEXT):
    book = speakers.SideBook()
    book.learn(text)
    spans = list(iter_blocks(text))[1:]  # the first block is the headline
    return [(s.speaker, s.side, text[s.start : s.end]) for s in speakers.extract(text, spans, book)]


def test_quotations_and_reported_speech_get_their_speakers():
    found = _statements()
    assert found == [
        ("Azerbaijan", "Azerbaijan", "false and defamatory information,"),
        (
            "Azeri Foreign Ministry press manager Leyla Abdullyeva",
            "Azerbaijan",
            "in a statement on Tuesday.",
        ),
        # The surname alone takes the introduction that said who she is.
        (
            "Azeri Foreign Ministry press manager Leyla Abdullyeva",
            "Azerbaijan",
            "The campaign will not bring benefit to Iran,",
        ),
        (
            "Senior Iranian military commander Kioumars Heidari",
            "Iran",
            "we respect good relations.",
        ),
        # "he" is the speaker named before it.
        (
            "Senior Iranian military commander Kioumars Heidari",
            "Iran",
            "Our sensitivity toward the border has increased,",
        ),
        # A spelling variant of a known person shares what is known of him.
        ("Heydari", "Iran", "There are very sensitive issues in the Caucasus."),
        ("Azerbaijan’s Defence Ministry", "Azerbaijan", "the remarks."),
        # A paragraph that is all quotation continues the speaker before it.
        (
            "Azerbaijan’s Defence Ministry",
            "Azerbaijan",
            "We would like to remind K. Heydari that Armenia kept our lands under occupation.",
        ),
        ("Azerbaijani media", "Azerbaijan", "the talks will resume in May."),
    ]


def test_sides_are_learnt_from_how_people_are_introduced():
    book = speakers.SideBook()
    book.learn("Iranian Foreign Minister Hossein Amir-Abdollahian spoke on Saturday.")
    book.learn("Azerbaijan’s president, Ilham Aliyev, spoke too.")
    book.learn("Brigadier General Kioumars Heydari, commander of Iran’s Ground Force, spoke.")
    assert book.side_of("amir-abdollahian") == "Iran"
    assert book.side_of("aliyev") == "Azerbaijan"
    assert book.side_of("hedari") == "Iran"  # a variant spelling
    assert book.side_of("pashinyan") is None


def test_what_did_x_say_questions_are_parsed():
    parse = speakers.parse_question
    assert parse("What did Azerbaijan say about the 132-km border?") == speakers.SpeakerQuery(
        "Azerbaijan", "Azerbaijan", (), ()
    )
    foreign = parse("What did Azerbaijan's foreign ministry say about the campaign?")
    assert (foreign.side, foreign.offices) == ("Azerbaijan", ("foreign ministry",))
    assert parse("What did Kioumars Heidari claim?").surnames == ("heidari",)
    assert parse("How did Baku respond to the drills?").side == "Azerbaijan"
    assert parse("When did Iran hold drills?") is None
    assert parse("What did the report say?") is None  # nobody named
    assert foreign.matches("Azeri Foreign Ministry press manager Leyla Abdullyeva", "Azerbaijan")
    assert not foreign.matches("Azerbaijan’s Defence Ministry", "Azerbaijan")
    assert parse("What did Hedari warn?").matches("Brigadier General Kioumars Heydari", "Iran")


# -- over the seeds -------------------------------------------------------------------------

SIDE_QUESTIONS = [
    ("What did Azerbaijan say about the 132-km border?", "Azerbaijan"),
    ("What did Azerbaijan say about Heydari's accusations?", "Azerbaijan"),
    ("What did Azerbaijan claim about Daesh militants?", "Azerbaijan"),
    ("What did Baku say about the Zionist elements claim?", "Azerbaijan"),
    ("What did Azerbaijan's State Border Service say about provocations?", "Azerbaijan"),
    ("What did Iran say about Israel's presence near its borders?", "Iran"),
    ("What did Iran's foreign minister say about geopolitical change?", "Iran"),
]


@pytest.mark.parametrize(("question", "side"), SIDE_QUESTIONS)
def test_what_did_a_side_say_cites_that_sides_statements_first(seeds_index, question, side):
    answer = seeds_index.ask(question)
    assert not answer.abstained
    first = answer.citations[0]
    assert first.side == side and first.speaker
    # The quoted words are inside the passage, and the answer names who said them.
    assert first.quote_text in first.passage.text
    assert answer.text.splitlines()[0].endswith(
        f" — {first.speaker}" + (f" (for {side})" if side not in first.speaker else "") + " [1]"
    )


@pytest.mark.parametrize(
    ("question", "surname"),
    [
        ("What did Heidari say about the Zionist regime?", "Heydari"),
        ("What did Hedari say about border changes?", "Hedari"),
        ("What did Aliyev say about Israeli defense products?", None),
        ("What did Abdullahian say about Israel?", "Amir-Abdollahian"),
    ],
)
def test_what_did_a_person_say_cites_them_first(seeds_index, question, surname):
    first = seeds_index.ask(question).citations[0]
    if surname:
        assert surname in first.speaker or surname.replace("y", "i") in first.speaker
    assert first.side == ("Azerbaijan" if "Aliyev" in question else "Iran")


def test_dev_questions_about_azerbaijan_cite_azerbaijani_statements_first(
    seeds_index, dev_questions
):
    asked = [
        q["q"]
        for q in dev_questions
        if not q.get("abstain") and (w := speakers.parse_question(q["q"])) and w.side
    ]
    assert len(asked) >= 3
    held = 0
    for question in asked:
        wanted = speakers.parse_question(question)
        sides = [c.side for c in seeds_index.ask(question).citations]
        # Where the answer holds that side's statements at all, one of them comes first.
        if wanted.side in sides:
            held += 1
            assert sides[0] == wanted.side, (question, sides)
    assert held >= 3


def test_cli_shows_who_said_it(cli, seeds_index_dir):
    def run(*args):
        return cli("ask", *args, "--index", seeds_index_dir)

    plain = run("What did Azerbaijan say about the 132-km border?")
    assert "    said by Azerbaijan’s Ministry of Defense\n" in plain.stdout
    data = json.loads(run("What did Azerbaijan say about the 132-km border?", "--json").stdout)
    assert data["citations"][0]["speaker"] == {
        "name": "Azerbaijan’s Ministry of Defense",
        "side": "Azerbaijan",
    }
