import pytest

from assistant.text import keywords


@pytest.mark.parametrize(
    "written", ["132-km", "132 km", "132km", "132-kilometer", "132-kilometers", "132 kilometres"]
)
def test_distances_normalise_to_one_form(written):
    assert keywords.normalize(f"a {written} stretch") == "a 132 kilometer stretch"


def test_content_terms_drop_function_words_and_keep_numbers():
    assert keywords.content_terms("What did Azerbaijan say about the 132-km border?") == [
        "azerbaijan",
        "132",
        "kilometer",
        "border",
    ]


def test_fold_removes_diacritics():
    assert keywords.normalize("Əliyev Ağdam Café") == "əliyev agdam cafe"


def test_digits_of_any_script_are_numbers():
    # Persian, Arabic-Indic and Devanagari digits meet the ASCII ones in the index.
    assert keywords.tokens("۱۳۲ km") == keywords.tokens("١٣٢-km") == ["132", "kilometer"]
    assert keywords.tokens("१३२") == ["132"]


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("heydari", "hedari", 1), ("heidari", "heydari", 1), ("karabakh", "karabkah", 1),
     ("kiomers", "kioumars", 2), ("abdollahian", "abdullahian", 1), ("iran", "iraq", 1)],
)  # fmt: skip
def test_edit_distance(a, b, distance):
    assert keywords.edit_distance(a, b) == distance


def test_deletion_keys_meet_for_close_spellings():
    a = keywords.deletion_keys("kiomers", 2)
    b = keywords.deletion_keys("kioumars", 2)
    assert a & b


def test_fts_query_quotes_terms():
    assert keywords.fts_query(['say"x', "b"]) == '"say""x" OR "b"'
    assert keywords.fts_query([]) is None


def test_frequent_title_words_count_titles_and_keep_their_spelling():
    titles = [
        "Azerbaijan to Iran: No Israelis here",
        "Iran Leader Warns About Israel In Azerbaijan",
        None,
        "Azerbaijan rejects Iran's 132km border claims",
        "The border of AZERBAIJAN, the border again",  # a word counts once a title
    ]
    assert keywords.frequent_title_words(titles) == ["Azerbaijan", "Iran", "border"]
    assert keywords.frequent_title_words(titles, count=1) == ["Azerbaijan"]
    assert keywords.frequent_title_words([None, "", "2024: of the"]) == []
