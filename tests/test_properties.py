"""Property tests: offsets always reproduce the text; loaders never crash on any bytes."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.ingest.chunks import approximate_token_count, split_document
from assistant.ingest.sources import SourceDocument, SourceFile, UnreadableSource, load_documents
from assistant.text.textspans import iter_blocks, iter_sentences

# Text built from pieces that stress the splitter: blank lines of every kind, quotes,
# abbreviations, initials, dates and bylines, mixed with arbitrary Unicode.
pieces = st.sampled_from(
    ["\n", "\n\n", "\r\n\r\n", "\r", " \t\n \n", "By Jane Doe, Wire", "April 2, 2023",
     "K. Heydari", "Dr. Who.", "“Quote.”", "...", "…", "READ: more", "More News", "A. ", "?! "]
)  # fmt: skip
texts = st.lists(st.one_of(st.text(max_size=40), pieces), max_size=40).map("".join)
slow_ok = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@slow_ok
@given(texts)
def test_passage_offsets_reproduce_the_text(text):
    document = SourceDocument(doc_id="d", source="d", text=text)
    from assistant.ingest.metadata import annotate

    annotate(document)
    for chunk in split_document(document, approximate_token_count, max_tokens=20):
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        for start, end in chunk.sentences:
            assert chunk.start <= start < end <= chunk.end


@slow_ok
@given(texts)
def test_blocks_and_sentences_are_ordered_and_disjoint(text):
    previous_end = 0
    for start, end in iter_blocks(text):
        assert previous_end <= start < end
        sentence_end = start
        for s, e in iter_sentences(text, start, end):
            assert sentence_end <= s < e <= end
            sentence_end = e
        previous_end = end


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from([".txt", ".md", ".html", ".jsonl"]))
def test_loaders_never_crash_on_arbitrary_bytes(tmp_path_factory, data, suffix):
    path = Path(tmp_path_factory.mktemp("bytes")) / f"file{suffix}"
    path.write_bytes(data)
    try:
        documents = load_documents(SourceFile(source=str(path), path=path))
    except UnreadableSource:
        return
    for document in documents:
        assert isinstance(document.text, str)
