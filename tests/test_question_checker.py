"""bench/check_questions.py: what makes a benchmark question line fail its check."""

from __future__ import annotations

from bench.check_questions import field_problems, gold_problems, page_problems

PAGES = {
    "page-a": {
        "byline": "Jane Doe",
        "passages": ["The minister said “we will never surrender” on Monday."],
    },
    "page-b": {"byline": "", "passages": ["Another page: we will never surrender, he said."]},
}


def question(**fields) -> dict:
    item = {
        "q": "What did the minister say?",
        "gold": ["“we will never surrender” on Monday"],
        "abstain": False,
        "id": "page-a",
        "kind": "said",
        "answer_type": "free",
    }
    item.update(fields)
    return item


def test_a_verbatim_gold_in_its_page_passes():
    item = question()
    assert field_problems(item, require_type=True) == []
    assert gold_problems(item, PAGES) == ([], [])


def test_straight_quotes_do_not_match_the_pages_curly_ones():
    problems, _ = gold_problems(question(gold=['"we will never surrender" on Monday']), PAGES)
    assert problems and "no non-boilerplate passage" in problems[0]


def test_a_gold_string_also_in_another_page_is_noted_not_failed():
    problems, notes = gold_problems(question(gold=["we will never surrender"]), PAGES)
    assert problems == []
    assert notes == ["gold 'we will never surrender' is also in 1 other page(s): ['page-b']"]


def test_gold_strings_outside_3_to_12_words_fail_except_short_names():
    problems, _ = gold_problems(question(gold=["never surrender"]), PAGES)
    assert problems == ["gold 'never surrender' has 2 words (wants 3-12)"]
    named = question(kind="byline", gold=["Jane Doe"])
    assert gold_problems(named, PAGES) == ([], [])


def test_byline_golds_may_match_the_metadata_byline_only_for_byline_questions():
    assert gold_problems(question(kind="byline", gold=["Jane Doe"]), PAGES) == ([], [])
    problems, _ = gold_problems(question(kind="said", gold=["Jane Doe"]), PAGES)
    assert any("no non-boilerplate passage" in p for p in problems)


def test_abstain_must_agree_with_kind_and_have_no_gold():
    assert field_problems(question(kind="abstain-present", abstain=True, gold=[]), True) == []
    assert "an abstain question has gold strings" in field_problems(
        question(kind="abstain-present", abstain=True), True
    )
    assert "abstain does not agree with the kind" in field_problems(question(abstain=True), True)


def test_a_missing_abstain_means_answerable_as_the_scorer_reads_it():
    item = question()
    del item["abstain"]
    assert field_problems(item, require_type=False) == []


def test_answer_type_is_required_only_when_asked():
    item = question(answer_type="colour")
    assert field_problems(item, require_type=False) == []
    assert any("answer_type" in p for p in field_problems(item, require_type=True))


def test_a_question_about_a_page_must_name_one_of_the_index():
    assert page_problems(question(id="page-z"), PAGES) == ["page 'page-z' is not in the index"]
    absent = question(kind="abstain-absent", abstain=True, gold=[], id=None)
    assert page_problems(absent, PAGES) == []
    assert field_problems(absent, True) == []
