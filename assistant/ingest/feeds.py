"""News feeds as sources: an RSS or Atom feed (feedparser) names the articles to index.

Each entry's article page is fetched and extracted like any web page; the feed's title,
date and author fill what the page does not state. An entry whose page fails, or that
has no link, is indexed from the text the feed itself carries, when it carries any.
``known`` lets ``index update`` fetch only the entries it has not indexed yet, at most
``limit`` of them per fetch (the others wait for the next update, with a note). Any
failure of one entry costs that entry, and any failure of the feed costs that feed: one
``skipped:`` line each. httpx and feedparser are imported only when a feed is read.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field

from ..extras import require
from .addresses import AddressPolicy
from .bodies import usable_charset
from .limits import DEFAULT_FEED_LIMIT
from .sources import SkippedFile, SourceDocument, UnreadableSource, document_from_html
from .web import (
    DEFAULT_TIMEOUT,
    MAX_PAGE_BYTES,
    FetchedBody,
    FetchFailed,
    Progress,
    WebDocument,
    failure_reason,
    fetch_body,
    http_client,
    is_web_url,
    page_document,
    web_document,
)

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
)


@dataclass
class FeedInfo:
    """What the feed said about itself, and what became of its entries."""

    url: str  # as given
    final_url: str | None = None
    title: str | None = None
    link: str | None = None  # the site the feed belongs to
    fetched_at: str | None = None
    entries: int = 0  # in the feed now
    known: int = 0  # of those, already indexed (not fetched again)
    # Entries indexed from the feed's own text because their page failed: "url: reason".
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Entry:
    source: str  # the article's URL, or feed URL#entry id for an entry without a link
    link: str | None
    title: str | None
    byline: str | None
    published: str | None
    content: str | None  # HTML or plain text the feed carries for the entry


def fetch_feed(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_PAGE_BYTES,
    known: set[str] | frozenset[str] = frozenset(),
    progress: Progress | None = None,
    policy: AddressPolicy | None = None,
    limit: int = DEFAULT_FEED_LIMIT,
) -> tuple[list[SourceDocument], list[SkippedFile], FeedInfo]:
    """The feed's articles (:class:`~assistant.ingest.web.WebDocument`, ``feed`` set to
    ``url``), the entries that could not be indexed at all (``SkippedFile(source,
    reason)``; a feed that cannot be read is one such line, under its own URL), and
    :class:`FeedInfo`. Entries whose source is in ``known`` are not fetched, and at
    most ``limit`` others are, in the feed's order. An entry's link to a private address
    is refused unless it is on the feed's own server or ``policy`` allows private
    addresses."""
    info = FeedInfo(url=url)
    policy = policy or AddressPolicy()
    with http_client(timeout) as client:
        try:
            fetched = fetch_body(
                client, url, timeout=timeout, max_bytes=max_bytes, accept=FEED_TYPES, policy=policy
            )
            entries = _read_feed(fetched, info)
        except Exception as error:  # a hostile feed costs that feed only
            info.fetched_at = None
            return [], [SkippedFile(url, failure_reason(url, error))], info
        fresh = [entry for entry in entries if entry.source not in known]
        info.known = len(entries) - len(fresh)
        if len(fresh) > limit:
            info.notes.append(
                f"{url}: {len(fresh):,} new entries; the first {limit:,} fetched, the others"
                " at the next update (--feed-limit)"
            )
            fresh = fresh[:limit]
        documents, skipped = _articles(client, fresh, info, timeout, max_bytes, progress, policy)
    return documents, skipped, info


def _articles(client, entries: list[_Entry], info: FeedInfo, timeout, max_bytes, progress, policy):
    """Each entry's document, or its ``skipped:`` line, whatever went wrong with it."""
    documents: list[SourceDocument] = []
    skipped: list[SkippedFile] = []
    for number, entry in enumerate(entries, 1):
        if progress:
            progress("fetching", number, len(entries))
        try:
            document = _article(client, entry, info, timeout, max_bytes, policy)
        except Exception as error:  # one entry's failure is its own
            skipped.append(SkippedFile(entry.source, failure_reason(entry.source, error)))
            continue
        document.outlet = document.outlet or info.title
        documents.append(document)
    return documents, skipped


def _read_feed(fetched: FetchedBody, info: FeedInfo) -> list[_Entry]:
    feedparser = require("feedparser", "web", "reading news feeds")

    headers = {"content-type": fetched.content_type or "application/xml"}
    charset = usable_charset(fetched.charset)  # feedparser would trip on "idna"
    if charset:
        headers["content-type"] += f"; charset={charset}"
    parsed = feedparser.parse(fetched.body, response_headers=headers)
    if not parsed.get("version") and not parsed.entries:
        why = parsed.get("bozo_exception")
        detail = f" ({type(why).__name__}: {why})" if why else ""
        raise FetchFailed(f"{fetched.url}: not an RSS or Atom feed{detail}")
    info.final_url = fetched.final_url
    info.fetched_at = fetched.fetched_at
    info.title = _one_line(parsed.feed.get("title"))
    info.link = _clean(parsed.feed.get("link"))
    entries: dict[str, _Entry] = {}
    for number, raw in enumerate(parsed.entries, 1):
        entry = _entry(fetched.url, number, raw)
        entries.setdefault(entry.source, entry)  # a feed may list an article twice
    info.entries = len(entries)
    return list(entries.values())


def _entry(feed_url: str, number: int, raw) -> _Entry:
    link = _clean(raw.get("link"))
    if link and not is_web_url(link):
        link = None
    ident = _clean(raw.get("id")) or str(number)
    content = None
    if raw.get("content"):
        content = raw["content"][0].get("value")
    content = _clean(content or raw.get("summary"))
    stamp = raw.get("published_parsed") or raw.get("updated_parsed")
    return _Entry(
        source=link or f"{feed_url}#{ident}",
        link=link,
        title=_one_line(raw.get("title")),
        byline=_one_line(raw.get("author")),
        published=time.strftime("%Y-%m-%d", stamp) if stamp else None,
        content=content,
    )


def _article(
    client,
    entry: _Entry,
    info: FeedInfo,
    timeout: float,
    max_bytes: int,
    policy: AddressPolicy | None = None,
) -> WebDocument:
    """The entry's page, or else the feed's own text for it."""
    failure = f"{entry.source}: the entry has no link"
    if entry.link:
        try:
            fetched = fetch_body(
                client,
                entry.link,
                timeout=timeout,
                max_bytes=max_bytes,
                policy=policy,
                trusted=info.url,  # the feed the user gave: its own server may be private
            )
            return page_document(
                fetched,
                title=entry.title,
                byline=entry.byline,
                published=entry.published,
                feed=info.url,
            )
        except UnreadableSource as error:
            failure = str(error)
    if not entry.content:
        raise UnreadableSource(f"{failure}, and the feed gives no text for it")
    document = _from_feed_text(entry, info)
    info.notes.append(f"{failure}; indexed the text the feed gives")
    return document


def _from_feed_text(entry: _Entry, info: FeedInfo) -> WebDocument:
    content = entry.content or ""
    if "<" not in content:  # plain text: paragraphs on blank lines, as markup
        paragraphs = [part.strip() for part in content.split("\n\n") if part.strip()]
        content = "".join(f"<p>{html.escape(part)}</p>" for part in paragraphs)
    # A bare fragment of one paragraph parses to nothing in lxml: give it a page.
    page = f"<html><body><article>{content}</article></body></html>"
    document = document_from_html(
        page,
        entry.source,
        url=entry.link,
        title=entry.title,
        byline=entry.byline,
        published=entry.published,
    )
    body = (entry.content or "").encode("utf-8")
    fetched = FetchedBody(
        url=entry.source,
        final_url=entry.link or entry.source,
        body=body,
        content_type="text/html",
        charset="utf-8",
        fetched_at=info.fetched_at or "",
    )
    return web_document(document, fetched, feed=info.url)


def _clean(value) -> str | None:
    """A feed's string, stripped; None for a missing or blank one."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _one_line(value) -> str | None:
    """A title or author as one line (feeds wrap them)."""
    value = _clean(value)
    return " ".join(value.split()) if value else None
