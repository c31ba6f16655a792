from assistant.embeddings import count_tokens
from assistant.ingest.chunks import MAX_TOKENS, split_document
from assistant.ingest.sources import SourceDocument, find_source_files, load_documents

from .conftest import SEEDS

FURNITURE = [
    "Sign up for our Newsletter",
    "Print Friendly, PDF & Email",
    "More News",
    "Skip to content",
    "Creating new perspectives since 2009",
    "READ: Azerbaijan arrests 39",
    "Houthis Warn of Impending Response",
    "Emerson Curipallo",
    "Vaak Stage Festival",
    "Send your Videos and Photos to us",
    "Guest writer",
]


def seed_chunks():
    for file in find_source_files([str(SEEDS)]):
        for doc in load_documents(file):
            yield doc, split_document(doc, count_tokens)


def test_offsets_reproduce_the_source_text_exactly():
    for doc, chunks in seed_chunks():
        raw = (SEEDS / doc.source.split("/")[-1]).read_bytes().decode("utf-8")
        assert doc.text == raw
        for chunk in chunks:
            assert raw[chunk.start : chunk.end] == chunk.text
            for start, end in chunk.sentences:
                assert chunk.start <= start < end <= chunk.end


def test_headline_byline_and_date_lines_are_head_passages_not_body():
    chunks = [c for _, document_chunks in seed_chunks() for c in document_chunks]
    body = [c.text for c in chunks if not c.is_head]
    heads = [c.text for c in chunks if c.is_head]
    for meta in [
        "By Lauren Marcus, World Israel News",
        "April 2, 2023 at 9:24 am",
        "By: Alia Karim",
        "Sunday, 10/03/2021",
        "Azerbaijan to Iran: No Israelis here, back off",
    ]:
        assert not any(meta in t for t in body), meta
        assert meta in heads, meta
    # Head lines are never embedded or cited as an answer's evidence.
    assert all(c.is_boilerplate for c in chunks if c.is_head)


def test_boilerplate_is_flagged_and_real_paragraphs_are_not():
    citable = [c.text for _, chunks in seed_chunks() for c in chunks if not c.is_boilerplate]
    flagged = [c.text for _, chunks in seed_chunks() for c in chunks if c.is_boilerplate]
    for furniture in FURNITURE:
        assert not any(furniture in t for t in citable), furniture
        assert any(furniture in t for t in flagged), furniture
    # Captions and author bios are content: questions are asked about them.
    assert any("Agdam district" in t for t in citable)
    assert any("research and development intern at the Alma center" in t for t in citable)


def test_a_long_paragraph_cut_off_with_an_ellipsis_is_content_not_a_teaser():
    # A blurb of another story ends in "..."; so does an abstract or excerpt cut short,
    # and that one must stay citable (SciFact has 38 such abstracts).
    cut_abstract = (
        "Mean age (range) was 14.7 (13.4-15.7) years and the short pupils were bullied "
        "more often than their classmates of average height in every school year. " * 4
    ).strip() + " Mean height SD scores were: short pupils \u22121.90 (\u22123.53 to \u2026"
    teaser = "Over the past 24 hours, the Houthis warned of an impending response to..."
    text = f"Title line\n\nA first real sentence here.\n\n{cut_abstract}\n\n{teaser}\n"
    doc = SourceDocument(doc_id="cut", source="cut", text=text, detect_metadata=False)
    flags = {c.text[:20]: c.is_boilerplate for c in split_document(doc, count_tokens)}
    assert flags[cut_abstract[:20]] is False
    assert flags[teaser[:20]] is True


def test_paragraph_numbers_count_blocks_in_the_file():
    chunks = next(c for d, c in seed_chunks() if d.source.endswith("004_5c92c3c2da052747.txt"))
    by_number = {c.paragraph: c.text for c in chunks}
    assert by_number[4].startswith("Azerbaijani Army enter Agdam district")


def test_long_paragraph_is_split_on_sentences_within_the_window():
    sentence = "The ministry said the border stretch of 132 kilometers was occupied for years. "
    body = sentence * 60
    doc = SourceDocument(
        doc_id="long", source="long", text="Short first.\n\n" + body, detect_metadata=False
    )
    chunks = split_document(doc, count_tokens)
    assert len(chunks) > 2
    for chunk in chunks[1:]:
        assert count_tokens(chunk.text) <= MAX_TOKENS
        assert chunk.text.endswith("years.")
        assert doc.text[chunk.start : chunk.end] == chunk.text
    assert chunks[-1].end == len(doc.text.rstrip())


def test_a_single_endless_sentence_is_cut_between_words():
    doc = SourceDocument(doc_id="x", source="x", text="word " * 2000, detect_metadata=False)
    chunks = split_document(doc, count_tokens)
    assert all(count_tokens(c.text) <= MAX_TOKENS for c in chunks)
    assert sum(len(c.text.split()) for c in chunks) == 2000
