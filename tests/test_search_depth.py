"""A search for k passages returns k of them where the index holds that many: each
side's candidate pool grows with k instead of staying at 50."""

import json

import pytest

from assistant import Index, IndexWriter
from assistant.query.retrieval import POOL

RIVERS = ["Danube", "Rhine", "Elbe", "Loire", "Vistula", "Oder", "Tagus", "Po", "Seine", "Meuse"]
TRADES = ["grain", "timber", "salt", "wine", "coal", "wool", "iron", "cloth", "fish", "amber"]
TOWNS = ["Ulm", "Basel", "Dresden", "Tours", "Krakow", "Wroclaw", "Toledo", "Turin"]


@pytest.fixture(scope="module")
def river_index(tmp_path_factory, fake_encoder):
    """160 one-paragraph documents, each different, all about river trade (embedded by
    the fake encoder: the depth of the search is the point, not the model)."""
    folder = tmp_path_factory.mktemp("rivers")
    corpus = folder / "corpus.jsonl"
    with open(corpus, "w") as out:
        for number in range(160):
            river = RIVERS[number % len(RIVERS)]
            trade = TRADES[number // len(RIVERS) % len(TRADES)]
            town = TOWNS[number % len(TOWNS)]
            text = (
                f"Barges on the {river} carried {trade} past {town} in the year"
                f" {1500 + number}, and the river toll there was {number + 3} coins."
            )
            record = {"_id": f"r{number}", "title": f"{river} {trade} {number}", "text": text}
            out.write(json.dumps(record) + "\n")
    IndexWriter(folder / "index", encoder=fake_encoder).build([corpus])
    index = Index(folder / "index", encoder=fake_encoder)
    yield index
    index.close()


@pytest.mark.parametrize("k", [100, 150])
def test_search_returns_k_passages_when_the_index_holds_more(river_index, k):
    assert river_index.store.manifest.passages == 160
    assert 2 * POOL < 150  # the old fixed pools (50 a side) could not reach 150
    hits = river_index.search("river trade on barges", k=k)
    assert len(hits) == k
    assert len({hit.passage.passage_id for hit in hits}) == k
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)


def test_a_small_search_keeps_the_same_hits_as_the_first_of_a_deep_one(river_index):
    """Ten hits are the best ten of the deeper search's pool as well: more candidates
    only extend the list (hybrid scores are scaled over the candidates, so the order
    may shift a little among close scores; the top hit stays)."""
    shallow = river_index.search("Barges on the Danube carried salt", k=10)
    deep = river_index.search("Barges on the Danube carried salt", k=100)
    assert shallow[0].passage.passage_id == deep[0].passage.passage_id
    assert "Danube" in shallow[0].passage.text and "salt" in shallow[0].passage.text
