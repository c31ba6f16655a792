"""No server-side request forgery: a redirect or a feed entry that leads to a private
address (loopback, link-local, RFC 1918, fc00::/7) is refused after DNS resolution,
unless ``--allow-private-urls``; a URL the user gives is fetched wherever it is, and
the output says so. Two real servers on 127.0.0.1: the one the user gives, and an
"internal" one on another port that must never see a request."""

from __future__ import annotations

import socket

import pytest

from assistant.indexing.web import fetch_web
from assistant.ingest import addresses
from assistant.ingest.feeds import fetch_feed
from assistant.ingest.web import fetch_pages

from .web_server import ARTICLE_C, FixtureServer, rss


@pytest.fixture
def servers():
    with FixtureServer() as given, FixtureServer() as internal:
        internal.routes["/secret.html"] = (200, "text/html", ARTICLE_C.encode())
        yield given, internal


def redirect(server: FixtureServer, path: str, target: str) -> None:
    """``path`` on ``server`` answers 302 to ``target`` (an absolute URL)."""
    handle = server.handle

    def handler(request):
        if request.path != path:
            return handle(request)
        request.send_response(302)
        request.send_header("Location", target)
        request.send_header("Content-Length", "0")
        request.end_headers()
        return None

    server.handle = handler


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-public"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_kinds(address, kind):
    assert addresses.address_kind(address) == kind


def test_a_redirect_to_another_local_port_is_refused(servers):
    given, internal = servers
    redirect(given, "/jump", internal.url("/secret.html"))
    documents, skipped = fetch_pages([given.url("/jump"), given.url("/a.html")], timeout=5)

    assert [d.source for d in documents] == [given.url("/a.html")]
    (item,) = skipped
    assert item.reason == (
        f"{given.url('/jump')}: redirected to {internal.url('/secret.html')}, 127.0.0.1"
        " is a loopback address: refused (a server may not send the fetch to a private"
        " address; --allow-private-urls allows it)"
    )
    assert internal.requests == []  # never asked


def test_a_redirect_to_the_metadata_service_is_refused_before_connecting(servers):
    given, _ = servers
    redirect(given, "/cloud", "http://169.254.169.254/latest/meta-data/")
    documents, (item,) = fetch_pages([given.url("/cloud")], timeout=5)
    assert documents == []
    assert "169.254.169.254 is a link-local address: refused" in item.reason


def test_a_feed_entry_on_another_local_server_is_refused(servers):
    given, internal = servers
    items = [{"link": "/b.html", "title": "Flood barriers hold"}]
    feed = rss(given.base, items).replace(
        "</channel>",
        f"<item><title>Internal</title><link>{internal.url('/secret.html')}</link>"
        "<guid>internal</guid></item></channel>",
    )
    given.routes["/feed.rss"] = (200, "application/rss+xml", feed.encode())

    documents, skipped, _ = fetch_feed(given.url("/feed.rss"), timeout=5)
    # The feed's own server is the one the user gave: its articles come in.
    assert [d.source for d in documents] == [given.url("/b.html")]
    (item,) = skipped
    assert item.source == internal.url("/secret.html")
    assert "127.0.0.1 is a loopback address: refused" in item.reason
    assert internal.requests == []


def test_allow_private_urls_follows_them_and_says_so(servers):
    given, internal = servers
    redirect(given, "/jump", internal.url("/secret.html"))
    web = fetch_web([given.url("/jump")], [], None, None, allow_private=True)

    assert list(web.documents) == [given.url("/jump")] and web.skipped == []
    assert internal.requests == ["/secret.html"]
    assert [note.reason for note in web.notes] == [
        f"{given.url('/jump')}: 127.0.0.1 is a loopback address;"
        " fetched because --allow-private-urls was given",
    ]


def test_a_given_url_that_is_private_is_fetched_and_the_output_says_so(servers):
    given, _ = servers
    web = fetch_web([given.url("/a.html"), given.url("/moved")], [], None, None)

    assert list(web.documents) == [given.url("/a.html"), given.url("/moved")]
    assert [note.reason for note in web.notes] == [
        f"{given.url('/a.html')}: 127.0.0.1 is a loopback address; fetched because it was given",
        f"{given.url('/moved')}: 127.0.0.1 is a loopback address; fetched because it was given",
    ]


def fake_resolver(monkeypatch, port: int, answers: list[list[str]]):
    """``rebind.test`` resolves to each of ``answers`` in turn (the last one for
    ever after); every other name as the system resolves it."""
    real = socket.getaddrinfo
    calls = []

    def getaddrinfo(host, *args, **kwargs):
        if host != "rebind.test":
            return real(host, *args, **kwargs)
        found = answers[min(len(calls), len(answers) - 1)]
        calls.append(found)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in found]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


def test_every_address_a_name_resolves_to_is_checked(servers, monkeypatch):
    given, internal = servers
    port = int(internal.base.rsplit(":", 1)[1])
    fake_resolver(monkeypatch, port, [["93.184.216.34", "127.0.0.1"]])
    redirect(given, "/jump", f"http://rebind.test:{port}/secret.html")
    _, (item,) = fetch_pages([given.url("/jump")], timeout=5)
    assert "rebind.test resolves to 127.0.0.1, a loopback address: refused" in item.reason
    assert internal.requests == []


def test_a_name_that_resolves_public_then_private_is_caught_at_the_connection(servers, monkeypatch):
    # DNS rebinding: the check sees a public address, the connection gets loopback.
    # The address the socket reached is checked again before the request is sent.
    given, internal = servers
    port = int(internal.base.rsplit(":", 1)[1])
    calls = fake_resolver(monkeypatch, port, [["93.184.216.34"], ["127.0.0.1"]])
    redirect(given, "/jump", f"http://rebind.test:{port}/secret.html")
    _, (item,) = fetch_pages([given.url("/jump")], timeout=5)
    assert len(calls) == 2  # the check's resolution, then the connection's
    assert "rebind.test resolves to 127.0.0.1, a loopback address: refused" in item.reason
    assert internal.requests == []


def test_the_cli_takes_allow_private_urls(cli):
    for command in ("add", "update"):
        result = cli("index", command, "--help")
        assert "--allow-private-urls" in result.output


def test_a_proxy_from_the_environment_is_not_used(servers, monkeypatch):
    # The address check sees the connections the fetcher makes; through a proxy it
    # would see only the proxy's.
    given, _ = servers
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    documents, skipped = fetch_pages([given.url("/a.html")], timeout=5)
    assert skipped == [] and len(documents) == 1
