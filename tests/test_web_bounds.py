"""Bounded and isolated web reading, against a server on 127.0.0.1: response bodies
decoded within the page limit as they stream (one Content-Encoding, stacked ones
refused), hostile charsets read as UTF-8, any failure of one URL or feed entry its own
``skipped:`` line, feeds fetched at most ``--feed-limit`` entries at a time."""

from __future__ import annotations

import contextlib
import gzip
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant import IndexWriter
from assistant.ingest import web as web_module
from assistant.ingest.bodies import read_limited
from assistant.ingest.feeds import fetch_feed
from assistant.ingest.web import fetch_pages
from assistant.storage.layout import read_manifest

from .bombs import peak_mib
from .web_server import ARTICLE_A, ARTICLE_B, rss

LIMIT = 256 * 1024
HTML = "text/html; charset=utf-8"


class Server:
    """Serves ``routes``: path -> (status, headers, body). Records each path asked."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(self.path)
                status, headers, body = server.routes.get(self.path, (404, {}, b"not found"))
                self.send_response(status)
                for name, value in {"Content-Type": HTML, **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client stopped reading: a limit
                    self.wfile.write(body)

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str, body: bytes, **headers: str) -> str:
        self.routes[path] = (200, {k.replace("_", "-"): v for k, v in headers.items()}, body)
        return self.url(path)


@pytest.fixture
def server():
    running = Server()
    thread = threading.Thread(target=running.httpd.serve_forever, daemon=True)
    thread.start()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


def _reasons(skipped) -> dict[str, str]:
    return {item.source: item.reason for item in skipped}


def _article(title: str, sentence: str) -> bytes:
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{sentence} {sentence}</p><p>{sentence}</p></article></body></html>"
    ).encode()


# -- Content-Encoding ----------------------------------------------------------------------


def test_gzip_and_deflate_pages_are_decoded(server):
    body = ARTICLE_A.encode()
    urls = [
        server.page("/g.html", gzip.compress(body), Content_Encoding="gzip"),
        server.page("/z.html", zlib.compress(body), Content_Encoding="deflate"),
        server.page("/r.html", zlib.compress(body, wbits=-15), Content_Encoding="deflate"),
        server.page("/i.html", body, Content_Encoding="identity"),
    ]
    documents, skipped = fetch_pages(urls, max_bytes=LIMIT)
    assert skipped == []
    assert len({d.text for d in documents}) == 1 and "132-kilometre" in documents[0].text


def test_a_body_arriving_a_byte_at_a_time_is_decoded():
    body = ARTICLE_A.encode()
    packed = {
        "gzip": gzip.compress(body),
        "deflate": zlib.compress(body),
        "x-gzip": gzip.compress(body),
    }
    for encoding, data in [*packed.items(), ("deflate", zlib.compress(body, wbits=-15))]:
        chunks = (data[i : i + 1] for i in range(len(data)))
        assert read_limited("http://x/", chunks, encoding, LIMIT) == body


def test_stacked_and_unknown_encodings_are_refused(server):
    twice = gzip.compress(gzip.compress(ARTICLE_A.encode()))
    stacked = server.page("/twice.html", twice, Content_Encoding="gzip, gzip")
    brotli = server.page("/br.html", b"\x1b\x00", Content_Encoding="br")
    good = server.page("/a.html", ARTICLE_A.encode())
    documents, skipped = fetch_pages([stacked, brotli, good], max_bytes=LIMIT)
    assert [d.source for d in documents] == [good]
    assert _reasons(skipped) == {
        stacked: f"{stacked}: stacked content encodings (gzip, gzip) are refused",
        brotli: f"{brotli}: unsupported content encoding 'br'",
    }


def test_the_limit_counts_decoded_bytes_as_they_stream(server):
    # 8 MiB of markup in 8 KB: over the limit once decoded, cut off there.
    inflated = b"<html><body><p>" + b"a" * (8 * 1024 * 1024) + b"</p></body></html>"
    url = server.page("/big.html", gzip.compress(inflated), Content_Encoding="gzip")
    documents, skipped = fetch_pages([url], max_bytes=LIMIT)
    assert documents == []
    assert _reasons(skipped) == {
        url: f"{url}: the body is over the 256 KiB limit once decoded (cut off)"
    }


def test_accept_encoding_names_only_what_can_be_inflated_in_bounded_steps(server):
    url = server.page("/a.html", ARTICLE_A.encode())
    with web_module.http_client() as client:
        assert client.headers["accept-encoding"] == "gzip, x-gzip, deflate"
    assert fetch_pages([url])[1] == []


def test_peak_memory_of_a_body_compressed_twice_stays_under_a_gib(server):
    """gzip of gzip of 1 GiB: about 1 MB to send. httpx inflated the inner layer in
    one call (GiBs); refused by its header now, and a single gzip layer of 1 GiB is cut
    at the page limit."""
    inner = _gzip_of_zeros(1024**3)
    server.page("/twice.html", gzip.compress(inner), Content_Encoding="gzip, gzip")
    server.page("/once.html", inner, Content_Encoding="gzip")
    code = f"""
from assistant.ingest.web import fetch_pages
docs, skipped = fetch_pages([{server.url("/twice.html")!r}, {server.url("/once.html")!r}])
result = [s.reason for s in skipped]
"""
    peak, result = peak_mib(code)
    print(f"peak {peak} MiB; {result}")
    assert peak < 1024
    assert result[0].endswith("stacked content encodings (gzip, gzip) are refused")
    assert result[1].endswith("the body is over the 8 MiB limit once decoded (cut off)")


def _gzip_of_zeros(size: int) -> bytes:
    """A gzip member of ``size`` zero bytes, made from one compressed 1 MiB block
    repeated (the CRC is left 0: reading stops long before it is checked)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = packer.compress(b"\0" * 1024 * 1024) + packer.flush(zlib.Z_FULL_FLUSH)
    deflate = block * (size // (1024 * 1024)) + packer.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + deflate + (0).to_bytes(4, "little") + (size % 2**32).to_bytes(4, "little")


# -- charsets and isolation ----------------------------------------------------------------


def test_a_hostile_charset_falls_back_to_utf8(server):
    body = _article("Café opens", "The café on the square opened on Monday morning.")
    header = server.page("/h.html", body, Content_Type="text/html; charset=idna")
    meta = server.page("/m.html", body.replace(b"<head>", b'<head><meta charset="idna">'))
    punycode = server.page("/p.html", body, Content_Type="text/html; charset=punycode")
    unknown = server.page("/u.html", body, Content_Type="text/html; charset=no-such")
    documents, skipped = fetch_pages([header, meta, punycode, unknown], max_bytes=LIMIT)
    assert skipped == []
    assert all("The café on the square" in d.text for d in documents) and len(documents) == 4


def test_a_feed_with_a_hostile_charset_is_still_read(server):
    server.page("/b.html", ARTICLE_B.encode())
    feed_body = rss(server.base, [{"link": "/b.html", "title": "Flood barriers hold"}])
    feed = server.page(
        "/feed.rss", feed_body.encode(), Content_Type="application/rss+xml; charset=idna"
    )
    documents, skipped, info = fetch_feed(feed)
    assert skipped == [] and [d.source for d in documents] == [server.url("/b.html")]
    assert info.title == "Caspian Wire"


def test_any_exception_for_one_url_or_entry_is_its_skipped_line(server, monkeypatch):
    hostile = server.page("/hostile.html", _article("Hostile", "This page trips the reader."))
    good = server.page("/a.html", ARTICLE_A.encode())
    server.page("/b.html", ARTICLE_B.encode())
    items = [{"link": "/hostile.html", "title": "Hostile"}, {"link": "/b.html", "title": "B"}]
    feed = server.page(
        "/feed.rss", rss(server.base, items).encode(), Content_Type="application/rss+xml"
    )
    real = web_module.document_from_html

    def tripping(html, source, **kwargs):
        if "trips the reader" in html:
            raise RuntimeError("a reader bug that only this page triggers")
        return real(html, source, **kwargs)

    monkeypatch.setattr(web_module, "document_from_html", tripping)
    documents, skipped = fetch_pages([hostile, good], max_bytes=LIMIT)
    assert [d.source for d in documents] == [good]
    assert _reasons(skipped) == {
        hostile: f"{hostile}: could not be read"
        " (RuntimeError: a reader bug that only this page triggers)"
    }
    documents, skipped, _ = fetch_feed(feed)
    assert [d.source for d in documents] == [server.url("/b.html")]
    assert list(_reasons(skipped)) == [hostile]


def test_a_hostile_page_costs_that_page_and_never_fails_later_updates(
    server, tmp_path, fake_encoder, monkeypatch
):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.txt").write_text("Harbour plan\n\nThe council approved the harbour plan.\n")
    body = _article("Café opens", "The café on the square opened on Monday morning.")
    page = server.page("/c.html", body)
    hostile = server.page("/h.html", body.replace(b"<head>", b'<head><meta charset="idna">'))
    server.page("/b.html", ARTICLE_B.encode())
    items = [{"link": "/b.html", "title": "Flood barriers hold"}]
    feed = server.page(
        "/feed.rss", rss(server.base, items).encode(), Content_Type="application/rss+xml"
    )
    index_dir = tmp_path / "idx"
    built = IndexWriter(index_dir, fake_encoder).add([corpus], urls=[page, hostile], feeds=[feed])
    assert built.skipped == []
    assert len(built.files_embedded) == 4  # the file, both pages, the feed's article

    # The indexed page turns hostile (its charset, then its body trips the reader):
    # the indexed copy stays, and a changed local file is still indexed.
    server.page("/c.html", body, Content_Type="text/html; charset=idna")
    hostile_feed = {"Content-Type": "application/rss+xml; charset=idna"}
    server.routes["/feed.rss"] = (200, hostile_feed, server.routes["/feed.rss"][2])
    (corpus / "notes.txt").write_text("Harbour plan\n\nThe council rejected the harbour plan.\n")
    updated = IndexWriter(index_dir, fake_encoder).update()
    assert updated.files_embedded == [str(corpus / "notes.txt")]
    assert updated.skipped == []
    assert set(read_manifest(index_dir).pages) == {page, hostile, server.url("/b.html")}

    # Now its body trips the reader (any exception): the page's line, the rest written.
    server.page("/c.html", body.replace(b"Monday", b"Tuesday"))
    real = web_module.document_from_html

    def tripping(html, source, **kwargs):
        if source == page:
            raise RuntimeError("a reader bug that only this page triggers")
        return real(html, source, **kwargs)

    monkeypatch.setattr(web_module, "document_from_html", tripping)
    (corpus / "notes.txt").write_text("Harbour plan\n\nThe council delayed the harbour plan.\n")
    tripped = IndexWriter(index_dir, fake_encoder).update()
    assert tripped.files_embedded == [str(corpus / "notes.txt")]
    assert [w.reason for w in tripped.warnings] == [
        f"{page}: could not be read (RuntimeError: a reader bug that only this page"
        " triggers); the indexed copy stays"
    ]
    assert set(read_manifest(index_dir).pages) == {page, hostile, server.url("/b.html")}


# -- feed limit ----------------------------------------------------------------------------


def _big_feed(server, count: int) -> str:
    items = []
    for n in range(count):
        server.page(
            f"/p{n}.html", _article(f"Story {n}", f"Ferry number {n} sailed to Aktau on time.")
        )
        items.append({"link": f"/p{n}.html", "title": f"Story {n}"})
    return server.page(
        "/feed.rss", rss(server.base, items).encode(), Content_Type="application/rss+xml"
    )


def test_a_feed_fetches_at_most_its_limit_of_entries(server):
    feed = _big_feed(server, 12)
    documents, _, info = fetch_feed(feed, limit=5)
    assert [d.source for d in documents] == [server.url(f"/p{n}.html") for n in range(5)]
    assert server.requests == ["/feed.rss"] + [f"/p{n}.html" for n in range(5)]
    assert info.notes == [
        f"{feed}: 12 new entries; the first 5 fetched, the others at the next update (--feed-limit)"
    ]
    known = {d.source for d in documents}
    documents, _, info = fetch_feed(feed, known=known, limit=5)
    assert [d.source for d in documents] == [server.url(f"/p{n}.html") for n in range(5, 10)]


def test_the_cli_takes_feed_limit(cli, fake_model, server, tmp_path):
    feed = _big_feed(server, 4)
    index_dir = str(tmp_path / "idx")
    added = cli("index", "add", "--feed", feed, "--feed-limit", "3", "--index", index_dir)
    assert added.exit_code == 0, added.output
    assert (
        f"warning: {feed}: 4 new entries; the first 3 fetched, the others at the next"
        " update (--feed-limit)"
    ) in added.stderr.splitlines()
    updated = cli("index", "update", "--feed-limit", "3", "--index", index_dir)
    assert updated.exit_code == 0, updated.output
    assert len(read_manifest(tmp_path / "idx").pages) == 4
    refused = cli("index", "update", "--feed-limit", "0", "--index", index_dir)
    assert refused.exit_code == 2
