"""Who said what on a Milvus store: the same speakers and statements as the local index
(``Index.statements`` reads through the ReadStore protocol only)."""

from __future__ import annotations

import pytest

pytest.importorskip("pymilvus")

from .test_milvus import milvus  # noqa: F401  (Milvus Lite holding the seeds)


def test_said_on_milvus_equals_the_local_index(milvus, seeds_index):  # noqa: F811
    from assistant.query.extractive import ExtractiveAnswerer
    from assistant.query.retrieval import Retriever
    from assistant.query.said import SaidFinder

    _, _, reader, _, _ = milvus
    retriever = Retriever(reader, seeds_index.retriever.encoder)
    finder = SaidFinder(ExtractiveAnswerer(reader, retriever))
    for topic, abstains in (("132-km border", False), ("the Caspian Sea fishing quotas", True)):
        local = seeds_index.statements(topic)
        assert local.abstained is abstains
        assert finder.find(topic).to_json() == local.to_json()
