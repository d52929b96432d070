"""Enrich the posts of a time window with what their links point at: the logic behind `post_link_enrichments`.

Links are found in the text, fetched by the safe fetcher (each distinct URL once per run, however
many posts share it), parsed (HTML with trafilatura: title and main text; plain text as is) and stored
per post as `post_enrichment(kind='crawl')` = {"links": [...]}, one entry per link, failures with
their reason. A post is fetched again only when its set of links changed (or with `refetch`); a post
whose links were all removed loses its crawl row.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Engine, and_, select

from appdb.tables import post, post_enrichment
from assets.posts.report import Tally
from assets.posts.store import UpsertCounts, delete_enrichments, in_window, iter_pages, upsert_enrichments
from resources.web import FetchResult

CRAWL = "crawl"
MAX_LINKS_PER_POST = 10
MAX_TEXT_CHARS = 20_000
PAGE_ROWS = 1000
EXTRACT_FAILED = "extract_failed"
# Any scheme, so that ftp:// or file:// links are recorded as refused rather than silently ignored.
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s<>\"'«»]+")
_TRAILING = ".,;:!?)]}…"


def find_urls(text: str) -> list[str]:
    """Distinct links of a post in order of appearance, without trailing punctuation."""
    urls = []
    for match in _URL.finditer(text):
        url = match.group()
        while url and url[-1] in _TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break  # a balanced "(...)" belongs to the URL (Wikipedia-style)
            url = url[:-1]
        if url not in urls:
            urls.append(url)
    return urls


def extract(result: FetchResult, max_chars: int = MAX_TEXT_CHARS) -> dict:
    """The stored entry of one fetched URL: title and main text, or the failure reason."""
    entry: dict = {"url": result.url}
    if result.final_url and result.final_url != result.url:
        entry["final_url"] = result.final_url
    if not result.ok:
        entry.update(ok=False, reason=result.reason, detail=result.detail)
        return entry
    text = result.body.decode(result.encoding or "utf-8", errors="replace")
    title = None
    if result.content_type in ("text/html", "application/xhtml+xml"):
        import trafilatura

        try:
            document = trafilatura.bare_extraction(text, url=result.final_url, with_metadata=True, include_comments=False)
        except Exception as exc:  # noqa: BLE001 - a hostile page must not stop the run
            entry.update(ok=False, reason=EXTRACT_FAILED, detail=f"{exc.__class__.__name__}: {exc}"[:300])
            return entry
        title = getattr(document, "title", None) if document is not None else None
        text = (getattr(document, "text", None) or "") if document is not None else ""
    text = text.strip()
    entry.update(
        ok=True,
        content_type=result.content_type,
        title=title,
        text=text[:max_chars],
        text_truncated=len(text) > max_chars,
    )
    return entry


@dataclass
class CrawlReport:
    posts: int = 0
    posts_with_links: int = 0
    posts_unchanged: int = 0
    posts_crawled: int = 0
    urls_distinct: int = 0
    urls_shared: int = 0  # distinct URLs that appear in more than one crawled post (fetched once)
    urls_ok: int = 0
    links_over_limit: int = 0
    failures: Tally = field(default_factory=Tally)  # distinct URLs, by reason
    bytes_read: int = 0
    rows: UpsertCounts = field(default_factory=UpsertCounts)
    timings: Counter = field(default_factory=Counter)


def _posts_query(start: datetime, end: datetime):
    enrichment = post_enrichment.alias("enrichment")
    return (
        select(post.c.id, post.c.text, enrichment.c.data.label("crawl"))
        .select_from(post.outerjoin(enrichment, and_(enrichment.c.post_id == post.c.id, enrichment.c.kind == CRAWL)))
        .where(in_window(start, end))
    )


def enrich_links(engine: Engine, start: datetime, end: datetime, fetcher, *, concurrency: int = 4, refetch: bool = False) -> CrawlReport:
    report = CrawlReport()
    fetched: dict[str, dict] = {}  # url -> stored entry: each URL is fetched once per run, across pages
    for page in iter_pages(engine, _posts_query(start, end), post.c.id, PAGE_ROWS):
        _crawl_page(engine, page, fetcher, concurrency, refetch, report, fetched)
    return report


def _crawl_page(
    engine: Engine, page: list, fetcher, concurrency: int, refetch: bool, report: CrawlReport, entries: dict[str, dict]
) -> None:
    report.posts += len(page)
    todo: dict[int, list[str]] = {}
    stale: list[int] = []
    for row in page:
        urls = find_urls(row.text)
        if len(urls) > MAX_LINKS_PER_POST:
            report.links_over_limit += len(urls) - MAX_LINKS_PER_POST
            urls = urls[:MAX_LINKS_PER_POST]
        if not urls:
            if row.crawl is not None:
                stale.append(row.id)
            continue
        report.posts_with_links += 1
        previous = [link.get("url") for link in (row.crawl or {}).get("links", [])]
        if previous == urls and not refetch:
            report.posts_unchanged += 1
            continue
        todo[row.id] = urls
    distinct = [url for url in dict.fromkeys(url for urls in todo.values() for url in urls) if url not in entries]
    report.urls_distinct += len(distinct)
    usage = Counter(url for urls in todo.values() for url in set(urls))
    report.urls_shared += sum(1 for url in distinct if usage[url] > 1)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="crawler") as pool:
        fetched = dict(zip(distinct, pool.map(fetcher.fetch, distinct)))
    report.timings["fetching"] += time.perf_counter() - started
    started = time.perf_counter()
    for url, result in fetched.items():
        report.bytes_read += len(result.body)
        entry = extract(result)
        entries[url] = entry
        if entry["ok"]:
            report.urls_ok += 1
        else:
            report.failures.add(entry["reason"], f"{url}: {entry['detail']}"[:200])
    report.timings["extracting"] += time.perf_counter() - started

    if not todo and not stale:
        return
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        report.rows.add(upsert_enrichments(conn, CRAWL, {pid: {"links": [entries[u] for u in urls]} for pid, urls in todo.items()}, now))
        report.rows.deleted += delete_enrichments(conn, CRAWL, stale)
    report.posts_crawled += len(todo)
