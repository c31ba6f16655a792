"""Publication dates come only from markup that states them, and are never written
into the stored text."""

from __future__ import annotations

import pytest

from assistant.ingest.sources import SourceFile, load_documents

_STORY = (
    "<p>The council met on 3 March 2019 to vote on the harbour plan, which had been"
    " debated since the storm of January 2014 flooded the old quay.</p>"
    "<p>Members approved the plan by nine votes to four, and work on the new quay is"
    " due to begin after the summer season, the harbour master told reporters.</p>"
)


def _page(tmp_path, head: str = "", article_start: str = "") -> object:
    page = tmp_path / "story.html"
    page.write_text(
        f"<html><head><title>Harbour plan approved</title>{head}</head><body>"
        f"<article>{article_start}<h1>Harbour plan approved</h1>{_STORY}</article>"
        "<footer>Copyright 2014 Example Harbour News. Updated 5 May 2021.</footer>"
        "</body></html>",
        encoding="utf-8",
    )
    return load_documents(SourceFile(str(page), page))[0]


def test_a_year_in_the_text_is_no_publication_date(tmp_path):
    document = _page(tmp_path)
    assert document.published is None
    assert "Published" not in document.text


@pytest.mark.parametrize(
    ("head", "article_start"),
    [
        ('<meta property="article:published_time" content="2020-06-01T08:00:00Z">', ""),
        ('<meta name="date" content="June 1, 2020">', ""),
        (
            '<script type="application/ld+json">{"@context": "https://schema.org", "@graph":'
            ' [{"@type": "NewsArticle", "datePublished": "2020-06-01"}]}</script>',
            "",
        ),
        ("", '<time itemprop="datePublished" datetime="2020-06-01">1 June</time>'),
        ("", '<p class="meta"><time datetime="2020-06-01T10:00">June 1</time></p>'),
        ("", '<span itemprop="datePublished" content="2020-06-01T10:15-500">June 1</span>'),
    ],
)
def test_the_date_markup_states_is_kept_as_metadata_only(tmp_path, head, article_start):
    document = _page(tmp_path, head, article_start)
    assert document.published == "2020-06-01"
    assert "Published" not in document.text
    assert "1 June 2020" not in document.text


def test_nothing_the_page_does_not_show_heads_the_text(tmp_path):
    document = _page(tmp_path, '<meta name="author" content="Ines Varga">')
    assert document.byline == "Ines Varga"
    assert "Ines Varga" not in document.text  # stated in markup, not on the page
    assert document.text.startswith("Harbour plan approved\n\n")


def test_a_byline_the_page_shows_heads_the_text_as_shown(tmp_path):
    document = _page(
        tmp_path,
        '<meta name="author" content="Ines Varga">',
        '<p class="byline">By INES VARGA</p>',
    )
    assert document.text.startswith("Harbour plan approved\n\nBy INES VARGA\n\n")


def test_a_dateline_at_the_top_of_a_text_is_its_date(tmp_path):
    story = tmp_path / "story.txt"
    story.write_text(
        "Harbour plan approved\n\nMarch 4, 2019\n\n"
        "The council met on Sunday to vote on the harbour plan, which had been debated"
        " since the storm of January 2014 flooded the old quay.\n",
        encoding="utf-8",
    )
    document = load_documents(SourceFile(str(story), story))[0]
    assert document.published == "2019-03-04"
    later = tmp_path / "later.txt"
    later.write_text(
        "Harbour plan approved\n\nThe council met on Sunday to vote on the harbour plan,"
        " which had been debated since the storm of January 2014 flooded the old quay."
        "\n\nMarch 4, 2019\n",
        encoding="utf-8",
    )
    assert load_documents(SourceFile(str(later), later))[0].published is None


def test_a_time_outside_the_article_counts_only_when_it_is_the_pages_only_one(tmp_path):
    page = tmp_path / "story.html"
    shell = (
        "<html><head><title>Harbour plan approved</title></head><body>"
        "<div class='date'>{times}</div><div><h1>Harbour plan approved</h1>{story}</div>"
        "</body></html>"
    )
    one = '<time datetime="2020-06-01T10:00">June 1</time>'
    page.write_text(shell.format(times=one, story=_STORY), encoding="utf-8")
    assert load_documents(SourceFile(str(page), page))[0].published == "2020-06-01"
    two = one + '<time datetime="2021-02-03">Feb 3</time>'
    page.write_text(shell.format(times=two, story=_STORY), encoding="utf-8")
    assert load_documents(SourceFile(str(page), page))[0].published is None
