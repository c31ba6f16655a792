"""Response bodies read within a limit, and decoded to text safely.

httpx undoes a ``Content-Encoding`` by inflating each network read in one call, so a
few KiB compressed twice (``gzip, gzip``) would unpack to GiBs before any limit saw a
byte. Bodies are read raw here and inflated a bounded step at a time, the page limit
counting the decoded bytes as they come; one encoding is accepted (``gzip``,
``deflate``), stacked or unknown ones are refused. A body's charset (the header's,
else ``<meta charset>``) is used only when it names a text encoding a web page may
use (the WHATWG Encoding Standard's, ``data/web_charsets.json``): any other (``idna``,
``punycode``, ``rot13``, a name Python does not know) falls back to UTF-8, with
undecodable bytes as U+FFFD.
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Iterable, Iterator
from functools import cache

from ..data import load_rules
from ..errors import FetchFailed
from .limits import ACCEPTED_ENCODINGS, INFLATE_CHUNK_BYTES, size_text

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_IDENTITY = "identity"


# -- Content-Encoding ----------------------------------------------------------------------


def content_encoding(url: str, header: str) -> str | None:
    """The one encoding to undo (None for none); raises :class:`FetchFailed` for
    stacked or unknown encodings."""
    names = [part.strip().lower() for part in header.split(",") if part.strip()]
    names = [name for name in names if name != _IDENTITY]
    if len(names) > 1:
        raise FetchFailed(f"{url}: stacked content encodings ({', '.join(names)}) are refused")
    if names and names[0] not in ACCEPTED_ENCODINGS:
        raise FetchFailed(f"{url}: unsupported content encoding {names[0]!r}")
    return names[0] if names else None


def read_limited(url: str, raw: Iterable[bytes], encoding: str | None, max_bytes: int) -> bytes:
    """The body from its ``raw`` network chunks, decoded, cut at ``max_bytes`` of raw
    or decoded bytes (:class:`FetchFailed`), never holding more than that."""
    parts: list[bytes] = []
    total = 0
    for piece in _decoded(url, _counted(url, raw, max_bytes), encoding):
        total += len(piece)
        if total > max_bytes:
            raise FetchFailed(
                f"{url}: the body is over the {size_text(max_bytes)} limit"
                f"{' once decoded' if encoding else ''} (cut off)"
            )
        parts.append(piece)
    return b"".join(parts)


def _counted(url: str, raw: Iterable[bytes], max_bytes: int) -> Iterator[bytes]:
    """Raw chunks, refused past ``max_bytes`` (a compressed stream that decodes to
    nothing must not stream for ever either)."""
    total = 0
    for chunk in raw:
        total += len(chunk)
        if total > max_bytes:
            raise FetchFailed(f"{url}: the body is over the {size_text(max_bytes)} limit (cut off)")
        yield chunk


def _decoded(url: str, raw: Iterator[bytes], encoding: str | None) -> Iterator[bytes]:
    if encoding is None:
        yield from raw
        return
    inflater = None
    head = b""  # the first bytes, until two tell a zlib header from raw deflate
    try:
        for chunk in raw:
            if inflater is None:  # "deflate" is zlib-wrapped, or raw from some servers
                head += chunk
                if len(head) < 2:
                    continue
                inflater = zlib.decompressobj(_window_bits(encoding, head))
                chunk, head = head, b""
            yield from _inflate_chunk(inflater, chunk)
        if inflater is None and head:
            inflater = zlib.decompressobj(_window_bits(encoding, head))
            yield from _inflate_chunk(inflater, head)
        if inflater is not None:
            yield inflater.flush()  # nothing unconsumed is left: at most a few bytes
    except zlib.error as error:
        raise FetchFailed(f"{url}: the {encoding} body cannot be decoded ({error})") from None


def _window_bits(encoding: str, first: bytes) -> int:
    if encoding in ("gzip", "x-gzip"):
        return 16 + zlib.MAX_WBITS
    wrapped = len(first) >= 2 and (first[0] & 0x0F) == 8 and (first[0] << 8 | first[1]) % 31 == 0
    return zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS


def _inflate_chunk(inflater, chunk: bytes) -> Iterator[bytes]:
    """One raw chunk inflated ``INFLATE_CHUNK_BYTES`` at most per step; bytes after
    the end of the stream (a second gzip member, junk) are ignored."""
    data = chunk
    while data and not inflater.eof:
        piece = inflater.decompress(data, INFLATE_CHUNK_BYTES)
        data = inflater.unconsumed_tail
        if piece:
            yield piece


# -- charsets ------------------------------------------------------------------------------


@cache
def _web_codecs() -> frozenset[str]:
    """Python's names for the encodings a web page may declare."""
    names = load_rules("web_charsets.json")["encodings"]
    return frozenset(codecs.lookup(name).name for name in names)


def usable_charset(charset: str | None) -> str | None:
    """``charset`` when it names a web text encoding Python knows, else None."""
    if not charset:
        return None
    try:
        name = codecs.lookup(charset.strip()).name
    except (LookupError, ValueError, TypeError):
        return None
    return name if name in _web_codecs() else None


def decode_text(body: bytes, header_charset: str | None) -> str:
    """The body as text: the header's charset, else ``<meta charset>``, else UTF-8;
    undecodable bytes become U+FFFD rather than losing the page."""
    for charset in (header_charset, meta_charset(body)):
        usable = usable_charset(charset)
        if usable:
            try:
                return body.decode(usable, errors="replace")
            except (UnicodeError, ValueError, LookupError):
                continue
    return body.decode("utf-8", errors="replace")


def meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii") if match else None
