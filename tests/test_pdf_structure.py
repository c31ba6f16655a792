"""PDF headings and tables of contents: a heading titles the passage after it and is
never one of its sentences; contents lines are marked and never cited. The PDFs are
written in the test (standard Helvetica fonts, one text object per line)."""

from __future__ import annotations

from pathlib import Path

from assistant.ingest.chunks import split_document
from assistant.ingest.sources import SourceFile, load_documents

REGULAR, BOLD = 11, 11  # sizes; bold is the third item of a line


def make_typed_pdf(pages: list[list[tuple[str, float, bool]]]) -> bytes:
    """A PDF whose lines are (text, size, bold), set in Helvetica or Helvetica-Bold."""
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>",
    ]
    kids = []
    for lines in pages:
        commands, y = [], 760.0
        for text, size, bold in lines:
            shown = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            y -= size * 1.5
            font = "F2" if bold else "F1"
            commands.append(f"BT /{font} {size} Tf 72 {y:.1f} Td ({shown}) Tj ET")
        stream = "\n".join(commands)
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {len(objects)} 0 R"
            " /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>"
        )
        kids.append(len(objects))
    objects[1] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def _body(*lines: str) -> list[tuple[str, float, bool]]:
    return [(line, REGULAR, False) for line in lines]


CONTENTS_PAGE = [
    ("Contents", 18, True),
    *_body(
        "1 Getting started ........................................ 2",
        "1.1 Installing the tool . . . . . . . . . . . . . . . . . . . 2",
        "1.2 Requirements ......................................... 3",
    ),
]
CHAPTER_PAGE = [
    ("1 Getting started", 18, True),
    *_body(
        "This guide shows how to install the tool on a workstation and how to run",
        "its first job against a small sample of the data.",
    ),
    ("1.1 Installing the tool", 14, True),
    *_body(
        "The installer copies the program into the folder you choose and writes a",
        "configuration file with safe defaults for a single user.",
    ),
    ("Requirements", BOLD, True),
    *_body(
        "The tool needs four gigabytes of memory and a recent operating system to",
        "run the larger jobs without swapping.",
    ),
]


def _load(tmp_path: Path, pages) -> object:
    path = tmp_path / "guide.pdf"
    path.write_bytes(make_typed_pdf(pages))
    return load_documents(SourceFile(str(path), path))[0]


def _sentences(document, chunks) -> list[str]:
    return [document.text[s:e] for chunk in chunks for s, e in chunk.sentences]


def test_headings_are_known_by_their_type_and_title_the_passage_after_them(tmp_path):
    document = _load(tmp_path, [CHAPTER_PAGE])
    assert [document.text[s:e] for s, e in document.headings] == [
        "1 Getting started",
        "1.1 Installing the tool",
        "Requirements",
    ]
    chunks = [chunk for chunk in split_document(document) if not chunk.is_boilerplate]
    installing = next(chunk for chunk in chunks if "installer copies" in chunk.text)
    assert installing.text.startswith("1.1 Installing the tool\nThe installer copies")
    assert _sentences(document, [installing]) == [
        "The installer copies the program into the folder you choose and writes a"
        " configuration file with safe defaults for a single user."
    ]
    for heading in ("1 Getting started", "1.1 Installing the tool", "Requirements"):
        assert not any(heading in sentence for sentence in _sentences(document, chunks))


def test_table_of_contents_lines_are_marked_and_never_cited(tmp_path):
    document = _load(tmp_path, [CONTENTS_PAGE, CHAPTER_PAGE])
    contents = [document.text[s:e] for s, e in document.contents]
    assert contents == [
        "1 Getting started ........................................ 2\n"
        "1.1 Installing the tool . . . . . . . . . . . . . . . . . . . 2\n"
        "1.2 Requirements ......................................... 3"
    ]
    chunks = split_document(document)
    toc = [chunk for chunk in chunks if "...... 3" in chunk.text]
    assert toc and all(chunk.is_boilerplate for chunk in toc)
    assert toc[0].text.startswith("Contents\n")  # its heading titles it
    # The contents lines are no headings, though they name the chapters.
    assert document.text[slice(*document.headings[1])] == "1 Getting started"


def test_numbered_headings_are_known_in_a_file_of_one_type(tmp_path):
    page = _body(
        "The installer copies the program into the folder you choose and writes a",
        "configuration file with safe defaults for a single user.",
        "2.3 Running the First Job",
        "Start the tool from the folder it was installed in and give it the name of",
        "the sample file.",
        "3 apples were counted in the sample, which is fewer than expected.",
    )
    document = _load(tmp_path, [page])
    assert [document.text[s:e] for s, e in document.headings] == ["2.3 Running the First Job"]
    chunks = split_document(document)
    running = next(chunk for chunk in chunks if "Start the tool" in chunk.text)
    assert running.text.startswith("2.3 Running the First Job\nStart the tool")
