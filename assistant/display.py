"""Making document text safe to print: it is shown, never interpreted.

Control characters (ANSI escapes, OSC hyperlinks, carriage returns, backspaces) and
bidirectional overrides are replaced by visible ``\\x1b``-style escapes, so a
document cannot move the cursor, recolour or retitle the terminal, or reorder text.
"""

from __future__ import annotations

import re
import unicodedata

# Bidi embeddings, overrides and isolates reorder what follows them.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# What json.dumps leaves raw but a terminal may act on: DEL, C1 controls, bidi controls.
_JSON_UNSAFE = re.compile("[\x7f-\x9f" + "".join(sorted(_BIDI_CONTROLS)) + "]")


def inert(text: str, keep_newlines: bool = True) -> str:
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch == "\t":
            out.append("    ")
        elif ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def escape_json_controls(text: str) -> str:
    """JSON text with DEL, C1 controls and bidi overrides written as ``\\uXXXX``.

    ``json.dumps(ensure_ascii=False)`` escapes only U+0000-U+001F; a raw U+009B is a
    CSI to some terminals. Such characters only occur inside strings, where the
    escape means the same character, so the data round-trips unchanged.
    """
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
