"""Mastodon hashtag timelines: public, no login, paged with `min_id` and the `Link` header.

The first run reads the newest pages (at most `max_pages_first_run`, 40 statuses each) and
remembers the newest status id. Later runs ask for statuses newer than it (`min_id`) and
walk the `prev` links upwards, saving the newest id after every page; a poll with nothing new
is one request answering `[]`. Status HTML is turned into plain text with the standard
library's HTML parser (hashtags stay as `#tag` text); pictures are handled like Instagram's,
videos and GIFs keep their preview picture and the video URL.
"""

from __future__ import annotations

from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

from requests.utils import parse_header_links

from campaign_worker.config.campaigns import MastodonConfig
from campaign_worker.post import MediaRef, ParsedPost, extract_hashtags, make_post
from campaign_worker.sources.base import HashtagRun, Source, register
from campaign_worker.sources.http import JsonClient
from campaign_worker.sources.status import SourceFailure

PLATFORM = "mastodon"
PAGE_SIZE = 40
MAX_CATCH_UP_PAGES = 50  # safety net; the request budget normally ends a long catch-up first


class _TextExtractor(HTMLParser):
    """Collects the text of status HTML: paragraphs and line breaks become newlines."""

    BLOCKS = {"p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6"}
    SKIP = {"script", "style", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:  # noqa: ANN001
        if tag in self.SKIP:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in self.BLOCKS and self.parts and not self.parts[-1].endswith("\n\n"):
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str | None) -> str:
    """Plain text of untrusted status HTML; tags are dropped, entities decoded."""
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def _https(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith("https://") and len(value) <= 2000 else None


def _media(attachments: list[dict]) -> list[MediaRef]:
    refs: list[MediaRef] = []
    for attachment in attachments or []:
        if not isinstance(attachment, dict):
            continue
        kind = attachment.get("type")
        if kind == "image":
            refs.append(MediaRef(len(refs), "image", url=_https(attachment.get("url"))))
        elif kind in ("gifv", "video"):
            refs.append(MediaRef(len(refs), "video", url=_https(attachment.get("preview_url")),
                                 video_url=_https(attachment.get("url"))))
    return refs


def post_from_status(status: dict[str, Any]) -> ParsedPost:
    """A Mastodon status as a ParsedPost; the ActivityPub `uri` identifies it on every instance."""
    uri = status.get("uri") or status.get("url")
    if not isinstance(uri, str) or not uri.startswith("https://"):
        raise ValueError("status without uri")
    created = datetime.fromisoformat(str(status["created_at"]).replace("Z", "+00:00"))
    account = status.get("account") or {}
    media = _media(status.get("media_attachments") or [])
    tags = [t.get("name", "") for t in status.get("tags") or [] if isinstance(t, dict)]
    text = html_to_text(status.get("content"))
    return make_post(
        platform=PLATFORM,
        external_id=uri,
        caption=text,
        posted_at=created,
        author_username=account.get("acct") if isinstance(account.get("acct"), str) else None,
        author_id=str(account["id"]) if isinstance(account.get("id"), (str, int)) else None,
        permalink=_https(status.get("url")) or uri,
        media_type="sidecar" if len(media) > 1 else (media[0].kind if media else "image"),
        media=media,
        hashtags=list(dict.fromkeys([*extract_hashtags(text), *(t.lower() for t in tags if t)])),
        like_count=status.get("favourites_count"),
        comment_count=status.get("replies_count"),
        raw={"source": "mastodon", "id": str(status.get("id", "")), "sensitive": bool(status.get("sensitive")),
             "spoiler_text": str(status.get("spoiler_text") or "")[:500], "language": status.get("language")},
    )


def _numeric(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _link(client: JsonClient, rel: str, instance_host: str) -> str | None:
    """The `rel` link of the last response, if it stays on the same instance."""
    header = client.last_headers.get("Link") or client.last_headers.get("link")
    if not header:
        return None
    for link in parse_header_links(header):
        if link.get("rel") == rel and urlsplit(link.get("url", "")).netloc == instance_host:
            return link["url"]
    return None


def _page(client: JsonClient, url: str, params: dict | None, tag: str) -> tuple[int, int, list[dict]]:
    """How many statuses the page held, the newest id on it, and those worth storing (no boosts)."""
    body = client.get(url, params, what=f"#{tag} Mastodon")
    if not isinstance(body, list):
        raise SourceFailure("malformed_response", "Zeitleiste ist keine Liste / timeline is not a list")
    newest = max((_numeric(s.get("id")) for s in body if isinstance(s, dict)), default=-1)
    return len(body), newest, [s for s in body if isinstance(s, dict) and not s.get("reblog")]


def _store_page(run: HashtagRun, statuses: list[dict]) -> list[ParsedPost]:
    posts = []
    for status in statuses:
        try:
            posts.append(post_from_status(status))
        except (ValueError, TypeError, KeyError, AttributeError):
            run.skipped_nodes += 1
    run.store(posts)
    return posts


@register
class MastodonSource(Source):
    """A public tag timeline of one instance; no login."""

    type = "mastodon"
    config: MastodonConfig
    client: JsonClient  # made by `open`

    def open(self) -> None:
        self.client = JsonClient(self.http, self.budget, self.policy.for_interval(self.config.poll_interval_hours))

    def collect(self, run: HashtagRun) -> None:
        """Statuses newer than the saved newest id, or the newest pages on the first run."""
        source, client = self.config, self.client
        instance = source.instance.rstrip("/")
        host = urlsplit(instance).netloc
        url = f"{instance}/api/v1/timelines/tag/{quote(run.hashtag, safe='')}"
        newest = (run.cursor or {}).get("newest_id")
        run.strategy = "api"
        if newest:
            params: dict | None = {"limit": PAGE_SIZE, "min_id": newest}
            for _ in range(MAX_CATCH_UP_PAGES):
                size, page_newest, statuses = _page(client, url, params, run.hashtag)
                run.pages += 1
                if not size:
                    break
                _store_page(run, statuses)
                newest = str(max(_numeric(newest), page_newest))
                run.save_cursor({"newest_id": newest})
                url = _link(client, "prev", host)
                params = None if url is None or "limit=" in url else {"limit": PAGE_SIZE}
                if url is None or size < PAGE_SIZE:  # a short page: nothing newer is left
                    break
                run.check_stop()
        else:
            next_url: str | None = url
            params = {"limit": PAGE_SIZE}
            for page in range(source.max_pages_first_run):
                size, page_newest, statuses = _page(client, next_url, params, run.hashtag)
                run.pages += 1
                _store_page(run, statuses)
                if page == 0 and page_newest >= 0:
                    run.save_cursor({"newest_id": str(page_newest)})
                next_url = _link(client, "next", host)
                params = None if next_url is None or "limit=" in next_url else {"limit": PAGE_SIZE}
                if next_url is None or size < PAGE_SIZE:
                    break
                run.check_stop()
        run.complete = True
