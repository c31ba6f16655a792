"""Zip archives (DOCX, EPUB) read within limits: every member is inflated here, a
chunk at a time, counting what actually comes out.

The sizes a zip states are not trusted. :mod:`zipfile` inflates a whole member in one
call when asked to read it all (a member that declares 1 KiB and holds 2 GiB costs
2 GiB before it is cut to 1 KiB), so members are inflated from their raw bytes with
a bounded :func:`zlib.decompressobj`: reading stops as soon as a member passes
``MAX_MEMBER_BYTES`` or the archive passes ``MAX_ARCHIVE_BYTES``, and a member that
holds more or less than it declares is refused. Only stored and deflated members are
read (what DOCX and EPUB use); bzip2 and LZMA cannot be inflated in bounded steps by
the standard library.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from ..errors import UnreadableSource
from . import limits
from .limits import INFLATE_CHUNK_BYTES, size_text

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length
_LOCAL_SIGNATURE = b"PK\x03\x04"
_END_SIGNATURE = b"PK\x05\x06"
_END_RECORD_BYTES = 22
_MAX_COMMENT_BYTES = 0xFFFF


class ArchiveTooLarge(UnreadableSource):
    """A member, or the archive, unpacks to more than its limit (a zip bomb)."""


class Archive:
    """One zip file opened for bounded reading. ``handle`` is a binary file open for
    reading; ``source`` names the file in every reason given."""

    def __init__(
        self,
        handle: BinaryIO,
        source: str,
        *,
        member_limit: int | None = None,
        total_limit: int | None = None,
    ) -> None:
        self.source = source
        self.member_limit = member_limit or limits.MAX_MEMBER_BYTES
        self.total_limit = total_limit or limits.MAX_ARCHIVE_BYTES
        self.unpacked = 0  # bytes inflated so far, all members together
        self._handle = handle
        _check_member_count(handle, source)
        self.zip = zipfile.ZipFile(handle)

    def info(self, name: str) -> zipfile.ZipInfo:
        """The member ``name`` (KeyError when the zip has none)."""
        return self.zip.getinfo(name)

    def read(self, member: str | zipfile.ZipInfo) -> bytes:
        """One member's bytes, inflated within the limits."""
        info = member if isinstance(member, zipfile.ZipInfo) else self.info(member)
        return b"".join(self._inflate(info))

    def check_all(self) -> None:
        """Inflate every member (keeping nothing): each within its limit, all together
        within the archive's, each exactly the size it declares. After this, a library
        that reads the zip itself (python-docx) reads only what was checked."""
        for info in self.zip.infolist():
            for _ in self._inflate(info):
                pass

    def _inflate(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        produced = 0
        crc = 0
        for piece in _member_pieces(self._handle, info, self.source):
            produced += len(piece)
            self.unpacked += len(piece)
            if produced > self.member_limit:
                raise ArchiveTooLarge(
                    f"{self.source}: {info.filename} unpacks to more than"
                    f" {size_text(self.member_limit)} (the limit for one member)"
                )
            if self.unpacked > self.total_limit:
                raise ArchiveTooLarge(
                    f"{self.source}: unpacks to more than {size_text(self.total_limit)}"
                    " (the limit for one archive)"
                )
            crc = zlib.crc32(piece, crc)
            yield piece
        if produced != info.file_size:
            raise UnreadableSource(
                f"{self.source}: {info.filename} holds {produced:,} bytes but declares"
                f" {info.file_size:,}; not a sound archive"
            )
        if crc != info.CRC:
            raise UnreadableSource(f"{self.source}: {info.filename} is damaged (bad CRC)")


def _member_pieces(handle: BinaryIO, info: zipfile.ZipInfo, source: str) -> Iterator[bytes]:
    """The member's bytes a bounded piece at a time, from its raw (compressed) data."""
    if info.flag_bits & 0x1:
        raise UnreadableSource(f"{source}: {info.filename} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise UnreadableSource(
            f"{source}: {info.filename} uses compression method {info.compress_type}"
            " (only stored and deflated members are read)"
        )
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size:
        raise UnreadableSource(f"{source}: {info.filename} is cut off")
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    if signature != _LOCAL_SIGNATURE:
        raise UnreadableSource(f"{source}: {info.filename} has no local header")
    handle.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    raw = _raw_chunks(handle, info.compress_size)
    if info.compress_type == zipfile.ZIP_STORED:
        yield from raw
    else:
        yield from _inflated(raw, info.filename, source)


def _raw_chunks(handle: BinaryIO, size: int) -> Iterator[bytes]:
    left = size
    while left > 0:
        chunk = handle.read(min(INFLATE_CHUNK_BYTES, left))
        if not chunk:
            return
        left -= len(chunk)
        yield chunk


def _inflated(raw: Iterator[bytes], name: str, source: str) -> Iterator[bytes]:
    """Raw deflate inflated at most ``INFLATE_CHUNK_BYTES`` per step, whatever the
    ratio: what a step cannot yet give out waits in ``unconsumed_tail``."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for chunk in raw:
            data = chunk
            while data and not inflater.eof:
                piece = inflater.decompress(data, INFLATE_CHUNK_BYTES)
                data = inflater.unconsumed_tail
                if piece:
                    yield piece
            if inflater.eof:
                return
        rest = inflater.flush()  # output still held with no input left: a few bytes
    except zlib.error as error:
        raise UnreadableSource(f"{source}: {name} cannot be inflated ({error})") from None
    if not inflater.eof:
        raise UnreadableSource(f"{source}: {name} is cut off")
    if rest:
        yield rest


def _check_member_count(handle: BinaryIO, source: str) -> None:
    """Refuse a zip that lists more than ``MAX_ARCHIVE_MEMBERS`` members before
    :class:`zipfile.ZipFile` reads its whole directory into memory."""
    handle.seek(0, 2)
    size = handle.tell()
    tail_size = min(size, _END_RECORD_BYTES + _MAX_COMMENT_BYTES)
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    handle.seek(0)
    at = tail.rfind(_END_SIGNATURE)
    if at < 0 or at + _END_RECORD_BYTES > len(tail):
        return  # not a zip: zipfile says so, in its own words
    (entries,) = struct.unpack("<H", tail[at + 10 : at + 12])
    if entries > limits.MAX_ARCHIVE_MEMBERS:  # 0xFFFF: a ZIP64 count, more in any case
        raise ArchiveTooLarge(
            f"{source}: lists {entries:,} members or more"
            f" (the limit is {limits.MAX_ARCHIVE_MEMBERS:,})"
        )
