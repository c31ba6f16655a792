"""A real HTTP server on 127.0.0.1 (port 0, a thread) serving fixture pages, feeds and
each kind of failure the web sources must report: tests never reach the internet."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

ARTICLE_A = """<!DOCTYPE html>
<html><head><title>Border talks resume in Baku</title>
<meta name="author" content="Leyla Mammadova">
<meta property="article:published_time" content="2023-04-02">
<meta property="og:site_name" content="Caspian Courier"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Border talks resume in Baku</h1>
<p>Negotiators from Azerbaijan and Armenia met in Baku on Sunday to discuss the
132-kilometre section of the border that changed hands after the 2020 war.</p>
<p>The foreign ministry said the talks were constructive and would continue next month
in Tbilisi, according to a statement published after the meeting ended.</p>
<p>Observers from the European Union attended the first session as guests of both
delegations, a spokesman for the mission told reporters outside the hotel.</p>
</article><footer>Copyright Caspian Courier</footer></body></html>
"""

# No author or date in the markup: the feed's entry states them.
ARTICLE_B = """<!DOCTYPE html>
<html><head><title>Flood barriers hold along the Araz river</title></head>
<body><article><h1>Flood barriers hold along the Araz river</h1>
<p>Engineers said on Tuesday that the new flood barriers along the Araz river held
through three days of heavy rain, sparing the villages downstream.</p>
<p>The regional governor promised to extend the barriers by another forty kilometres
before the spring thaw, with work to begin in January.</p>
</article></body></html>
"""

ARTICLE_C = """<!DOCTYPE html>
<html><head><title>Ferry service to Aktau restarts</title></head>
<body><article><h1>Ferry service to Aktau restarts</h1>
<p>The ferry between Baku and Aktau carried its first passengers in two years on
Friday, the port authority said, after repairs to the loading ramps were finished.</p>
<p>Tickets for the crossing sold out within hours, and a second weekly sailing will be
added from March if demand holds, a spokeswoman for the operator said.</p>
</article></body></html>
"""

FEED_TEXT = (
    "Customs officers at the Astara crossing seized four tonnes of smuggled tea on"
    " Wednesday, the customs committee said in a statement."
)


def rss(base: str, items: list[dict]) -> str:
    """An RSS 2.0 feed of ``items`` ({"link", "title", "author", "date", "text"})."""
    parts = []
    for item in items:
        fields = [f"<title>{escape(item['title'])}</title>"]
        if item.get("link"):
            fields.append(f"<link>{base}{item['link']}</link>")
        fields.append(f"<guid>{escape(item.get('guid') or item['title'])}</guid>")
        if item.get("author"):
            fields.append(f"<dc:creator>{escape(item['author'])}</dc:creator>")
        if item.get("date"):
            fields.append(f"<pubDate>{format_datetime(item['date'])}</pubDate>")
        if item.get("text"):
            fields.append(f"<description>{escape(item['text'])}</description>")
        parts.append(f"<item>{''.join(fields)}</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Caspian Wire</title><link>{base}/</link><description>News</description>"
        f"{''.join(parts)}</channel></rss>"
    )


def atom(base: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Caspian Atom</title>'
        f"<id>{base}/feed.atom</id><updated>2023-04-03T00:00:00Z</updated>"
        f'<entry><title>Ferry service to Aktau restarts</title><link href="{base}/c.html"/>'
        "<id>urn:c</id><updated>2023-04-03T08:00:00Z</updated>"
        "<author><name>Arif Aliyev</name></author></entry></feed>"
    )


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a client that hangs up (a timeout, a cut-off body) is what is tested


class FixtureServer:
    """Serves ``routes`` (path -> (status, content type, body)), plus the special
    failures. Tests may change ``routes`` between requests (a page that changes)."""

    SLOW_SECONDS = 3.0
    HUGE_BYTES = 40 * 1024 * 1024

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.requests: list[str] = []
        self.huge_sent = 0
        self.huge_done = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server.requests.append(self.path)
                server.handle(self)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.set_defaults()

    def set_defaults(self) -> None:
        html = "text/html; charset=utf-8"
        april = datetime(2023, 4, 4, 9, 30, tzinfo=UTC)
        self.routes = {
            "/a.html": (200, html, ARTICLE_A.encode()),
            "/b.html": (200, html, ARTICLE_B.encode()),
            "/c.html": (200, html, ARTICLE_C.encode()),
            "/doc.pdf": (200, "application/pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
            "/feed.atom": (200, "application/atom+xml", atom(self.base).encode()),
        }
        self.feed_items = [
            {
                "link": "/b.html",
                "title": "Flood barriers hold",
                "author": "Nigar Huseynova",
                "date": april,
            },
            # The page is gone, but the feed carries the article's text.
            {
                "link": "/gone.html",
                "title": "Tea seized at Astara",
                "author": "Rauf Karimov",
                "date": april,
                "text": FEED_TEXT,
            },
            # Neither a page nor any text: this entry cannot be indexed.
            {"link": "/also-gone.html", "title": "Nothing here", "date": april},
        ]
        self.publish_feed()

    def publish_feed(self) -> None:
        body = rss(self.base, self.feed_items).encode()
        self.routes["/feed.rss"] = (200, "application/rss+xml", body)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path
        if path == "/slow.html":
            time.sleep(self.SLOW_SECONDS)
            return self.send(request, 200, "text/html", ARTICLE_A.encode())
        if path in ("/loop1", "/loop2", "/moved"):
            other = {"/loop1": "/loop2", "/loop2": "/loop1", "/moved": "/a.html"}[path]
            request.send_response(302)
            request.send_header("Location", other)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return None
        if path == "/huge.html":
            return self.send_huge(request)
        status, content_type, body = self.routes.get(path, (404, "text/html", b"not found"))
        return self.send(request, status, content_type, body)

    def send(self, request, status: int, content_type: str, body: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        with contextlib.suppress(OSError):  # the client hung up (a timeout)
            request.wfile.write(body)

    def send_huge(self, request) -> None:
        """An HTML body streamed in chunks with no length given: the client must stop
        reading it at its limit, and the server sees the connection close early."""
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        piece = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>\n"
        try:
            while self.huge_sent < self.HUGE_BYTES:
                request.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.huge_sent += len(piece)
            request.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        finally:
            self.huge_done.set()

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def __enter__(self) -> FixtureServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
