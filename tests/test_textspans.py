from assistant.text.textspans import iter_blocks, iter_lines, iter_sentences


def spans_text(text, spans):
    return [text[s:e] for s, e in spans]


def test_blocks_split_on_blank_lines_and_keep_offsets():
    text = "  Title\n\nFirst para\nsecond line.\n \t\nLast one.  \n"
    assert spans_text(text, iter_blocks(text)) == ["Title", "First para\nsecond line.", "Last one."]


def test_blocks_handle_crlf_and_cr_line_endings():
    text = "One.\r\n\r\nTwo.\r\rThree."
    assert spans_text(text, iter_blocks(text)) == ["One.", "Two.", "Three."]


def test_lines_inside_a_block():
    text = "a\n  b  \n\nc"
    assert spans_text(text, iter_lines(text, 0, 7)) == ["a", "b"]


def test_sentences_respect_initials_abbreviations_and_quotes():
    text = (
        "“We would like to remind K. Heydari that Armenia was there.” Dr. Smith agreed. "
        "It cost $2b. in 2021? Yes! The U.S. said no."
    )
    assert spans_text(text, iter_sentences(text, 0, len(text))) == [
        "“We would like to remind K. Heydari that Armenia was there.”",
        "Dr. Smith agreed.",
        "It cost $2b. in 2021?",
        "Yes!",
        "The U.S. said no.",
    ]


def test_line_breaks_end_sentences():
    text = "News at a Glance\nMore News"
    assert spans_text(text, iter_sentences(text, 0, len(text))) == ["News at a Glance", "More News"]
