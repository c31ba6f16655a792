"""Date and source filters (applied inside the search) and spelling-variant matching."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from assistant import Index, IndexWriter
from assistant.errors import UsageError
from assistant.filters import SearchFilter

from .conftest import ROOT

MEMO = "seeds/004_5c92c3c2da052747.txt"  # Middle East Monitor, 2023-04-02
IRAN_INTERNATIONAL = "seeds/001_fb11ed987d6b83fc.txt"  # 2021-10-03


def _files(hits) -> set[str]:
    return {os.path.relpath(h.passage.source, ROOT) for h in hits}


def test_dates_parse_to_whole_periods():
    assert SearchFilter.parse("2023", "2023-04") == SearchFilter("2023-01-01", "2023-04-30")
    assert SearchFilter.parse(until="2024-02") == SearchFilter(None, "2024-02-29")
    assert SearchFilter.parse(None, None, ["", "  "]) is None
    with pytest.raises(UsageError, match="dates are YYYY, YYYY-MM or YYYY-MM-DD"):
        SearchFilter.parse("April 2023")
    with pytest.raises(UsageError, match="no day 31"):
        SearchFilter.parse("2023-04-31")
    with pytest.raises(UsageError, match="is after --until"):
        SearchFilter.parse("2024", "2023")


def test_source_filter_searches_inside_the_source(seeds_index):
    question = "When did Khamenei warn about Israel's military presence?"
    unfiltered = seeds_index.search(question, k=5)
    # Filtering the results afterwards would leave nothing from this outlet ...
    assert MEMO not in _files(unfiltered)
    # ... while the filter, applied in the search, finds its best passages.
    only = SearchFilter.parse(sources=["middle east monitor"])
    hits = seeds_index.search(question, k=5, search_filter=only)
    assert len(hits) == 5 and _files(hits) == {MEMO}


def test_date_filters_keep_documents_with_known_dates_in_range(fake_seeds_index):
    question = "What did Azerbaijan say about the 132-km border?"
    recent = fake_seeds_index.search(question, k=10, search_filter=SearchFilter.parse(since="2023"))
    assert _files(recent) == {MEMO}
    older = fake_seeds_index.search(
        question, k=10, search_filter=SearchFilter.parse(until="2022-12")
    )
    assert _files(older) == {IRAN_INTERNATIONAL}
    nothing = SearchFilter.parse(since="2030")
    assert fake_seeds_index.search(question, k=5, search_filter=nothing) == []


def test_source_by_file_folder_and_glob(fake_seeds_index):
    question = "Israeli presence in Azerbaijan"
    by_file = SearchFilter.parse(sources=[str(ROOT / IRAN_INTERNATIONAL)])
    assert _files(fake_seeds_index.search(question, k=5, search_filter=by_file)) == {
        IRAN_INTERNATIONAL
    }
    by_glob = SearchFilter.parse(sources=[str(ROOT / "seeds" / "00[01]_*")])
    found = _files(fake_seeds_index.search(question, k=40, search_filter=by_glob))
    assert found == {"seeds/000_f0d5414df3fb8dd7.txt", IRAN_INTERNATIONAL}
    by_folder = SearchFilter.parse(sources=[str(ROOT / "seeds") + "/"])
    every = fake_seeds_index.search(question, k=20)
    assert fake_seeds_index.search(question, k=20, search_filter=by_folder) == every
    elsewhere = SearchFilter.parse(sources=[str(ROOT / "see")])  # a prefix, not a folder
    assert fake_seeds_index.search(question, k=20, search_filter=elsewhere) == []


def test_ask_with_a_filter_cites_only_allowed_documents(seeds_index):
    question = "What did Azerbaijan say about the 132-km border?"
    atlas = SearchFilter.parse(sources=["Atlas News"])
    answer = seeds_index.ask(question, search_filter=atlas)
    assert not answer.abstained
    assert {c.document.outlet for c in answer.citations} == {"Atlas News"}
    assert any("132-kilometer" in c.passage.text for c in answer.citations)


def test_vector_search_restriction_works_on_ivf_indexes():
    import faiss

    from assistant.storage.local import Restriction

    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((2000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ivf = faiss.index_factory(16, "IVF8,SQ8", faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add(vectors)
    ivf.nprobe = 8
    allowed = np.arange(0, 2000, 7, dtype=np.int64)
    _selector, params = Restriction("1", [], allowed).search_parameters(ivf)
    _, rows = ivf.search(vectors[:5], 20, params=params)
    assert set(rows.ravel()) <= set(allowed.tolist())
    assert (rows >= 0).all()


def test_cli_filters(cli, seeds_index_dir):
    def run(*args):
        return cli(*args, "--index", seeds_index_dir)

    result = run("search", "132-km border", "--source", "Middle East Monitor", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["filter"] == {
        "since": None,
        "until": None,
        "sources": ["Middle East Monitor"],
        "languages": [],
    }
    assert {r["source"].endswith(MEMO.split("/")[1]) for r in data["results"]} == {True}

    empty = run("search", "132-km border", "--since", "2030")
    assert (empty.exit_code, empty.stdout) == (0, "No passages found since 2030-01-01.\n")

    bad = run("ask", "132-km border", "--until", "yesterday")
    assert bad.exit_code == 2
    assert bad.stderr == "error: dates are YYYY, YYYY-MM or YYYY-MM-DD, not 'yesterday'\n"


# -- spelling variants ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "written"),
    [
        ("Heydari", "Heydari"),
        ("Heidari", "Heydari"),
        ("Hedari", "Heydari"),
        ("Kioumars", "Kiomers"),
        ("Kiomers", "Kioumars"),
        ("Karabkah", "Karabakh"),
        ("Karabakh", "Karabkah"),
        ("Abdullahian", "Abdollahian"),
    ],
)
def test_name_variants_find_the_same_passages(seeds_index, asked, written):
    hits = seeds_index.search(f"What did {asked} say?", k=10)
    assert any(written in h.passage.text for h in hits), [h.passage.text[:60] for h in hits]


def test_words_that_differ_in_their_first_letters_are_not_variants(tmp_path, fake_encoder):
    # Typos and transliterations differ inside a name; "Desmond" and "Diamond" are two
    # words, and searching both would put Diamond-Blackfan papers under a DESMOND query.
    (tmp_path / "a.txt").write_text(
        "The DESMOND programme was run by Dr Hedari.\n\n"
        "Diamond Blackfan anaemia was studied by Dr Heydari and Dr Bullard.\n"
    )
    IndexWriter(tmp_path / "index", encoder=fake_encoder).build([str(tmp_path / "a.txt")])
    with Index(tmp_path / "index", encoder=fake_encoder) as index:
        assert index.store.name_variants("desmond") == []
        assert index.store.name_variants("hedari") == ["heydari"]
        assert index.store.name_variants("dullard") == []


@pytest.mark.parametrize(
    "form", ["132-km", "132 km", "132-kilometer", "132 kilometres", "132-kilometre", "132km"]
)
def test_distance_forms_find_the_132_km_passages(seeds_index, form):
    answer = seeds_index.ask(f"What did Azerbaijan say about the {form} border?")
    assert not answer.abstained
    assert "132-kilomet" in answer.citations[0].passage.text
