"""Web pages as sources: fetch a URL with httpx, extract it like an ``.html`` file.

The URL as given is the document's source (what citations show); the final URL after
redirects is its ``url``. Every failure is one URL's failure, reported with the URL and
the reason, never the batch's: a timeout, an HTTP error status, a body that is not
HTML, a redirect loop, a body over the size limit. httpx is imported only here, when a
page is fetched.
"""

from __future__ import annotations

import hashlib
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from ..deadline import Deadline, tracing
from ..errors import AssistantError, FetchFailed
from ..extras import require
from .addresses import AddressPolicy, PrivateAddressRefused, both, refusal
from .bodies import content_encoding, decode_text, read_limited
from .limits import ACCEPTED_ENCODINGS, MAX_PAGE_BYTES, size_text
from .sources import SkippedFile, SourceDocument, UnreadableSource, document_from_html

# Seconds for one whole fetch (connect, redirects and body): a server that drips bytes
# must not hold an update for ever.
DEFAULT_TIMEOUT = 20.0
MAX_REDIRECTS = 10
USER_AGENT = "assistant/0.1 (news indexer)"
HTML_TYPES = ("text/html", "application/xhtml+xml")

# stage name, done, total (as indexer.ProgressCallback)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class FetchedBody:
    """What one fetch brought back, before any extraction."""

    url: str  # as asked for
    final_url: str  # after redirects
    body: bytes
    content_type: str  # media type, lower case, without parameters ("" if not given)
    charset: str | None
    fetched_at: str  # ISO 8601, UTC, seconds

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def text(self) -> str:
        """The body decoded (:func:`~assistant.ingest.bodies.decode_text`): a web
        charset the header or ``<meta>`` names, else UTF-8, never an error."""
        return decode_text(self.body, self.charset)


@dataclass
class WebDocument(SourceDocument):
    """A document read from the web: how it was fetched goes into the manifest, so that
    ``index update`` can tell a changed page from an unchanged one."""

    fetched_at: str = ""
    sha256: str = ""  # of the body as fetched
    size: int = 0
    feed: str | None = None  # the feed it came from, if any


def fetch_pages(
    urls: list[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_PAGE_BYTES,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    policy: AddressPolicy | None = None,
) -> tuple[list[SourceDocument], list[SkippedFile]]:
    """Fetch and extract each URL: its documents (:class:`WebDocument`) and, one per
    failed URL, why it was skipped (``SkippedFile(url, "url: reason")``); ``clock``
    measures each page's ``timeout``; ``policy`` says whether redirects may lead to
    private addresses (not by default) and notes those fetched."""
    documents: list[SourceDocument] = []
    skipped: list[SkippedFile] = []
    unique = list(dict.fromkeys(urls))
    with http_client(timeout) as client:
        for number, url in enumerate(unique, 1):
            if progress:
                progress("fetching", number, len(unique))
            try:
                page = fetch_page(
                    client, url, timeout=timeout, max_bytes=max_bytes, clock=clock, policy=policy
                )
                documents.append(page)
            except Exception as error:  # whatever one page does costs it only
                skipped.append(SkippedFile(url, failure_reason(url, error)))
    return documents, skipped


def failure_reason(url: str, error: Exception) -> str:
    """Why one URL failed, as its ``skipped:`` line says it. A failure that is not a
    fetch's own (a decoder, an extractor tripping on hostile markup) is still one
    URL's: the other pages, feeds and files of the write go in. Errors of the engine
    itself (the model, the index) are raised, as for files."""
    if isinstance(error, UnreadableSource):
        return str(error)
    if isinstance(error, AssistantError):
        raise error
    return f"{url}: could not be read ({type(error).__name__}: {error})"


def fetch_page(
    client,
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_PAGE_BYTES,
    clock: Callable[[], float] = time.monotonic,
    policy: AddressPolicy | None = None,
) -> WebDocument:
    """One URL as a document; raises :class:`FetchFailed` (or ``UnreadableSource`` for
    a page without main text) with the URL and the reason."""
    fetched = fetch_body(
        client,
        url,
        timeout=timeout,
        max_bytes=max_bytes,
        accept=HTML_TYPES,
        clock=clock,
        policy=policy,
    )
    return page_document(fetched)


def page_document(
    fetched: FetchedBody,
    *,
    title: str | None = None,
    byline: str | None = None,
    published: str | None = None,
    feed: str | None = None,
) -> WebDocument:
    """A fetched HTML body as a document; ``title``/``byline``/``published`` fill what
    the page does not state (a feed's entry)."""
    document = document_from_html(
        fetched.text(),
        fetched.url,
        url=fetched.final_url,
        title=title,
        byline=byline,
        published=published,
    )
    return web_document(document, fetched, feed=feed)


def web_document(
    document: SourceDocument, fetched: FetchedBody, *, feed: str | None = None
) -> WebDocument:
    fields = {name: getattr(document, name) for name in SourceDocument.__dataclass_fields__}
    return WebDocument(
        **fields,
        fetched_at=fetched.fetched_at,
        sha256=fetched.sha256,
        size=len(fetched.body),
        feed=feed,
    )


@contextmanager
def http_client(timeout: float = DEFAULT_TIMEOUT) -> Iterator:
    """One connection pool for a batch of URLs. Redirects are followed by
    :func:`fetch_body` itself, so that a loop is named as one."""
    httpx = require("httpx", "web", "fetching web pages")

    with httpx.Client(
        timeout=httpx.Timeout(timeout),
        # A new connection for each request: the fetch's watchdog knows the connections
        # it opened, and could not cut a reused one. A transport of its own: no proxy
        # from the environment, whose connections the address check could not see.
        transport=httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0)),
        follow_redirects=False,
        # Only what :func:`_read_body` can inflate in bounded steps (not br or zstd).
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ", ".join(ACCEPTED_ENCODINGS)},
    ) as client:
        yield client


def fetch_body(
    client,
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_PAGE_BYTES,
    accept: tuple[str, ...] = HTML_TYPES,
    clock: Callable[[], float] = time.monotonic,
    policy: AddressPolicy | None = None,
    trusted: str | None = None,
) -> FetchedBody:
    """GET ``url`` (following up to ``MAX_REDIRECTS`` redirects) and read its body, at
    most ``max_bytes`` of it; ``accept`` lists the media types wanted (a response
    without one must at least look like markup); ``clock`` measures ``timeout``.

    ``trusted`` is the URL the user gave (``url`` itself unless given): its server may
    be a private address; any other private address is refused unless ``policy``
    allows it (:mod:`.addresses`)."""
    import httpx

    problem = _not_web_url(url)
    if problem:
        raise FetchFailed(f"{url}: {problem}")
    seen = [url]
    current = url
    policy = policy or AddressPolicy()
    # The client's timeout bounds each read; the watchdog bounds the whole fetch,
    # redirects and a server that sends its headers a byte at a time included.
    watchdog = Deadline(timeout, weakref.WeakSet(), clock)
    try:
        with watchdog:
            while True:
                checks = (watchdog, policy.hop(url, current, trusted or url))
                response_body = _get(client, current, url, seen, checks, accept, max_bytes)
                if isinstance(response_body, str):
                    current = response_body
                    continue
                body, media_type, charset, final = response_body
                break
    except PrivateAddressRefused as refused:
        raise FetchFailed(refusal(url, current, refused)) from None
    except httpx.TimeoutException:
        raise FetchFailed(f"{url}: timed out after {timeout:g} s") from None
    except httpx.HTTPError as error:  # refused, reset, DNS, TLS, bad response
        if watchdog.expired:
            raise FetchFailed(f"{url}: timed out after {timeout:g} s") from None
        raise FetchFailed(f"{url}: {_http_error(error)}") from None
    if not media_type and not _looks_like_markup(body):
        raise FetchFailed(
            f"{url}: not {_wanted(accept)} (no content type, and it does not look so)"
        )
    return FetchedBody(
        url=url,
        final_url=final,
        body=body,
        content_type=media_type,
        charset=charset,
        fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _get(client, current: str, url: str, seen: list[str], checks, accept, max_bytes: int):
    """One request: the next URL when it redirects, else (body, media type, charset,
    final URL). ``checks``: the fetch's watchdog, and the hop's address check."""
    watchdog, address_check = checks
    extensions = {"trace": both(tracing(watchdog), address_check)}
    with client.stream("GET", current, extensions=extensions) as response:
        if response.is_redirect:
            return _next_hop(url, seen, response)
        if response.status_code >= 400:
            reason = response.reason_phrase or "error"
            raise FetchFailed(f"{url}: HTTP {response.status_code} {reason}")
        media_type, charset = _content_type(response.headers.get("content-type", ""))
        if media_type and media_type not in accept:
            raise FetchFailed(f"{url}: not {_wanted(accept)} ({media_type})")
        body = _read_body(url, response, max_bytes)
        return body, media_type, charset, str(response.url)


def _next_hop(url: str, seen: list[str], response) -> str:
    """Where a redirect leads; a URL met before is a loop, and a long chain is one too
    in practice (both fail the URL)."""
    target = str(response.url.join(response.headers["location"]))
    if target in seen:
        chain = " → ".join([*seen[seen.index(target) :], target])
        raise FetchFailed(f"{url}: redirect loop ({chain})")
    if len(seen) > MAX_REDIRECTS:
        raise FetchFailed(f"{url}: more than {MAX_REDIRECTS} redirects")
    problem = _not_web_url(target)
    if problem:
        raise FetchFailed(f"{url}: redirected to {target}, {problem}")
    seen.append(target)
    return target


def _read_body(url: str, response, max_bytes: int) -> bytes:
    """The body, streamed raw and decoded here a bounded step at a time
    (:mod:`.bodies`): cut at ``max_bytes`` of raw or decoded bytes, never held whole,
    whatever its Content-Encoding would inflate to."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchFailed(
            f"{url}: {size_text(int(declared))} is over the {size_text(max_bytes)} limit"
        )
    encoding = content_encoding(url, response.headers.get("content-encoding", ""))
    return read_limited(url, response.iter_raw(), encoding, max_bytes)


def _not_web_url(url: str) -> str | None:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ("http", "https"):
        return "not an http:// or https:// URL"
    return None


def _content_type(header: str) -> tuple[str, str | None]:
    media_type, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return media_type.strip().lower(), charset


def _looks_like_markup(body: bytes) -> bool:
    """A response without a content type: HTML (or a feed) starts with markup."""
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") and b"\x00" not in body[:8192]


def _wanted(accept: tuple[str, ...]) -> str:
    return "an HTML page" if accept == HTML_TYPES else "a feed"


def _http_error(error) -> str:
    kind = type(error).__name__
    detail = str(error).strip()
    return f"{kind}: {detail}" if detail else kind


def is_web_url(text: str) -> bool:
    """Whether a command-line argument is a web address rather than a path."""
    return text.lower().startswith(("http://", "https://"))
