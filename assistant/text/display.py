"""Making document text safe to print: it is shown, never interpreted.

Control characters (ANSI escapes, OSC hyperlinks, carriage returns, backspaces) and
bidirectional overrides are replaced by visible ``\\x1b``-style escapes, so a
document cannot move the cursor, recolour or retitle the terminal, or reorder text.
Characters that print as nothing (line and paragraph separators, zero-width
characters, Unicode tags) are shown the same way, so hidden text cannot pass unseen.

What is copied to the clipboard is cleaned differently (:func:`paste_safe`): there
the characters are removed, since an escape written out would change the quote.
"""

from __future__ import annotations

import re
import unicodedata

# Bidi embeddings, overrides and isolates reorder what follows them.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Print as nothing, or as a line break inside one line: line and paragraph separators,
# zero-width space, non-joiner, joiner, word joiner and byte-order mark. Tag characters
# (U+E0000-U+E007F) are invisible copies of ASCII that can smuggle a hidden message.
_INVISIBLE = set("\u2028\u2029\u200b\u200c\u200d\u2060\ufeff")
_TAGS = range(0xE0000, 0xE0080)
# What json.dumps leaves raw but a terminal may act on or hide: DEL, C1 controls, bidi
# controls and the invisible characters above (a tag is written as a surrogate pair).
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f" + "".join(sorted(_BIDI_CONTROLS | _INVISIBLE)) + "\U000e0000-\U000e007f]"
)


def _shown_as_escape(ch: str) -> bool:
    return (
        ch in _BIDI_CONTROLS
        or ch in _INVISIBLE
        or ord(ch) in _TAGS
        or unicodedata.category(ch) in ("Cc", "Cs")
    )


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


# A line break (or a PDF's page break) with the spaces around it.
_LINE_BREAKS = re.compile(r"[^\S\r\n\f]*[\r\n\f]\s*")


def flowed(text: str) -> str:
    """A passage as a reader reads it: the line breaks of hard-wrapped text are spaces.

    For display only; offsets and quotes keep the text as it is.
    """
    return _LINE_BREAKS.sub(" ", text)


def inert(text: str, keep_newlines: bool = True) -> str:
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch == "\f" and keep_newlines:
            out.append("\n")  # a page break (PDF): a line of its own, not an escape
        elif ch == "\t":
            out.append("    ")
        elif _shown_as_escape(ch):
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


def _json_escape(match: re.Match) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON writes characters beyond the BMP as a UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def escape_json_controls(text: str) -> str:
    """JSON text with DEL, C1 controls, bidi overrides and invisible characters written
    as ``\\uXXXX``.

    ``json.dumps(ensure_ascii=False)`` escapes only U+0000-U+001F; a raw U+009B is a
    CSI to some terminals. Such characters only occur inside strings, where the
    escape means the same character, so the data round-trips unchanged.
    """
    return _JSON_UNSAFE.sub(_json_escape, text)


# Escape sequences as a terminal reads them, 7-bit (ESC ...) and 8-bit (C1) forms. A
# string sequence (OSC, DCS, SOS, PM, APC) runs to its terminator, BEL or ST; one cut
# off ends at the next control character (a newline, say), so a stray ESC ] cannot eat
# the rest of the quote. What it leaves is plain text once the ESC is gone.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI, e.g. colours and the paste end \x1b[201~
    r"|(?:\x1b\]|\x9d)[^\x00-\x1f\x7f\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC: titles, links
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x00-\x1f\x7f\x9c]*(?:\x1b\\|\x9c)?"  # DCS...
    r"|\x1b[ -/]*[0-~]"  # the short ones: ESC 7, ESC c, ESC ( B ...
)
_BIDI_OVERRIDES = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _pasted_as_control(ch: str) -> bool:
    if ch in "\t\n":
        return False
    return ch in _BIDI_OVERRIDES or unicodedata.category(ch) in ("Cc", "Cs")


def paste_safe(text: str) -> tuple[str, int]:
    """Text to put on the clipboard, and how many sequences or characters were removed.

    Pasted into a shell, a carriage return runs a command and ``\\x1b[201~`` ends
    bracketed paste, so a quote could run code. Escape sequences go whole; other C0
    and C1 controls (all but tab and newline), bidi overrides and isolates, and lone
    surrogates (which cannot be encoded) go one by one.
    """
    removed = 0

    def drop(_match: re.Match) -> str:
        nonlocal removed
        removed += 1
        return ""

    text = _ESCAPE_SEQUENCE.sub(drop, text)
    kept = [ch for ch in text if not _pasted_as_control(ch)]
    removed += len(text) - len(kept)
    return "".join(kept), removed
