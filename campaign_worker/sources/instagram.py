"""Instagram hashtags through instaloader, with a saved login, as few requests as possible.

Per hashtag the paths are tried in order: the GraphQL hashtag feed (`get_posts_resumable`,
12 posts a page, newest first, resumable), then the `web_info` top/recent sections (one
request), then — if configured — the official Graph API source. A path that is gone (404)
or answers nonsense hands over to the next; login problems, checkpoints and rate limits end
the source's run at once, because every further request would make things worse.

Request economy: posts are built only from what the feed's nodes already carry. Properties
such as `Post.owner_username`, `Post.url` or `get_sidecar_nodes()` would cost one request per
post, so they are never called; `iphone_support` is off. A poll with nothing new costs one
request: the first page, whose first post is already stored. Two things cost one request each,
counted in the budget and asked only when needed: the account name behind an owner id the feed
gives without a name (once per account, then kept: `sources.names`), and the items of a new
carousel the feed gives without them (while a request is left for the next page).

Waiting is never done here: instaloader's `RateController` is replaced by one that raises, so
a rate limit becomes the source's stored "not before" time and the scheduler's next run
continues. Every request is counted by a response hook on the session instaloader uses.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

import instaloader
import requests
from instaloader import (
    AbortDownloadException,
    ConnectionException,
    Hashtag,
    InstaloaderException,
    LoginRequiredException,
    NodeIterator,
    Post,
    QueryReturnedNotFoundException,
    RateController,
    TooManyRequestsException,
)
from instaloader.nodeiterator import FrozenNodeIterator

from campaign_worker.config.campaigns import InstagramConfig, InstagramGraphConfig
from campaign_worker.errors import CampaignWorkerError
from campaign_worker.home import Home
from campaign_worker.post import MediaRef, ParsedPost, make_post
from campaign_worker.sources import graph, names
from campaign_worker.sources.base import HashtagRun, Source, register
from campaign_worker.sources.http import RequestBudget, call_with_retries, not_before_after, parse_retry_after
from campaign_worker.sources.status import FALL_THROUGH, SourceFailure
from campaign_worker.timeutil import utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")

PLATFORM = "instagram"
PERMALINK = "https://www.instagram.com/p/{}/"
HASHTAG_QUERY_HASH = "9b498c08113f1e09617a1703c22b2f32"  # the one `Hashtag.get_posts_resumable` uses
POST_DOC_ID = "27128499623469141"  # the one `Post._obtain_metadata` uses (one post's full metadata)
SESSION_COOKIES = ("sessionid", "csrftoken", "ds_user_id")
MAX_SESSION_BYTES = 64 * 1024
SOFT_401_WAIT_SECONDS = 15 * 60  # "Please wait a few minutes before you try again."
_URL_RE = re.compile(r"^https://[^\s\x00-\x1f\x7f]{1,2000}$")
_SHORTCODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9._]{1,30}$")
PATH_DOWN_HOURS = 24  # a path that answered 404 rests this long before it is asked again


# ---------------------------------------------------------------------------------------------
# Sessions: instaloader's session file (a pickled dict of cookies) → a JSON file in the home
# ---------------------------------------------------------------------------------------------


class SessionError(CampaignWorkerError):
    """A session file that cannot be used; the message says why (German / English)."""


class _CookiesOnlyUnpickler(pickle.Unpickler):
    """instaloader pickles a plain dict of strings; anything needing a class is refused.

    Unpickling arbitrary files runs code; a dict of strings needs no `find_class` at all.
    """

    def find_class(self, module: str, name: str):  # noqa: ANN201
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_session_file(path: Path) -> dict[str, str]:
    """The cookies of an instaloader session file, checked; raises `SessionError`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SessionError(f"Sitzungsdatei nicht lesbar / cannot read session file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_SESSION_BYTES:
        raise SessionError(f"{path}: zu groß für eine Sitzungsdatei / too large for a session file")
    try:
        cookies = _CookiesOnlyUnpickler(io.BytesIO(data)).load()
    except Exception:  # pickle raises many kinds of errors on foreign data
        cookies = None
    if not isinstance(cookies, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in cookies.items()):
        raise SessionError(
            f"{path}: keine instaloader-Sitzungsdatei (erzeugt mit `instaloader --login NAME`) / "
            "not an instaloader session file (created with `instaloader --login NAME`)"
        )
    missing = [name for name in SESSION_COOKIES if not cookies.get(name)]
    if missing:
        raise SessionError(
            f"{path}: Sitzung ohne {', '.join(missing)} – nicht angemeldet / session lacks {', '.join(missing)} – not logged in"
        )
    return cookies


def session_store_path(home: Home, username: str) -> Path:
    return Path(home.data_dir) / "sessions" / f"{username.lower()}.json"


def save_session(home: Home, username: str, cookies: dict[str, str]) -> Path:
    """Keep the cookies (never a password) readable only by the owner."""
    target = session_store_path(home, username)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(target.parent, 0o700)
    document = {"username": username, "cookies": cookies, "imported_at": utcnow().isoformat()}
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(document, fh)
    os.replace(tmp, target)
    return target


@dataclass(frozen=True)
class LoadedSession:
    username: str
    cookies: dict[str, str]
    marker: str  # changes when the session is renewed or imported again


def load_session(home: Home, source: InstagramConfig) -> LoadedSession:
    """The session of an `instagram` source: its `session_file`, else the imported one."""
    if source.session_file:
        path = Path(source.session_file).expanduser()
        if not path.is_absolute():
            path = Path(home.root) / path
        try:
            cookies = read_session_file(path)
        except SessionError as exc:
            raise SourceFailure("login_required", str(exc)) from None
        stamp = str(path.stat().st_mtime_ns)
    else:
        path = session_store_path(home, source.username)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            cookies = {str(k): str(v) for k, v in document["cookies"].items()}
            stamp = str(document.get("imported_at", ""))
        except FileNotFoundError:
            raise SourceFailure(
                "login_required",
                f"keine Sitzung für {source.username} gespeichert / no session saved for {source.username}: "
                f"`campaign-worker instagram session --username {source.username} --file <Sitzungsdatei>`",
            ) from None
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise SourceFailure("login_required", f"Sitzung unlesbar / session unreadable: {path.name} ({exc})") from None
    digest = hashlib.sha256(f"{cookies.get('sessionid', '')}|{stamp}".encode()).hexdigest()[:16]
    return LoadedSession(source.username, cookies, digest)


# ---------------------------------------------------------------------------------------------
# The instaloader client: counted requests, no sleeping
# ---------------------------------------------------------------------------------------------


class RequestMeter:
    """Counts every request instaloader sends and keeps the last response for diagnosis."""

    def __init__(self, budget: RequestBudget):
        self.budget = budget
        self.sent = 0
        self.last: requests.Response | None = None

    def on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent += 1
        self.budget.spend()
        self.last = response
        return response

    def count_failed_attempt(self) -> None:
        self.sent += 1
        self.budget.spend()

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.last.headers.get("Retry-After")) if self.last is not None else None

    def last_json(self) -> Any:
        try:
            return self.last.json() if self.last is not None else None
        except ValueError:
            return None


class NoWaitRateController(RateController):
    """instaloader's rate controller, except that every wait ends the run instead of sleeping."""

    def __init__(self, context, meter: RequestMeter):
        super().__init__(context)
        self._meter = meter

    def sleep(self, secs: float) -> None:
        raise SourceFailure(
            "rate_limited",
            f"instaloader würde {secs:.0f} s warten / instaloader would wait {secs:.0f} s",
            not_before=not_before_after(secs),
        )

    def wait_before_query(self, query_type: str) -> None:
        self._meter.budget.check()
        super().wait_before_query(query_type)

    def handle_429(self, query_type: str) -> None:
        raise SourceFailure("rate_limited", "HTTP 429", not_before=not_before_after(self._meter.retry_after))


def make_loader(meter: RequestMeter, request_timeout: float = 30.0) -> instaloader.Instaloader:
    """An Instaloader that never sleeps, never retries on its own and never asks the iPhone API."""
    loader = instaloader.Instaloader(
        sleep=False,
        quiet=True,
        max_connection_attempts=1,
        request_timeout=request_timeout,
        iphone_support=False,
        rate_controller=lambda context: NoWaitRateController(context, meter),
        download_pictures=False,
        download_videos=False,
        download_video_thumbnails=False,
        save_metadata=False,
        compress_json=False,
    )
    context = loader.context
    context.error = lambda msg, repeat_at_end=True: log.info("instaloader: %s", msg)
    original_get_json = context.get_json

    def counted_get_json(path, params, host="www.instagram.com", session=None, response_headers=None, use_post=False):
        target = session or context._session
        target.hooks["response"].append(meter.on_response)
        before = meter.sent
        try:
            return original_get_json(path, params, host=host, session=session,
                                     response_headers=response_headers, use_post=use_post)
        except ConnectionException:
            if meter.sent == before:  # the request went out but no response came back
                meter.count_failed_attempt()
            raise
        finally:
            target.hooks["response"].remove(meter.on_response)

    context.get_json = counted_get_json
    return loader


class InstagramClient:
    """One logged-in instaloader per source run, shared by its hashtags."""

    def __init__(self, session: LoadedSession, budget: RequestBudget):
        self.meter = RequestMeter(budget)
        self.loader = make_loader(self.meter)
        self.loader.load_session(session.username, dict(session.cookies))
        self.session = session

    @property
    def context(self):
        return self.loader.context

    def call(self, fn: Callable[[], T]) -> T:
        """Run an instaloader call, turning whatever it raises into a `SourceFailure`."""
        try:
            return fn()
        except SourceFailure:
            raise
        except AbortDownloadException as exc:
            raise self._abort(str(exc)) from None
        except LoginRequiredException as exc:
            raise SourceFailure("login_required", _short(exc)) from None
        except QueryReturnedNotFoundException:
            raise SourceFailure("endpoint_gone", f"HTTP 404 {self._where()}") from None
        except ConnectionException as exc:
            raise self._connection(exc) from None
        except (KeyError, TypeError, IndexError, ValueError, AttributeError, AssertionError) as exc:
            # instaloader reads the JSON with plain indexing (and asserts a shortcode per node)
            body = self.meter.last_json()
            data = body.get("data") if isinstance(body, dict) else None
            if isinstance(data, dict) and "hashtag" in data and data["hashtag"] is None:
                raise SourceFailure("endpoint_gone", f"{self._where()}: data.hashtag ist leer / is null") from None
            raise SourceFailure("malformed_response", f"{self._where()}: {type(exc).__name__} {exc}"[:300]) from None
        except InstaloaderException as exc:
            raise SourceFailure("malformed_response", _short(exc)) from None

    def _where(self) -> str:
        last = self.meter.last
        return last.url.split("?")[0] if last is not None and last.url else "Instagram"

    def _abort(self, text: str) -> SourceFailure:
        if "Redirected to login page" in text:
            return SourceFailure("login_required", "Weiterleitung zur Anmeldung / redirected to the login page")
        for word in ("checkpoint_required", "challenge_required", "feedback_required"):
            if word in text:
                return SourceFailure("checkpoint", f"Instagram: {word}")
        return SourceFailure("checkpoint", _short(text))

    def _connection(self, exc: ConnectionException) -> SourceFailure:
        causes = _causes(exc)
        if any(isinstance(c, TooManyRequestsException) for c in causes):
            return SourceFailure("rate_limited", f"HTTP 429 {self._where()}", not_before=not_before_after(self.meter.retry_after))
        if any(isinstance(c, json.JSONDecodeError) for c in causes):
            return SourceFailure("malformed_response", f"{self._where()}: kein JSON / not JSON")
        if any(isinstance(c, requests.RequestException) for c in causes):
            cause = next(c for c in causes if isinstance(c, requests.RequestException))
            return SourceFailure("network", type(cause).__name__, retryable=True)
        last = self.meter.last
        status = last.status_code if last is not None else None
        text = str(exc)
        if status == 401:
            body = self.meter.last_json()
            if isinstance(body, dict) and body.get("require_login"):
                # "Please wait a few minutes" with require_login: the session is gone, waiting won't help
                return SourceFailure("login_required", f"HTTP 401 require_login {self._where()}")
            if "wait" in (last.text or "").lower():
                wait = self.meter.retry_after or SOFT_401_WAIT_SECONDS
                return SourceFailure("rate_limited", "HTTP 401 „Please wait a few minutes“", not_before=not_before_after(wait))
            return SourceFailure("login_required", f"HTTP 401 {self._where()}")
        if status == 403 or "login_required" in text:
            return SourceFailure("login_required", f"HTTP {status} login_required {self._where()}")
        if "checkpoint_required" in text or "challenge_required" in text:
            return SourceFailure("checkpoint", _short(text))
        if status is not None and (status >= 500 or status in (408, 425)):
            return SourceFailure("network", f"HTTP {status} {self._where()}", retryable=True,
                                 retry_after=self.meter.retry_after)
        return SourceFailure("malformed_response", _short(text))


def _causes(exc: BaseException) -> list[BaseException]:
    found, current = [], exc
    while current is not None and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _short(exc: object) -> str:
    return str(exc).split(" when accessing ")[0][:300]


# ---------------------------------------------------------------------------------------------
# From the nodes instaloader already holds to ParsedPost (no property that could fetch)
# ---------------------------------------------------------------------------------------------


def _url(value: Any) -> str | None:
    return value if isinstance(value, str) and _URL_RE.match(value) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, (int, float)) or not 1_262_304_000 <= value <= 4_102_444_800:
        raise ValueError(f"bad timestamp {value!r}")
    return datetime.fromtimestamp(value, tz=timezone.utc)


def post_from_node(node: dict[str, Any]) -> ParsedPost:
    """A GraphQL hashtag node (`edge_hashtag_to_media.edges[].node`) as a ParsedPost."""
    shortcode = node.get("shortcode")
    if not isinstance(shortcode, str) or not _SHORTCODE_RE.match(shortcode):
        raise ValueError("node without shortcode")
    caption_edges = (node.get("edge_media_to_caption") or {}).get("edges") or []
    caption = caption_edges[0].get("node", {}).get("text") if caption_edges else None
    typename = node.get("__typename")
    is_video = bool(node.get("is_video"))
    media: list[MediaRef] = []
    children = ((node.get("edge_sidecar_to_children") or {}).get("edges")) or []
    if typename == "GraphSidecar" and children:
        for position, edge in enumerate(children):
            child = edge.get("node") or {}
            kind = "video" if child.get("is_video") else "image"
            media.append(MediaRef(position, kind, url=_url(child.get("display_url")),
                                  video_url=_url(child.get("video_url")) if kind == "video" else None))
    else:  # a sidecar without its children in the node: its first picture is all we have for free
        media.append(MediaRef(0, "video" if is_video else "image", url=_url(node.get("display_url")),
                              video_url=_url(node.get("video_url")) if is_video else None))
    owner = node.get("owner") or {}
    likes = (node.get("edge_media_preview_like") or node.get("edge_liked_by") or {}).get("count")
    comments = (node.get("edge_media_to_comment") or node.get("edge_media_to_parent_comment") or {}).get("count")
    return make_post(
        platform=PLATFORM,
        external_id=shortcode,
        caption=caption,
        posted_at=_timestamp(node.get("taken_at_timestamp", node.get("date"))),
        author_username=owner.get("username") if isinstance(owner.get("username"), str) else None,
        author_id=str(owner["id"]) if isinstance(owner.get("id"), (str, int)) else None,
        permalink=PERMALINK.format(shortcode),
        media_type="sidecar" if typename == "GraphSidecar" else ("video" if is_video else "image"),
        media=media,
        like_count=_int(likes),
        comment_count=_int(comments),
        raw={"source": "graphql", "id": str(node.get("id", "")), "typename": typename,
             **({"sidecar_first_only": True} if typename == "GraphSidecar" and not children else {})},
    )


def _first_candidate(item: dict[str, Any]) -> str | None:
    candidates = (item.get("image_versions2") or {}).get("candidates") or []
    return _url(candidates[0].get("url")) if candidates else None


def _first_video(item: dict[str, Any]) -> str | None:
    versions = item.get("video_versions") or []
    return _url(versions[0].get("url")) if versions else None


def post_from_media(item: dict[str, Any]) -> ParsedPost:
    """A `web_info` section media (the iPhone media shape) as a ParsedPost."""
    code = item.get("code")
    if not isinstance(code, str) or not _SHORTCODE_RE.match(code):
        raise ValueError("media without code")
    media_type = {1: "image", 2: "video", 8: "sidecar"}.get(item.get("media_type"), "image")
    media: list[MediaRef] = []
    if media_type == "sidecar":
        for position, child in enumerate(item.get("carousel_media") or []):
            kind = "video" if child.get("media_type") == 2 else "image"
            media.append(MediaRef(position, kind, url=_first_candidate(child),
                                  video_url=_first_video(child) if kind == "video" else None))
    else:
        media.append(MediaRef(0, media_type, url=_first_candidate(item),
                              video_url=_first_video(item) if media_type == "video" else None))
    user = item.get("user") or {}
    caption = item.get("caption") or {}
    return make_post(
        platform=PLATFORM,
        external_id=code,
        caption=caption.get("text") if isinstance(caption, dict) else None,
        posted_at=_timestamp(item.get("taken_at")),
        author_username=user.get("username") if isinstance(user.get("username"), str) else None,
        author_id=str(user["pk"]) if isinstance(user.get("pk"), (str, int)) else None,
        permalink=PERMALINK.format(code),
        media_type=media_type,
        media=media,
        like_count=_int(item.get("like_count")),
        comment_count=_int(item.get("comment_count")),
        raw={"source": "web_info", "id": str(item.get("pk", ""))},
    )


def _parse_all(run: HashtagRun, items: list[Any], parse: Callable[[Any], ParsedPost]) -> list[ParsedPost]:
    posts = []
    for item in items:
        try:
            posts.append(parse(item))
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            run.skipped_nodes += 1
            log.info("%s: skipped a post the platform described oddly: %s", run.key, exc)
    return posts


# ---------------------------------------------------------------------------------------------
# Strategy 1: the GraphQL hashtag feed, resumable
# ---------------------------------------------------------------------------------------------


def _buffered(iterator: NodeIterator) -> bool:
    """True while the iterator can hand out items without a request."""
    return iterator._page_index < len(iterator._data["edges"])  # noqa: SLF001 - no public way to ask


def _drain(iterator: NodeIterator) -> list[Post]:
    items = []
    while _buffered(iterator):
        items.append(next(iterator))
    return items


def _next_page(iterator: NodeIterator) -> list[Post] | None:
    if not (iterator._data.get("page_info") or {}).get("has_next_page"):  # noqa: SLF001
        return None
    try:
        first = next(iterator)  # the one request for the page
    except StopIteration:  # instaloader saw the same page twice, or an empty one
        return None
    return [first, *_drain(iterator)]


def _iterator_for(client: InstagramClient, tag: str, first_data: dict | None = None) -> NodeIterator:
    context = client.context
    return NodeIterator(
        context,
        HASHTAG_QUERY_HASH,
        lambda d: d["data"]["hashtag"]["edge_hashtag_to_media"],
        lambda n: Post(context, n),
        {"tag_name": tag},
        f"https://www.instagram.com/explore/tags/{tag}/",
        first_data=first_data,
    )


def _thawed(client: InstagramClient, run: HashtagRun) -> NodeIterator | None:
    """The iterator saved by an interrupted run, or None if there is none or it cannot be used."""
    cursor = run.cursor or {}
    if cursor.get("strategy") != "graphql" or not isinstance(cursor.get("frozen"), dict):
        return None
    try:
        frozen = FrozenNodeIterator(**cursor["frozen"])
        if frozen.best_before and datetime.fromtimestamp(frozen.best_before) < datetime.now():
            raise ValueError("best-before date passed")
        iterator = _iterator_for(client, run.hashtag, first_data={"edges": []})
        iterator.thaw(frozen)
        return iterator
    except (TypeError, ValueError, InstaloaderException) as exc:
        run.note(f"alter Fortsetzungspunkt verworfen / old resume point dropped ({exc})")
        return None


def collect_graphql(client: InstagramClient, run: HashtagRun) -> None:
    """Newest first until a stored post, the end of the feed, the budget or a stop request."""
    tag = run.hashtag
    iterator = _thawed(client, run)
    resumed = iterator is not None
    seen: set[str] = set()
    if resumed:
        seen.update([run.cursor.get("last_shortcode") or "", *(run.cursor.get("page_shortcodes") or [])])
        run.note("fortgesetzt / resumed")
    else:
        hashtag = Hashtag(client.context, {"name": tag})  # no request: the name is all the feed needs
        iterator = call_with_retries(lambda: client.call(hashtag.get_posts_resumable), run.policy, f"#{tag} GraphQL")
        run.pages += 1
    batch = client.call(lambda: _drain(iterator))
    first_batch = True
    while True:
        unseen = [p for p in batch if p.shortcode not in seen]
        if batch and not unseen and not (first_batch and resumed):
            run.note("Seite wiederholt sich / page repeated")
            break
        first_batch = False
        seen.update(p.shortcode for p in batch)
        posts = _parse_all(run, [p._node for p in unseen], post_from_node)  # noqa: SLF001 - the node is the data
        fresh = run.before_known(posts)
        if any(p.raw.get("sidecar_first_only") for p in fresh):
            posts = _with_carousels(client, run, posts, {p.external_id for p in fresh})
            fresh = posts[:len(fresh)]
        # Known posts go along: nothing is stored twice, but a picture that failed earlier is
        # fetched again with today's (not yet expired) CDN address.
        run.store(posts)
        if len(fresh) < len(posts):
            break  # reached what earlier runs stored
        if batch:
            run.save_cursor({
                "strategy": "graphql",
                "frozen": iterator.freeze()._asdict(),
                "last_shortcode": batch[-1].shortcode,
                "page_shortcodes": [p.shortcode for p in batch],
                "saved_at": utcnow().isoformat(),
            })
        run.check_stop()
        batch = call_with_retries(lambda: client.call(lambda: _next_page(iterator)), run.policy, f"#{tag} GraphQL")
        if batch is None:
            break
        run.pages += 1
    run.save_cursor(None)
    run.complete = True
    if run.partial_sidecars:
        run.note(f"{run.partial_sidecars} Karussell(s) nur mit dem ersten Bild gespeichert (Anfragebudget) / "
                 f"carousel(s) stored with their first picture only (request budget)")


def _with_carousels(client: InstagramClient, run: HashtagRun, posts: list[ParsedPost], fresh: set[str]) -> list[ParsedPost]:
    """New carousels that the feed gave without their items get them: one request each, while a
    request is left for the next page; the others keep their first picture (and the run says so)."""
    completed = []
    for post in posts:
        if post.external_id in fresh and post.raw.get("sidecar_first_only"):
            media = fetch_carousel(client, post.external_id) if client.meter.budget.left > 1 else None
            if media:
                post = replace(post, media=tuple(media), raw={k: v for k, v in post.raw.items() if k != "sidecar_first_only"})
            else:
                run.partial_sidecars += 1
        completed.append(post)
    return completed


def fetch_carousel(client: InstagramClient, shortcode: str) -> list[MediaRef] | None:
    """The items of one carousel (the query `Post._obtain_metadata` sends); None if Instagram gave none."""
    try:
        data = client.call(lambda: client.context.doc_id_graphql_query(
            POST_DOC_ID, {"shortcode": shortcode, "__relay_internal__pv__PolarisAIGMMediaWebLabelEnabledrelayprovider": False}))
    except SourceFailure as failure:
        if failure.status in FALL_THROUGH:
            return None
        raise
    items = (((data.get("data") or {}) if isinstance(data, dict) else {})
             .get("xdt_api__v1__media__shortcode__web_info") or {}).get("items") or []
    try:
        post = post_from_media(items[0]) if items else None
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        return None
    return list(post.media) if post is not None and post.media_type == "sidecar" and post.media else None


# ---------------------------------------------------------------------------------------------
# Strategy 2: web_info top and recent sections (one request, no paging: that path is gone)
# ---------------------------------------------------------------------------------------------


def _section_medias(block: Any) -> list[dict]:
    medias: list[dict] = []
    if not isinstance(block, dict):
        return medias
    for section in block.get("sections") or []:
        content = (section or {}).get("layout_content") or {}
        items = list(content.get("medias") or []) + list(content.get("fill_items") or [])
        items += list(((content.get("one_by_two_item") or {}).get("clips") or {}).get("items") or [])
        medias += [item["media"] for item in items if isinstance(item, dict) and isinstance(item.get("media"), dict)]
    return medias


def collect_web_info(client: InstagramClient, run: HashtagRun) -> None:
    tag = run.hashtag
    hashtag = call_with_retries(lambda: client.call(lambda: Hashtag.from_name(client.context, tag)), run.policy,
                                f"#{tag} web_info")
    run.pages += 1
    node = hashtag._node  # noqa: SLF001 - the response itself
    if not isinstance(node, dict) or not ({"top", "recent"} & set(node)):
        raise SourceFailure("malformed_response", "web_info ohne top/recent / without top/recent")
    items = _section_medias(node.get("recent")) + _section_medias(node.get("top"))
    unique = list({p.external_id: p for p in _parse_all(run, items, post_from_media)}.values())
    run.store(unique)  # known ones count as seen; their missing pictures are fetched again
    run.save_cursor(None)
    run.complete = True


# ---------------------------------------------------------------------------------------------
# The chain
# ---------------------------------------------------------------------------------------------

STRATEGIES: tuple[tuple[str, Callable[[InstagramClient, HashtagRun], None]], ...] = (
    ("graphql", collect_graphql),
    ("web_info", collect_web_info),
)


@register
class InstagramSource(Source):
    """Hashtag feeds through instaloader with a saved login: the paths of `STRATEGIES`, then the fallback."""

    type = "instagram"
    config: InstagramConfig
    client: InstagramClient | None = None
    fallback: Callable[[HashtagRun], None] | None = None

    def make_budget(self) -> RequestBudget:
        """At most `max_requests_per_run`, and no more than is left of `max_requests_per_hour`."""
        per_run, per_hour = self.config.max_requests_per_run, self.config.max_requests_per_hour
        left_this_hour = max(0, per_hour - self.requests_last_hour())
        if left_this_hour < per_run:
            return RequestBudget(left_this_hour, reason=f"höchstens {per_hour} pro Stunde / at most {per_hour} per hour")
        return RequestBudget(per_run, reason=f"höchstens {per_run} pro Lauf / at most {per_run} per run")

    def open(self) -> None:
        session = load_session(self.ws.home, self.config)
        self.hold_marker = session.marker
        self.client = InstagramClient(session, self.budget)
        self.fallback = self._graph_fallback()

    def close(self) -> None:
        if self.client is not None:
            self.client.loader.close()

    def _graph_fallback(self) -> Callable[[HashtagRun], None] | None:
        """The configured `instagram_graph` source, asked with its own budget when every path failed."""
        if not self.config.fallback:
            return None
        graph_config = next((s for s in self.campaign.sources if s.id == self.config.fallback), None)
        if not isinstance(graph_config, InstagramGraphConfig):
            return None

        def fallback(run: HashtagRun) -> None:
            helper = graph.GraphSource(self.ws, self.campaign, graph_config, policy=self.policy, http=self.http)
            helper.budget = RequestBudget(graph_config.max_requests_per_run)
            helper.client = graph.client_for(graph_config, self.http, helper.budget, self.policy)
            helper.collect(run)

        return fallback

    def collect(self, run: HashtagRun) -> None:
        """Try each path in turn; raise the most telling failure if none worked.

        A run saved by a later path is `degraded`: it names the path that failed and the one in
        use. A main path that is gone (404) is not asked again for `PATH_DOWN_HOURS`, so a
        degraded source costs no extra request per run; then it is tried once more.
        """
        client = self.client
        assert client is not None, "open() prepares the client"
        failures: list[tuple[str, SourceFailure]] = []
        steps = list(STRATEGIES)
        fallback = self.fallback
        if fallback is not None:
            steps.append(("graph_api", lambda _client, r: fallback(r)))
        down: dict[str, str] = dict(run.extra.get("paths_down") or {})
        for name, step in steps:
            until = down.get(name)
            if until and until > utcnow().isoformat() and name != steps[-1][0]:
                failures.append((name, SourceFailure("endpoint_gone", f"seit dem letzten Lauf weg / gone since an earlier run, "
                                                                       f"wieder versucht ab / tried again from {until[:16]} UTC")))
                continue
            try:
                step(client, run)
            except SourceFailure as failure:
                if failure.status not in ("endpoint_gone", "malformed_response"):
                    raise
                log.warning("%s: path %s failed (%s), trying the next", run.key, name, failure)
                failures.append((name, failure))
                if failure.status == "endpoint_gone":
                    down[name] = (utcnow() + timedelta(hours=PATH_DOWN_HOURS)).isoformat()
                continue
            down.pop(name, None)
            run.extra["paths_down"] = down
            run.strategy = name
            if failures:
                gone = ", ".join(n for n, _f in failures)
                run.degraded = f"{gone} → {name}"
                run.note("; ".join(f"{n}: {f.status} ({f.detail})" for n, f in failures) + f" → {name}")
            self._complete_names(client, run)
            return
        run.extra["paths_down"] = {}  # nothing worked: ask every path again next time
        # The primary path's failure says most about what changed at Instagram.
        detail = "; ".join(f"{n}: {f.detail or f.status}" for n, f in failures)
        raise SourceFailure(failures[0][1].status, f"alle Wege gescheitert / all paths failed – {detail}")


    def _complete_names(self, client: InstagramClient, run: HashtagRun) -> None:
        """Names for the owner ids the feed left without one: known ones first, then one request each."""
        done = names.complete_names(self.ws, self.campaign.slug, PLATFORM, lambda owner: lookup_username(client, owner),
                                    can_ask=lambda: client.meter.budget.left > 0)
        run.names_looked_up += done.looked_up
        if done.note():
            run.note(done.note())


def lookup_username(client: InstagramClient, owner_id: str) -> str:
    """The account name of an owner id: one request (`api/v1/users/<id>/info/`, as `Profile` uses)."""
    if not owner_id.isdigit():
        raise names.UnknownAccount(owner_id)
    try:
        data = client.call(lambda: client.context.get_iphone_json(f"api/v1/users/{owner_id}/info/", {}))
    except SourceFailure as failure:
        body = client.meter.last_json()
        if failure.status == "endpoint_gone" and isinstance(body, dict) and body.get("status") == "fail":
            raise names.UnknownAccount(owner_id) from None  # "User not found": the account is gone
        raise
    user = data.get("user") if isinstance(data, dict) else None
    username = user.get("username") if isinstance(user, dict) else None
    if not isinstance(username, str) or not _USERNAME_RE.match(username):
        raise SourceFailure("malformed_response", f"users/{owner_id}/info ohne gültigen Namen / without a valid name")
    return username


def check_login(client: InstagramClient) -> str | None:
    """The user name the session belongs to (one request), or None if it is not logged in."""
    data = client.call(lambda: client.context.graphql_query("d6f4427fbe92d846298cf93df0b937d3", {}))
    user = (data.get("data") or {}).get("user") if isinstance(data, dict) else None
    return user.get("username") if isinstance(user, dict) else None
