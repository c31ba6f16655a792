"""Web pages and news feeds as sources, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest

from assistant import Index, IndexWriter
from assistant.errors import UsageError
from assistant.ingest.feeds import fetch_feed
from assistant.ingest.web import fetch_pages
from assistant.storage.layout import read_manifest

from .fakes import FakeClock
from .web_server import ARTICLE_A, FEED_TEXT, FixtureServer

LIMIT = 256 * 1024


@pytest.fixture
def server():
    with FixtureServer() as running:
        yield running


def reasons(skipped) -> dict[str, str]:
    return {item.source: item.reason for item in skipped}


def assert_offsets_hold(index_dir) -> None:
    with Index(index_dir) as index:
        documents = list(index.store.documents())
        assert documents
        for document in documents:
            text = index.store.document_text(document.doc_id)
            for passage in index.store.document_passages(document.doc_id):
                assert text[passage.start : passage.end] == passage.text


def test_each_failing_url_is_one_skipped_line_and_the_rest_go_in(server):
    urls = [
        server.url("/a.html"),
        server.url("/slow.html"),
        server.url("/missing"),
        server.url("/doc.pdf"),
        server.url("/loop1"),
        server.url("/huge.html"),
        "ftp://127.0.0.1/file.html",
        server.url("/b.html"),
    ]
    documents, skipped = fetch_pages(urls, timeout=0.5, max_bytes=LIMIT)

    assert [d.source for d in documents] == [server.url("/a.html"), server.url("/b.html")]
    why = reasons(skipped)
    assert len(skipped) == 6
    assert why[server.url("/slow.html")].endswith("timed out after 0.5 s")
    assert why[server.url("/missing")] == f"{server.url('/missing')}: HTTP 404 Not Found"
    assert why[server.url("/doc.pdf")].endswith("not an HTML page (application/pdf)")
    loop = f"{server.url('/loop1')} → {server.url('/loop2')} → {server.url('/loop1')}"
    assert why[server.url("/loop1")].endswith(f"redirect loop ({loop})")
    assert why[server.url("/huge.html")].endswith("over the 256 KiB limit (cut off)")
    assert why["ftp://127.0.0.1/file.html"].endswith("not an http:// or https:// URL")
    for source, reason in why.items():
        assert reason.startswith(f"{source}: ")
    # The oversize body was cut off while streaming, not read whole.
    assert server.huge_done.wait(10)
    assert server.huge_sent < server.HUGE_BYTES


def test_a_page_is_extracted_with_its_url_fetch_time_and_head_lines(server):
    (page,), skipped = fetch_pages([server.url("/moved")], timeout=2)
    assert skipped == []
    assert page.source == page.doc_id == server.url("/moved")  # as given
    assert page.url == server.url("/a.html")  # where the redirect led
    assert datetime.fromisoformat(page.fetched_at).tzinfo is not None
    assert page.size == len(ARTICLE_A.encode())
    assert (page.title, page.byline, page.published) == (
        "Border talks resume in Baku",
        "Leyla Mammadova",
        "2023-04-02",
    )
    assert page.outlet == "Caspian Courier"
    # The headline leads as the page shows it; the author and date the markup states
    # are metadata only: the page does not show them, so they are not in its text.
    assert page.text.startswith("Border talks resume in Baku\n\nNegotiators from")
    assert "Leyla Mammadova" not in page.text and "Published" not in page.text
    assert "Home" not in page.text and "Copyright" not in page.text
    assert [page.text[s:e] for s, e in page.meta_spans] == ["Border talks resume in Baku"]


def test_rss_entries_take_the_feeds_metadata_and_fall_back_to_its_text(server):
    documents, skipped, info = fetch_feed(server.url("/feed.rss"), timeout=2)

    assert (info.title, info.entries, info.known) == ("Caspian Wire", 3, 0)
    by_source = {d.source: d for d in documents}
    assert list(by_source) == [server.url("/b.html"), server.url("/gone.html")]

    page = by_source[server.url("/b.html")]
    # The page states its headline only; author and date come from the feed entry,
    # as metadata: the page does not show them, so they are not in its text.
    assert page.title == "Flood barriers hold along the Araz river"
    assert (page.byline, page.published, page.outlet) == (
        "Nigar Huseynova",
        "2023-04-04",
        "Caspian Wire",
    )
    assert "Nigar Huseynova" not in page.text and "Published" not in page.text
    assert page.feed == server.url("/feed.rss")

    from_feed = by_source[server.url("/gone.html")]
    assert FEED_TEXT in from_feed.text
    assert (from_feed.title, from_feed.byline) == ("Tea seized at Astara", "Rauf Karimov")
    assert info.notes == [
        f"{server.url('/gone.html')}: HTTP 404 Not Found; indexed the text the feed gives"
    ]
    gone = server.url("/also-gone.html")
    assert reasons(skipped) == {
        gone: f"{gone}: HTTP 404 Not Found, and the feed gives no text for it"
    }


def test_atom_feeds_and_known_entries(server):
    documents, skipped, info = fetch_feed(server.url("/feed.atom"), timeout=2)
    (page,) = documents
    assert skipped == []
    assert info.title == "Caspian Atom"
    assert (page.source, page.byline, page.published) == (
        server.url("/c.html"),
        "Arif Aliyev",
        "2023-04-03",
    )

    server.requests.clear()
    documents, skipped, info = fetch_feed(
        server.url("/feed.rss"),
        timeout=2,
        known={server.url("/b.html"), server.url("/gone.html"), server.url("/also-gone.html")},
    )
    assert (documents, skipped, info.known) == ([], [], 3)
    assert server.requests == ["/feed.rss"]  # the known articles were not fetched


def test_a_feed_that_cannot_be_read_is_one_line(server):
    for path, reason in (
        ("/missing.rss", "HTTP 404 Not Found"),
        ("/a.html", "not a feed (text/html)"),
    ):
        url = server.url(path)
        documents, skipped, info = fetch_feed(url, timeout=2)
        assert documents == [] and info.fetched_at is None
        assert reasons(skipped) == {url: f"{url}: {reason}"}


def test_help_imports_neither_httpx_nor_feedparser():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from assistant.frontends.cli import main\n"
        "import assistant.indexing.writer\n"
        "assert CliRunner().invoke(main, ['index', 'add', '--help']).exit_code == 0\n"
        "print(sorted(m for m in ('httpx', 'feedparser') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.model
def test_pages_and_feeds_are_added_and_updated(server, tmp_path):
    index_dir = tmp_path / "idx"
    page, feed = server.url("/a.html"), server.url("/feed.rss")
    report = IndexWriter(index_dir).add([], urls=[page, server.url("/missing")], feeds=[feed])

    assert set(report.files_embedded) == {page, server.url("/b.html"), server.url("/gone.html")}
    assert set(reasons(report.skipped)) == {server.url("/missing"), server.url("/also-gone.html")}
    assert [w.source for w in report.warnings] == [feed]  # gone.html from the feed's text
    manifest = read_manifest(index_dir)
    assert manifest.urls == [page]
    assert manifest.feeds[feed]["title"] == "Caspian Wire"
    assert manifest.pages[page]["feed"] is None
    assert manifest.pages[server.url("/b.html")]["feed"] == feed
    assert manifest.pages[page]["fetched_at"]
    assert manifest.files == {}  # pages are not files: status and verify leave them be
    assert_offsets_hold(index_dir)

    # Nothing changed on the server: nothing is embedded, the check is recorded.
    same = IndexWriter(index_dir).update()
    assert (same.files_embedded, same.passages_embedded) == ([], 0)
    assert same.files_unchanged == 3

    # The page changes, and the feed gets a new entry: only those two are embedded.
    status, kind, body = server.routes["/a.html"]
    extra = "<p>A third round of talks on the border crossings is planned for June.</p>"
    server.routes["/a.html"] = (
        status,
        kind,
        body.replace(b"</article>", extra.encode() + b"</article>"),
    )
    server.feed_items.append({"link": "/c.html", "title": "Ferry restarts"})
    server.publish_feed()
    changed = IndexWriter(index_dir).update()
    assert set(changed.files_embedded) == {page, server.url("/c.html")}
    assert changed.files_unchanged == 2  # b.html and gone.html were not fetched again
    assert changed.files_removed == []
    with Index(index_dir) as index:
        hit = index.search("third round of talks planned for June", k=1)[0]
        assert hit.passage.source == page
    assert_offsets_hold(index_dir)

    # The server fails: the indexed copy stays, and the failure is said.
    server.routes["/a.html"] = (500, "text/html", b"oops")
    failing = IndexWriter(index_dir).update()
    assert failing.files_removed == [] and failing.documents == changed.documents
    assert f"{page}: HTTP 500 Internal Server Error; the indexed copy stays" in [
        w.reason for w in failing.warnings
    ]

    listed = {info.source: info for info in IndexWriter(index_dir).sources()}
    assert listed[page].modified == read_manifest(index_dir).pages[page]["fetched_at"]
    assert listed[page].passages == 4 and listed[server.url("/b.html")].published == "2023-04-04"

    # A feed's article goes with its feed (the next update would bring it back).
    with pytest.raises(UsageError, match="is an article of the feed"):
        IndexWriter(index_dir).remove([server.url("/b.html")])
    removed = IndexWriter(index_dir).remove([feed])
    assert removed.files_removed == sorted(
        server.url(p) for p in ("/b.html", "/c.html", "/gone.html")
    )
    manifest = read_manifest(index_dir)
    assert (list(manifest.pages), manifest.feeds, manifest.urls) == ([page], {}, [page])


@pytest.mark.model
def test_cli_adds_a_page_reports_the_404_and_cites_the_url(cli, server, tmp_path):
    index_dir = str(tmp_path / "idx")
    page, missing = server.url("/a.html"), server.url("/missing")
    result = cli("index", "add", page, missing, "--index", index_dir)
    assert result.exit_code == 0, result.output
    assert f"skipped: {missing}: HTTP 404 Not Found" in result.stderr
    assert "indexed 1 documents" in result.stdout

    result = cli("ask", "What did the foreign ministry say about the talks?", "--index", index_dir)
    assert result.exit_code == 0, result.output
    assert page in result.stdout
    answer = cli(
        "ask", "What did the foreign ministry say about the talks?", "--index", index_dir, "--json"
    )
    citations = json.loads(answer.stdout)["citations"]
    assert citations and citations[0]["source"] == page


def test_the_timeout_bounds_the_whole_fetch_even_a_trickle_of_headers():
    # A server that sends its status line and headers one byte every 0.2 s: each read
    # is well within the client's per-read timeout (300 s), so only a limit on the
    # whole fetch ends it. That limit is measured on a fake clock the test moves.
    import socket
    import threading
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop, accepted = threading.Event(), threading.Event()

    def trickle() -> None:
        connection, _ = listener.accept()
        accepted.set()
        with connection:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"a" * 500:
                if stop.is_set():
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.2)

    threading.Thread(target=trickle, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/slow-headers.html"
    clock, result = FakeClock(), {}
    fetching = threading.Thread(
        target=lambda: result.setdefault("value", fetch_pages([url], timeout=300, clock=clock)),
        daemon=True,
    )
    fetching.start()
    try:
        assert accepted.wait(60), "the fetch never connected"
        clock.advance(299.5)
        fetching.join(0.5)
        assert fetching.is_alive() and not result, "the fetch ended before its limit"
        clock.advance(1)
        fetching.join(60)  # a guard against a hang, not a measure of speed
        assert not fetching.is_alive(), "the limit passed on the clock and the fetch went on"
    finally:
        stop.set()
        listener.close()
    documents, skipped = result["value"]
    assert documents == []
    assert reasons(skipped) == {url: f"{url}: timed out after 300 s"}
