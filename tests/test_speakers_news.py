"""Speaker attribution on news in general (not only the seed articles): pronouns and
descriptions, speakers that are names/roles/organisations and never clauses, quotations
after an introduction, and the country and role data files.

The sentences are written for these tests, in the shapes found in real news pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import data as rule_files
from assistant.ingest import speakers
from assistant.text.textspans import iter_blocks

DATA = Path(rule_files.__file__).parent  # the rule files live in assistant/data/


def said(text: str) -> list[tuple[str, str]]:
    """(speaker, what was said) for each statement of ``text`` (the first block is the
    headline)."""
    book = speakers.SideBook()
    book.learn(text)
    spans = list(iter_blocks(text))[1:]
    return [(s.speaker, text[s.start : s.end]) for s in speakers.extract(text, spans, book)]


def who(text: str) -> list[str]:
    return [speaker for speaker, _ in said(text)]


# -- 1. pronouns and descriptions refer back -------------------------------------------------


def test_pronouns_and_descriptions_take_the_nearest_person_named_before():
    text = """School row

Maria Lopez, a 56-year-old teacher, said the plan was flawed.

The Education Department said the plan was sound.

“We will fight it in court,” she said.

The 56-year-old said she would appeal on Monday.

“It is not over,” the Republican governor added.
"""
    found = said(text)
    assert found[0][0] == "Maria Lopez, a 56-year-old teacher"
    assert found[1][0] == "The Education Department"
    # Not the department that spoke last: the person.
    assert found[2] == ("Maria Lopez, a 56-year-old teacher", "We will fight it in court,")
    assert found[3][0] == "Maria Lopez, a 56-year-old teacher"
    assert found[4][0] == "Maria Lopez, a 56-year-old teacher"


def test_the_company_takes_the_nearest_organisation_before():
    text = """Results

Northwind Energy said profits rose 12 percent in the quarter.

Chief executive Dana Smith said the outlook was strong.

The company said it would hire 200 workers.

“We are growing,” the spokesperson said.
"""
    assert who(text) == [
        "Northwind Energy",
        "Chief executive Dana Smith",
        "Northwind Energy",  # the company, not the chief executive who spoke last
        "Chief executive Dana Smith",  # a person: the nearest person named
    ]


def test_descriptions_naming_a_country_keep_to_that_country():
    text = """Talks

Ukrainian Foreign Minister Olena Bilyk said the talks had failed.

The Russian minister said the talks would go on.
"""
    # Nobody Russian was named before: the description is its own speaker.
    assert who(text) == ["Ukrainian Foreign Minister Olena Bilyk", "The Russian minister"]


def test_a_description_is_a_determiner_and_lowercase_words_only():
    reference = speakers._reference
    assert reference("the spokesperson") == "person"
    assert reference("the 56-year-old") == "person"
    assert reference("the Republican governor") == "person"
    assert reference("the company") == "organisation"
    assert reference("the Ministry") == "organisation"
    assert reference("the statement") == "any"
    assert reference("the Ministry of Foreign Affairs") is None  # a name
    assert reference("the New York Times") is None
    assert reference("the residents") is None  # a group speaks for itself


# -- 2. a speaker is a name, a role or an organisation, never a clause ------------------------

CLAUSES = """News

WASHINGTON — NASA said on Friday that the launch would slip to June.

KATHMANDU, April 25 (Reuters) - Nepal's aviation authority said on Tuesday that the plane was safe.

When asked about the fence, a city spokeswoman initially said it was legal.

Tax commissioner Jane Roe has previously said the agency needed more money.

Smith, who led the campaign to victory by winning Rust Belt states, said the race was open.

In a company email sent by chairman Tom Hill, employees were told that offices would close.

Rep. Ann Lee said the bill was dead.

A report into the incident published on Thursday said the crew erred.

Mexico is a route for Chinese steel to the United States, analysts said.

“We were rammed,” coast guard spokesman Juan Cruz said, using the local term for its claimed waters.

Even within Hamas, leaders said the truce was fragile.

Trump first said the plan was a hoax.

Residents of Ha Tuke, Mokotane and Ha Pitso say they live in fear.
"""


def test_speakers_are_never_clauses():
    assert who(CLAUSES) == [
        "NASA",
        "Nepal's aviation authority",
        "a city spokeswoman",
        "Tax commissioner Jane Roe",
        "Smith",
        "Rep. Ann Lee",
        "analysts",
        "coast guard spokesman Juan Cruz",
        "leaders",
        "Trump",
        "Residents of Ha Tuke",
    ]


@pytest.mark.parametrize(
    "phrase",
    [
        "announced in October",
        "using the Philippine term for its",
        "of Chinese steel to the United",
        "even within Hamas",
        "He admitted that the company is building him an office but",
        "Ailes videotaped her in a garter belt and",
        "a report into the incident published on Thursday",
        "I",
        "You can",
        "describes Harris better",
    ],
)
def test_clauses_are_no_speakers(phrase):
    assert speakers._speaker_of(phrase) is None


@pytest.mark.parametrize(
    ("phrase", "speaker"),
    [
        (
            "Sars commissioner Edward Kieswetter has previously",
            "Sars commissioner Edward Kieswetter",
        ),
        ("Conway, who led the Trump campaign", "Conway"),
        ("a Fox executive — seemed to function as a recruiter", "a Fox executive"),
        ("Jamil Saadouni, 58", "Jamil Saadouni"),
        ("Yevhen Zosin, 74, a Kyiv resident who saw the attack", "Yevhen Zosin, a Kyiv resident"),
        ("The Indian army in a statement", "The Indian army"),
        ("where realtor Shaun Ghulam", "realtor Shaun Ghulam"),
        ("Kirk Jones, chaired by the mayor", "Kirk Jones"),
        ("Mr Moeketsi further", "Mr Moeketsi"),
    ],
)
def test_speaker_phrases_are_trimmed_to_the_speaker(phrase, speaker):
    assert speakers._speaker_of(phrase) == speaker


# -- 3. quotations after an attribution or an introduction -----------------------------------


def test_a_quotation_after_an_introduction_is_the_introduced_persons():
    text = """Pipeline

Eskom said the pipeline would be ready in 2030.

However, Transnet pipelines executive Russell Bradbrooke has reservations about the project.

“It is an option, but the risks to people living nearby are real.”

“We will have to see,” he said.
"""
    assert said(text) == [
        ("Eskom", "the pipeline would be ready in 2030."),
        (
            "Transnet pipelines executive Russell Bradbrooke",
            "It is an option, but the risks to people living nearby are real.",
        ),
        ("Transnet pipelines executive Russell Bradbrooke", "We will have to see,"),
    ]


def test_a_quotation_attributed_after_it_keeps_role_and_name():
    text = """Sea row

“What they did is against international law,” fisheries bureau spokesman Nazario Briguera said, using the local term for its claimed waters.

“We will file a protest.”

Briguera said the vessel was the third one harassed.
"""  # noqa: E501
    assert who(text) == ["fisheries bureau spokesman Nazario Briguera"] * 3


def test_a_role_set_off_before_the_name_stays_with_the_speaker():
    # Shape of the Guardian's Valencia fire report (news-dev): role, comma, name, said.
    text = """Fire

The cladding may have spread the blaze faster, but Valencia’s mayor, María José Catalá, said the cause was still unknown.

The company’s chief executive, Jane Fraser, said profits rose.
"""  # noqa: E501
    assert who(text) == [
        "Valencia’s mayor, María José Catalá",
        "The company’s chief executive, Jane Fraser",
    ]


def test_a_quotation_left_open_goes_on_with_its_speaker():
    # Shape of the iNews Just Stop Oil report (news-dev): a quotation over three
    # paragraphs opens each one and closes only at its end.
    text = """Protest

One of the protesters, Hayley Moss, 42, a lecturer from Leeds, said: “Years of writing to MPs have not brought the change needed.

“I am scared for my children, I can’t sleepwalk them into a future of storms.

“This isn’t a distant problem.”
"""  # noqa: E501
    found = said(text)
    assert [speaker for speaker, _ in found] == [
        "One of the protesters, Hayley Moss, a lecturer from Leeds"
    ] * 3
    assert found[1][1].startswith("I am scared for my children")


def test_a_role_owned_by_an_organisation_or_place_is_matched_by_its_owner():
    # "TD Economics' senior economist" (news-dev, Financial Post): TD Economics owns the
    # role; it is no person's surname, and another firm's economist is someone else.
    td = speakers.speaker_query("TD Economics' senior economist")
    assert td.surnames == () and td.owners == ("td", "economics")
    assert td.matches("Andrew Hencic, director and senior economist at TD Economics", None)
    assert not td.matches("Ariane Curtis, senior economist at Capital Economics", None)
    mayor = speakers.speaker_query("Valencia's mayor")
    assert mayor.matches("Valencia’s mayor, María José Catalá", None)
    assert not mayor.matches("the national government delegate, Pilar Bernabé", None)
    # A person named after the owner is still the person asked about.
    assert speakers.speaker_query("Gauteng's MEC Mamabolo").surnames == ("mamabolo",)


# -- 4. countries and roles are general data --------------------------------------------------


def test_countries_data_covers_the_un_member_states_and_says_where_it_comes_from():
    data = json.loads((DATA / "countries.json").read_text(encoding="utf-8"))
    names = {entry["name"] for entry in data["countries"]}
    assert len(names) == 197  # 193 UN members, Taiwan, Palestine, Kosovo, Hong Kong
    assert {"Taiwan", "Palestine", "Kosovo", "Hong Kong", "Tuvalu", "Namibia"} <= names
    assert all(entry["capital"] and entry["demonyms"] for entry in data["countries"])
    assert "ISO 3166-1" in data["about"]
    assert {"Georgia", "Jordan", "Chad", "Washington"} <= set(data["left_out"])
    assert {"China", "Turkey", "Guinea", "Niger"} <= set(data["capitalised_only"])
    assert speakers.COUNTRIES["Ghana"][:2] == ("Ghana", "Ghanaian")
    assert speakers.CAPITALS["Lesotho"] == "Maseru"


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Ghanaian officials said", "Ghana"),
        ("the Namibian presidency", "Namibia"),
        ("Kyiv said on Monday", "Ukraine"),
        ("U.S. officials said", "United States"),
        ("Turkey’s foreign ministry", "Turkey"),
        ("Türkiye’s foreign ministry", "Turkey"),
        ("Côte d’Ivoire’s president", "Côte d'Ivoire"),
        ("the Netherlands’ ambassador", "Netherlands"),
        ("Pakistan-controlled Kashmir", "Pakistan"),
        ("Northern Irish police", "United Kingdom"),
        ("South Sudanese troops", "South Sudan"),
        ("Guinea-Bissau's leader", "Guinea-Bissau"),
        ("Papua New Guinea's prime minister", "Papua New Guinea"),
        ("china", "China"),  # one word, as a question's term
        # common words and names that are not countries
        ("a plate of fine china", None),
        ("a turkey dinner", None),
        ("Georgia lawmakers passed the bill", None),
        ("Michael Jordan said", None),
        ("Chad Smith said", None),
        ("George Washington University", None),
        ("Latin American leaders", None),
        ("the New Mexico governor", None),
        ("let us know", None),
    ],
)
def test_country_in_knows_all_countries_and_not_common_words(text, country):
    assert speakers.country_in(text) == country


def test_roles_are_general_data_not_seed_specials():
    data = json.loads((DATA / "speakers.json").read_text(encoding="utf-8"))
    assert "about" in data
    assert "ground force" not in speakers.OFFICES
    for office in ("spokesperson", "minister", "ministry", "president", "chief executive"):
        assert office in speakers.OFFICES


# -- sides -------------------------------------------------------------------------------------


def test_a_side_is_learnt_from_the_words_leading_to_a_name_only():
    book = speakers.SideBook()
    book.learn("French President Emmanuel Macron and Michelle Obama spoke on Monday.")
    book.learn("Palestinian Ambassador to the Netherlands, Ammar Hijazi, spoke too.")
    book.learn("Fox is the network.")
    assert book.side_of("macron") == "France"
    assert book.side_of("obama") is None
    assert book.side_of("hijazi") == "Palestine"
    assert book.side_of("for") is None


def test_short_surnames_are_not_spelling_variants():
    assert speakers.same_surname("heydari", "heidari")
    assert not speakers.same_surname("fox", "for")
    assert not speakers.same_surname("amer", "amor")
    assert not speakers.same_surname("yellen", "medlen")
