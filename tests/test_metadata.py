import pytest

from assistant.ingest.metadata import parse_byline, parse_date
from assistant.ingest.sources import SourceDocument, find_source_files, load_documents

from .conftest import SEEDS


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("April 2, 2023 at 9:24 am", "2023-04-02"),
        ("Sunday, 10/03/2021", "2021-10-03"),
        ("October 3, 2021", "2021-10-03"),
        ("3 October 2021", "2021-10-03"),
        ("Published: Sept. 14, 2022", "2022-09-14"),
        ("2023-04-02T09:24:00Z", "2023-04-02"),
        ("Iran's Supreme Leader Ali Khamenei speaking on October 3, 2021", None),
        ("February 30, 2021", "2021-02-30"),  # shape only; days are not calendar-checked
        ("13/13/2021", None),
    ],
)
def test_parse_date(text, iso):
    assert parse_date(text) == iso


def test_parse_byline():
    assert parse_byline("By Lauren Marcus, World Israel News") == (
        "Lauren Marcus",
        "World Israel News",
    )
    assert parse_byline("By: Alia Karim") == ("Alia Karim", None)
    assert parse_byline("Bypass the border") is None


def seed_documents():
    return {f.path.name[:3]: load_documents(f)[0] for f in find_source_files([str(SEEDS)])}


def test_seed_metadata_from_text():
    docs = seed_documents()
    expected = {
        "000": (
            "Azerbaijan to Iran: No Israelis here, back off",
            "World Israel News",
            "Lauren Marcus",
            None,
        ),
        "001": (
            "Iran Leader Warns About 'Military Presence' Of Israel In Azerbaijan",
            "Iran International",
            "Maryam Sinaiee",
            "2021-10-03",
        ),
        "002": (
            "Tensions Rise as Iranian General Accuses Azerbaijan of Having “Zionist Elements”"
            " in the Country, Azerbaijan Calls Claims “Slanderous”",
            "Atlas News",
            None,
            None,
        ),
        "003": (None, "Alma Center", "Alia Karim", None),
        "004": (
            "Azerbaijan rejects Iran commander accusation of hosting Zionist, Daesh forces"
            " during Karabakh war",
            "Middle East Monitor",
            None,
            "2023-04-02",
        ),
    }
    for key, (title, outlet, byline, published) in expected.items():
        doc = docs[key]
        assert (doc.title, doc.outlet, doc.byline, doc.published) == (
            title,
            outlet,
            byline,
            published,
        )


def test_caption_is_not_taken_for_the_headline():
    doc = SourceDocument(
        doc_id="x",
        source="x",
        text="Leader speaking on October 3, 2021\n\nThe Real Headline Here\n\n"
        "This is the body of the story and it goes on for quite a while, as bodies do.",
    )
    from assistant.ingest.metadata import annotate

    annotate(doc)
    assert doc.title == "The Real Headline Here"
