"""Hostile archives made in a test, small on disk and fast to make: zips written by
hand (so that a member may lie about its size), deflate streams that unpack to GiBs
from a few KiB, DOCX and EPUB files around them; and :func:`peak_mib`, what reading
one costs, measured in a child process."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DOCUMENT_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<w:document xmlns:w="{W_NS}"><w:body>'
).encode()
DOCUMENT_TAIL = b"</w:body></w:document>"


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes  # as stored (raw deflate when ``deflated``)
    size: int  # what the zip declares the member unpacks to
    crc: int
    deflated: bool = True


def member(name: str, content: bytes) -> Member:
    """An honest member: deflated, its true size and CRC."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    data = packer.compress(content) + packer.flush()
    return Member(name, data, len(content), zlib.crc32(content))


def repeated(head: bytes, block: bytes, count: int, tail: bytes) -> bytes:
    """Raw deflate of head + block * count + tail, made without compressing the whole:
    after a full flush no later block looks back, so one compressed block repeats."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    start = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    once = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    return start + once * count + packer.compress(tail) + packer.flush()


def repeated_crc(head: bytes, block: bytes, count: int, tail: bytes) -> int:
    """The CRC of what :func:`repeated` unpacks to; 0 past 256 MiB (a bomb is refused
    at its size limit before its CRC could be checked, and computing it takes long)."""
    if len(block) * count > 256 * MIB:
        return 0
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    return zlib.crc32(tail, crc)


def write_zip(path: Path, members: list[Member]) -> None:
    """A zip whose headers say what ``members`` declare, true or not."""
    body, directory = bytearray(), bytearray()
    for item in members:
        name = item.name.encode()
        method = zipfile.ZIP_DEFLATED if item.deflated else zipfile.ZIP_STORED
        sizes = (item.crc & 0xFFFFFFFF, len(item.data), item.size & 0xFFFFFFFF)
        offset = len(body)
        body += struct.pack(
            "<4sHHHHHLLLHH", b"PK\x03\x04", 20, 0, method, 0, 0, *sizes, len(name), 0
        )
        body += name + item.data
        directory += struct.pack(
            "<4sHHHHHHLLLHHHHHLL", b"PK\x01\x02", 20, 20, 0, method, 0, 0, *sizes,
            len(name), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        directory += name
    end = struct.pack(
        "<4sHHHHLLH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory),
        len(body), 0,
    )  # fmt: skip
    path.write_bytes(bytes(body + directory + end))


# -- DOCX ----------------------------------------------------------------------------------


def docx_members(paragraphs: list[str]) -> list[Member]:
    """The parts of a small, sound DOCX (python-docx writes it)."""
    import io

    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(buffer) as package:
        return [member(info.filename, package.read(info)) for info in package.infolist()]


def write_docx(path: Path, paragraphs: list[str]) -> None:
    write_zip(path, docx_members(paragraphs))


def write_docx_bomb(path: Path, unpacked: int, *, declared: int | None = None) -> None:
    """A DOCX whose word/document.xml unpacks to about ``unpacked`` bytes of tiny
    paragraphs; ``declared`` is the size its headers state (the truth by default)."""
    block = b"<w:p><w:r><w:t>boom</w:t></w:r></w:p>" * 1771  # 64 KiB
    count = max(1, unpacked // len(block))
    data = repeated(DOCUMENT_HEAD, block, count, DOCUMENT_TAIL)
    size = len(DOCUMENT_HEAD) + len(block) * count + len(DOCUMENT_TAIL)
    members = [m for m in docx_members(["x"]) if m.name != "word/document.xml"]
    crc = repeated_crc(DOCUMENT_HEAD, block, count, DOCUMENT_TAIL)
    bomb = Member("word/document.xml", data, size if declared is None else declared, crc)
    write_zip(path, [*members, bomb])


# -- EPUB ----------------------------------------------------------------------------------

CONTAINER = (
    '<?xml version="1.0"?><container version="1.0"'
    ' xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
    '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)


def chapter_html(paragraphs: list[str]) -> str:
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        f"<head><title>t</title></head><body>{body}</body></html>"
    )


def package(hrefs: list[str]) -> str:
    items = "".join(
        f'<item id="i{n}" href="{href}" media-type="application/xhtml+xml"/>'
        for n, href in enumerate(hrefs)
    )
    refs = "".join(f'<itemref idref="i{n}"/>' for n in range(len(hrefs)))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<package xmlns="http://www.idpf.org/2007/opf"'
        ' version="2.0" unique-identifier="id"><metadata'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:x'
        "</dc:identifier><dc:title>Bomb</dc:title><dc:language>en</dc:language></metadata>"
        f"<manifest>{items}</manifest><spine>{refs}</spine></package>"
    )


def spellings(name: str, count: int) -> list[str]:
    """``count`` hrefs that all name the file ``name``: its letters percent-encoded in
    every combination (``c%68apter.xhtml``)."""
    letters = [i for i, c in enumerate(name) if c.isalnum()]
    return [
        "".join(
            f"%{ord(c):02X}" if i in letters and (mask >> letters.index(i)) & 1 else c
            for i, c in enumerate(name)
        )
        for mask in range(count)
    ]


def write_epub(path: Path, chapters: dict[str, bytes | Member], hrefs: list[str]) -> None:
    """An EPUB whose spine names ``hrefs`` in order; ``chapters`` are the files under
    OEBPS/ (content, or a ready member such as a bomb)."""
    members = [
        Member("mimetype", b"application/epub+zip", 20, zlib.crc32(b"application/epub+zip"), False),
        member("META-INF/container.xml", CONTAINER.encode()),
        member("OEBPS/content.opf", package(hrefs).encode()),
    ]
    for name, content in chapters.items():
        if isinstance(content, Member):
            members.append(content)
        else:
            members.append(member(f"OEBPS/{name}", content))
    write_zip(path, members)


def chapter_bomb(name: str, unpacked: int, *, declared: int | None = None) -> Member:
    """An EPUB chapter of about ``unpacked`` bytes of paragraphs."""
    head = chapter_html([]).split("</body>")[0].encode()
    block = b"<p>boom boom boom boom boom boom boom boom</p>\n" * 1365  # 64 KiB
    count = max(1, unpacked // len(block))
    data = repeated(head, block, count, b"</body></html>")
    size = len(head) + len(block) * count + len(b"</body></html>")
    crc = repeated_crc(head, block, count, b"</body></html>")
    return Member(f"OEBPS/{name}", data, size if declared is None else declared, crc)


def peak_mib(code: str) -> tuple[int, dict]:
    """Run ``code`` in a fresh Python; its peak resident set in MiB and the JSON it
    printed last (``result``)."""
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across exec, so a child
    # started (vfork, exec) by a large pytest process would report the parent's peak.
    script = (
        "import json, re\n"
        f"{code}\n"
        "status = open('/proc/self/status').read()\n"
        "peak = int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n"
        "print(json.dumps({'peak': peak, 'result': result}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = json.loads(done.stdout.strip().splitlines()[-1])
    return last["peak"] // 1024, last["result"]
