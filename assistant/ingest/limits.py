"""How much one source may make the indexer read, unpack and hold: the limits of
reading, in one place.

A source over a limit is skipped with one line naming the limit (``skipped: FILE
(reason)``); the rest of the write goes on. Every limit is enforced while the bytes
stream in, never by trusting what a file or a server declares: a zip member's stated
size and a response's ``Content-Length`` are only early refusals, and the count of
what was actually unpacked or decoded decides. The size of a whole file on disk is
bounded before it is read (``MAX_FILE_BYTES`` in :mod:`assistant.indexing.plan`).
"""

from __future__ import annotations

MIB = 1024 * 1024


def size_text(count: int) -> str:
    """A byte count as a limit's line says it: "16 MiB", "8.5 MiB", "256 KiB"."""
    if count >= MIB:
        return f"{count / MIB:.1f}".removesuffix(".0") + " MiB"
    return f"{count / 1024:.0f} KiB" if count >= 1024 else f"{count} bytes"


# -- archives (DOCX, EPUB): zip files ---------------------------------------------------
# One member unpacked (a chapter, word/document.xml): a real book's chapter or a long
# report's body is a few MiB of markup; more is a zip bomb, not a document. Parsing a
# member costs about 20 times its size (python-docx over a 31 MiB document.xml peaked
# at 638 MiB), so this keeps the worst member near 300 MiB.
MAX_MEMBER_BYTES = 16 * MIB
# All the members of one archive unpacked together (a DOCX's parts are all checked).
MAX_ARCHIVE_BYTES = 64 * MIB
# Members listed in one archive: each costs memory when the zip's directory is read.
MAX_ARCHIVE_MEMBERS = 10_000
# Bytes inflated per step while unpacking: what one step may hold at most.
INFLATE_CHUNK_BYTES = 64 * 1024

# -- extracted text ----------------------------------------------------------------------
# Characters of text one DOCX, EPUB or PDF may give, whose text can outgrow the file
# (text files are bounded by their size): twice the King James Bible (4.3 M). Reading
# stops at the limit and the file is skipped, saying so. Memory in a write grows with
# the passages: 14 M characters of one-line paragraphs peaked at 938 MiB.
MAX_TEXT_CHARS = 8 * MIB

# -- web pages and feeds -----------------------------------------------------------------
# A news page is well under a megabyte of HTML; far more is not an article. The limit
# counts the body after its Content-Encoding is undone, as it is decoded.
MAX_PAGE_BYTES = 8 * MIB
# Content-Encodings a page may come in (one of them; stacked encodings are refused).
ACCEPTED_ENCODINGS = ("gzip", "x-gzip", "deflate")
# Entries of one feed fetched by one write (add or update); the others wait for the
# next update. A feed of 100,000 entries is not 100,000 requests.
DEFAULT_FEED_LIMIT = 500

# -- token counting ----------------------------------------------------------------------
# Characters handed to the tokenizer at once: a huge paragraph is counted a window at
# a time (ending at whitespace, which no word piece crosses), never encoded whole.
TOKEN_WINDOW_CHARS = 16 * 1024
