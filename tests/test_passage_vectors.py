"""Sentence vectors pooled from their passage's token states (one model pass), the
fallback for sentences the model's window cuts off, and the choice between pooled and
separately embedded sentence vectors."""

import numpy as np
import pytest

from assistant import embeddings, passage_vectors
from assistant.errors import UsageError

from .fakes import FakeEncoder


def spans_of(text: str, *sentences: str) -> list[tuple[int, int]]:
    return [(text.index(s), text.index(s) + len(s)) for s in sentences]


def test_token_spans_find_each_sentences_word_pieces():
    tokenizer = embeddings._tokenizer()
    text = "Harbour plan. The council approved it on Tuesday."
    spans = spans_of(text, "Harbour plan.", "The council approved it on Tuesday.")
    (item,) = passage_vectors.tokenise(tokenizer, [text], [spans])
    pieces = tokenizer.encode(text).tokens
    first, second = item.sentences
    assert pieces[first[0] : first[1]] == ["harbour", "plan", "."]
    assert pieces[second[0] : second[1]][0] == "the" and pieces[second[1]] == "[SEP]"


def test_a_sentence_the_window_cuts_has_no_token_span():
    tokenizer = embeddings._tokenizer()
    early = "A short opening sentence."
    text = early + " " + "word " * 400 + "The last sentence."
    spans = spans_of(text, early, "The last sentence.")
    (item,) = passage_vectors.tokenise(tokenizer, [text], [spans])
    assert len(item.ids) == embeddings.MAX_SEQ_LENGTH
    assert item.sentences[0] is not None and item.sentences[1] is None


def test_span_pooling_is_the_mean_of_the_span_normalised():
    hidden = np.random.default_rng(1).normal(size=(2, 6, 4)).astype(np.float32)
    pooled = passage_vectors.span_pooled(hidden, np.array([0, 1]), np.array([[1, 3], [2, 6]]))
    expected = np.stack([hidden[0, 1:3].mean(axis=0), hidden[1, 2:6].mean(axis=0)])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(pooled, expected, atol=1e-6)


def test_other_encoders_embed_each_sentence_on_its_own(monkeypatch):
    monkeypatch.setenv(embeddings.SENTENCE_VARIABLE, "pooled")
    encoder = FakeEncoder()
    texts = ["Title. First sentence here. Second one.", "Alone."]
    spans = [spans_of(texts[0], "First sentence here.", "Second one."), [(0, 6)]]
    vectors, sentences = embeddings.encode_passages(encoder, texts, spans)
    assert np.array_equal(vectors, encoder.encode(texts))
    assert [len(own) for own in sentences] == [2, 1]
    assert np.array_equal(sentences[0], encoder.encode(["First sentence here.", "Second one."]))


def test_the_sentence_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(embeddings.SENTENCE_VARIABLE, raising=False)
    assert embeddings.sentence_mode() == "separate"
    monkeypatch.setenv(embeddings.SENTENCE_VARIABLE, "Pooled")
    assert embeddings.sentence_mode() == "pooled"
    monkeypatch.setenv(embeddings.SENTENCE_VARIABLE, "lazy")
    with pytest.raises(UsageError, match="lazy"):
        embeddings.sentence_mode()


@pytest.mark.model
def test_pooled_sentence_vectors_come_from_the_passage_pass(monkeypatch):
    """One model run a batch: each sentence's vector is the mean of its word pieces'
    states in the passage; a sentence past the window is embedded on its own."""
    monkeypatch.setenv(embeddings.SENTENCE_VARIABLE, "pooled")
    encoder = embeddings.OnnxEncoder(threads=2, precision="fp32")
    short = "Azerbaijan protests. The ministry said the border talks would resume in May."
    long = "Opening words of a long passage. " + "filler " * 300 + "The closing sentence."
    texts = [short, long]
    spans = [
        spans_of(short, "Azerbaijan protests.", "The ministry said the border talks would"),
        spans_of(long, "Opening words of a long passage.", "The closing sentence."),
    ]
    runs = []
    real_run = encoder.run

    def counting(ids, mask):
        runs.append(ids.shape)
        return real_run(ids, mask)

    monkeypatch.setattr(encoder, "run", counting)
    vectors, sentences = embeddings.encode_passages(encoder, texts, spans)
    assert len(runs) == 2  # the passages' batch, then the one sentence cut off
    assert np.allclose(vectors, encoder.encode(texts), atol=1e-5)
    every = np.concatenate(sentences)
    assert every.shape == (4, embeddings.DIMENSION)
    assert np.allclose(np.linalg.norm(every, axis=1), 1.0, atol=1e-5)
    # Past the window: exactly the sentence embedded alone.
    alone = encoder.encode(["The closing sentence."])[0]
    assert float(sentences[1][1] @ alone) >= 0.9999
    # Inside it: the passage's token states over the sentence's word pieces.
    (item,) = passage_vectors.tokenise(encoder.tokenizer, [short], [spans[0]])
    hidden = real_run(item.ids[None], np.ones_like(item.ids)[None])[0]
    first, end = item.sentences[1]
    manual = hidden[first:end].mean(axis=0)
    assert float(sentences[0][1] @ (manual / np.linalg.norm(manual))) >= 0.9999
    # Close in meaning to the sentence embedded alone, not the same vector.
    separate = encoder.encode([short[slice(*spans[0][1])]])[0]
    assert 0.5 <= float(sentences[0][1] @ separate) < 0.999
