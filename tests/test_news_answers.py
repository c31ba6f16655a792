"""Answers on real news pages (news-dev, beside the checkout in ../shared): each case is
a failure seen on those pages before the fitted answerer. The pages stay in ../shared
(publishers' text): these tests read them from there and skip when they are absent.
"""

from __future__ import annotations

import pytest

from .conftest import SHARED

pytestmark = pytest.mark.model

PAGES = SHARED / "benchmarks" / "news-dev" / "pages"
USED = [
    "fundus-us-Reuters_2023_05_16.html",
    "postlight-sciencefly.com.html",
    "postlight-nymag.com.html",
    "postlight-www.npr.org.html",
    "fundus-au-WestAustralian_2024_11_26.html",
    "postlight-www.americanow.com.html",
    "fundus-ls-LesothoTimes_2025_11_24.html",
    "fundus-mx-MexicoNewsDaily_2025_04_16.html",
    "fundus-ca-CBCNews_2024_08_08.html",
    "fundus-uk-TheTelegraph_2024_09_17.html",
    "fundus-my-MalayMail_2024_11_22.html",
    "fundus-uk-TheGuardian_2024_02_24.html",
    "fundus-ca-FinancialPost_2026_06_06.html",
    "fundus-uk-iNews_2025_01_28.html",
]


@pytest.fixture(scope="module")
def news_index(tmp_path_factory):
    if not all((PAGES / name).is_file() for name in USED):
        pytest.skip(f"{PAGES} is not beside the checkout")
    from assistant import Index, IndexWriter

    target = tmp_path_factory.mktemp("news")
    IndexWriter(target).build([str(PAGES / name) for name in USED])
    index = Index(target)
    yield index
    index.close()


def _first(answer):
    assert not answer.abstained, answer.text
    return answer.citations[0]


def test_who_wrote_the_report_is_answered_from_the_byline(news_index):
    answer = news_index.ask(
        "Who wrote the Reuters report about Nepal disputing the flydubai bird strike account?"
    )
    first = _first(answer)
    assert first.passage.is_head
    assert first.quote_text == "By Gopal Sharma"
    # The citation's offsets hold in the document text, like any other.
    text = news_index.store.document_text(first.passage.doc_id)
    assert text[first.passage.start : first.passage.end] == "By Gopal Sharma"


def test_which_agency_filed_is_answered_from_the_dateline(news_index):
    answer = news_index.ask("Which news agency filed the report about a false killer whale?")
    assert "(UPI)" in _first(answer).passage.text


def test_a_word_present_as_a_close_form_is_not_missing(news_index):
    # "birth" against "was born": the question's word is held by meaning.
    answer = news_index.ask("Where was Roger Ailes's birth?")
    assert "was born in May 1940" in _first(answer).passage.text


def test_the_quotation_is_cited_not_the_paragraph_that_introduces_the_speaker(news_index):
    # The narrative paragraph says Trump named Conway; the next one holds his words,
    # given to "the president-elect".
    first = _first(news_index.ask("How did Trump describe Kellyanne Conway when he named her?"))
    assert "a tireless and tenacious advocate of my agenda" in first.passage.text
    first = _first(
        news_index.ask(
            "What did Chief Hlajoane say when asked whether he takes bribes from the Chinese"
            " mine operator?"
        )
    )
    assert "I like money and will not refuse it" in first.passage.text
    assert "Hlajoane" in first.speaker


def test_an_entity_present_with_its_fact_absent_is_refused(news_index):
    # Ebrard is in the pages (Mexico's economy minister); where he studied is not.
    answer = news_index.ask("Which university did Marcelo Ebrard study at?")
    assert answer.abstained
    assert "Ebrard" not in answer.reason  # refused on the evidence, not for a missing name


def test_a_person_who_never_speaks_in_the_sources_is_not_quoted(news_index):
    # Sinwar is named in many paragraphs of the CBC page; he is quoted in none.
    answer = news_index.ask(
        "What did Yahya Sinwar himself say after being named head of Hamas's political bureau?"
    )
    assert answer.abstained
    assert answer.reason == "the sources never quote Yahya Sinwar himself"
    # Someone who does speak there is quoted.
    first = _first(news_index.ask("According to Levitt, what did Sinwar learn in jail?"))
    assert "Levitt" in first.speaker


def test_headings_are_never_the_answer(news_index):
    for question in (
        "What did Starmer say about MPs and gifts when asked about Lord Alli?",
        "How did Chris Bowen describe Australia's 43% emissions target?",
        "Who wrote the Reuters report about Nepal disputing the flydubai bird strike account?",
    ):
        for citation in news_index.ask(question).citations:
            if not citation.passage.is_head:
                assert citation.passage.text.rstrip()[-1:] in '.!?:"”’)', citation.passage.text


def test_the_document_date_counts_as_its_text(news_index):
    # The Reuters page's date is in its metadata (April 2023), not in any paragraph.
    answer = news_index.ask("What did Nepal's civil aviation authority say in April 2023?")
    assert not answer.abstained or "never mention" not in (answer.reason or "")


def test_a_role_asked_about_finds_the_person_who_holds_it(news_index):
    # "Valencia's mayor, María José Catalá, said …": before, the speaker was only her
    # name and a government delegate "in Valencia" was cited first.
    first = _first(news_index.ask("What did Valencia's mayor say about what caused the fire?"))
    assert "the cause was still unknown" in first.passage.text
    # "TD Economics' senior economist": before, "Economics" was taken for a surname and
    # Capital Economics' economist was quoted first.
    first = _first(
        news_index.ask("How did TD Economics' senior economist describe Canada's May jobs report?")
    )
    assert "No bones about it, this is a solid report" in first.passage.text


def test_a_quotation_over_several_paragraphs_keeps_its_speaker(news_index):
    # The lecturer's quotation opens in one paragraph and goes on, unattributed, in the
    # next two; the one that says what she fears is hers.
    first = _first(
        news_index.ask(
            "What did the Nottingham lecturer who joined the Just Stop Oil protest say she fears?"
        )
    )
    assert "I am scared for my children" in first.passage.text
    assert "Walsh" in first.speaker
