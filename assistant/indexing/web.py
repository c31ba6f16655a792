"""Web pages and news feeds as sources of a write: fetched (:mod:`assistant.ingest.web`,
:mod:`assistant.ingest.feeds`), kept when unchanged, and recorded in the manifest."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import UsageError
from ..ingest.limits import DEFAULT_FEED_LIMIT
from ..ingest.sources import SkippedFile, UnreadableSource
from ..storage.layout import Manifest
from ..types import SourceDocument
from .plan import BuildReport, PendingPassage, ProgressCallback, ReusableRows, WebFetch
from .read import split_documents, with_head_spans


def web_removed(manifest: Manifest, urls: list[str]) -> WebFetch | None:
    """What ``remove`` of these pages and feeds leaves: a feed goes with its articles.
    An article of a feed that stays is refused, as a file inside an indexed folder is:
    the next ``update`` would bring it back."""
    if not urls:
        return None
    for url in urls:
        feed = manifest.pages.get(url, {}).get("feed")
        if feed and feed not in urls:
            raise UsageError(
                f"{url} is an article of the feed {feed},"
                " which would bring it back at the next update",
                hint=f"remove {feed}",
            )
    return WebFetch(
        urls=[url for url in manifest.urls if url not in urls],
        feeds={feed: info for feed, info in manifest.feeds.items() if feed not in urls},
        dropped={s for s, page in manifest.pages.items() if s in urls or page["feed"] in urls},
    )


def fetch_web(
    urls: list[str],
    feeds: list[str],
    manifest: Manifest | None,
    progress: ProgressCallback | None,
    allow_private: bool = False,
    feed_limit: int = DEFAULT_FEED_LIMIT,
) -> WebFetch:
    """Fetch ``urls`` and read ``feeds`` (only their entries not indexed yet, at most
    ``feed_limit`` of them per feed). A page or feed that fails and was indexed before
    keeps its indexed copy, with a warning (a server down for an hour must not empty
    the index); one never indexed is skipped. Each failure is one line with its URL.
    Redirects and feed entries that lead to a private address are refused unless
    ``allow_private``; a given URL that is itself private is fetched, and a note says so."""
    from ..ingest.addresses import AddressPolicy
    from ..ingest.feeds import fetch_feed
    from ..ingest.web import fetch_pages

    policy = AddressPolicy(allow_private=allow_private)
    old_pages = manifest.pages if manifest else {}
    web = WebFetch(
        urls=list(manifest.urls) if manifest else [],
        feeds=dict(manifest.feeds) if manifest else {},
    )

    def failed(item: SkippedFile, indexed: bool) -> None:
        if indexed:
            web.warnings.append(SkippedFile(item.source, f"{item.reason}; the indexed copy stays"))
        else:
            web.skipped.append(item)

    documents, skipped = fetch_pages(urls, progress=progress, policy=policy)
    for document in documents:
        web.documents.setdefault(document.source, []).append(document)
        if document.source not in web.urls:
            web.urls.append(document.source)
    for item in skipped:
        failed(item, item.source in old_pages)
    for feed in dict.fromkeys(feeds):
        known = {source for source, entry in old_pages.items() if entry["feed"] == feed}
        documents, skipped, info = fetch_feed(
            feed, known=known, progress=progress, policy=policy, limit=feed_limit
        )
        if info.fetched_at is None:  # the feed itself could not be read
            for item in skipped:
                failed(item, feed in web.feeds)
            continue
        web.feeds[feed] = {
            "title": info.title,
            "url": info.final_url,
            "fetched_at": info.fetched_at,
            "entries": info.entries,
        }
        for document in documents:
            if document.source not in web.documents:  # also given as a page: once
                web.documents[document.source] = [document]
        web.skipped.extend(skipped)
        web.warnings.extend(SkippedFile(feed, note) for note in info.notes)
    web.notes.extend(SkippedFile(note.split(": ", 1)[0], note) for note in policy.notes)
    return web


def web_rows(
    previous: object | None,
    web: WebFetch | None,
    rows: Callable[[], ReusableRows],
    same_chunking: bool,
    report: BuildReport,
) -> tuple[list[SourceDocument], list[PendingPassage], dict[str, dict]]:
    """The web documents of this write with their passages, and the manifest's page
    entries. A page fetched again whose body hash is unchanged keeps its passages and
    vectors; a changed or new one is split (and embedded later). Pages not fetched this
    time (a feed's older articles, a page whose fetch failed, every page when files are
    added) are kept as they are."""
    old_pages = previous.manifest.pages if previous else {}
    fresh = web.documents if web else {}
    documents: list[SourceDocument] = []
    pending: list[PendingPassage] = []
    pages: dict[str, dict] = {}
    report.skipped.extend(web.skipped if web else [])
    report.warnings.extend(web.warnings if web else [])
    report.notes.extend(web.notes if web else [])
    for source, loaded in fresh.items():
        first = loaded[0]
        old = old_pages.get(source)
        if old and old["sha256"] == first.sha256 and same_chunking:
            kept_docs, kept = rows().for_source(source)
            documents.extend(kept_docs)
            pending.extend(kept)
            pages[source] = {**old, "checked_at": first.fetched_at}
            report.files_unchanged += 1
            continue
        try:
            passages = split_documents(loaded)
        except UnreadableSource as error:
            report.skipped.append(SkippedFile(source, str(error)))
            continue
        documents.extend(loaded)
        pending.extend(passages)
        pages[source] = {
            "url": first.url,
            "sha256": first.sha256,
            "size": first.size,
            "fetched_at": first.fetched_at,
            "checked_at": first.fetched_at,
            "feed": first.feed,
            "documents": len(loaded),
            "passages": len(passages),
        }
        report.files_embedded.append(source)
    for source, old in old_pages.items():
        if source in pages or source in fresh or (web and source in web.dropped):
            continue
        kept_docs, kept = rows().for_source(source)
        if not same_chunking:
            kept = split_documents(with_head_spans(kept_docs, kept))
        documents.extend(kept_docs)
        pending.extend(kept)
        pages[source] = old
        report.files_unchanged += 1
    report.files_total += len(fresh)
    return documents, pending, pages


def web_fields(previous: object | None, web: WebFetch | None, pages: dict[str, dict]) -> dict:
    """The manifest's record of the web sources: the URLs and feeds this write fetched
    (old and new), else those it had; and every web document kept."""
    manifest = previous.manifest if previous else None
    urls = web.urls if web else list(manifest.urls) if manifest else []
    feeds = web.feeds if web else dict(manifest.feeds) if manifest else {}
    return {"urls": urls, "feeds": feeds, "pages": pages}
