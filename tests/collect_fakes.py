"""Fake Instagram, Graph API and Mastodon at the `requests` layer, in the platforms' own formats.

The JSON shapes are the ones instaloader 4.16 reads (`Hashtag.get_posts_resumable`,
`Hashtag.from_name`, `Post._obtain_metadata`, `Post._iphone_struct`) and the ones the Graph API
and Mastodon document. Every fake counts the requests it answered. `memory_feed` hands posts to
the in-memory source, for tests that need collected posts but not a platform's HTTP.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from PIL import Image

from campaign_worker.sources import instagram

TAG = "meinherztraegtkrone"
CDN = "https://scontent-fra5-1.cdninstagram.com/v/t51.2885-15"
BASE_TS = 1_790_000_000  # 2026-09-21


def jpeg_bytes(color=(200, 40, 40), size=(64, 80)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def distinct_jpeg(seed: int) -> bytes:
    """A picture that no other seed's picture resembles (random blocks, so perceptual hashes differ)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (64, 64))
    for x in range(0, 64, 8):
        for y in range(0, 64, 8):
            image.paste(tuple(rng.randrange(256) for _ in range(3)), (x, y, x + 8, y + 8))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def shortcode(n: int) -> str:
    return f"DQ{n:09d}"


def graphql_node(n: int, *, typename: str = "GraphImage", children: int = 0, owner_username: str | None = None) -> dict:
    """An `edge_hashtag_to_media` node as the hashtag feed delivers it (newest posts have high n)."""
    node = {
        "comments_disabled": False,
        "__typename": typename,
        "id": str(3_480_000_000_000_000_000 + n),
        "edge_media_to_caption": {"edges": [{"node": {"text": f"Siegen am Abend Nr. {n} #{TAG} #siegen"}}]},
        "shortcode": shortcode(n),
        "edge_media_to_comment": {"count": n % 5},
        "taken_at_timestamp": BASE_TS + n * 600,
        "dimensions": {"height": 1350, "width": 1080},
        "display_url": f"{CDN}/{n}_n.jpg?stp=dst-jpg_e35&_nc_ht=scontent-fra5-1.cdninstagram.com",
        "edge_liked_by": {"count": 10 + n},
        "edge_media_preview_like": {"count": 10 + n},
        "owner": {"id": str(5_000_000 + n)},
        "thumbnail_src": f"{CDN}/{n}_thumb.jpg",
        "thumbnail_resources": [],
        "is_video": typename == "GraphVideo",
        "accessibility_caption": None,
    }
    if owner_username:
        node["owner"]["username"] = owner_username
    if typename == "GraphVideo":
        node["video_view_count"] = 120
        node["product_type"] = "clips"
    if children:
        node["edge_sidecar_to_children"] = {"edges": [
            {"node": {"__typename": "GraphImage", "id": f"{n}{i}", "shortcode": f"{shortcode(n)}{i}",
                      "display_url": f"{CDN}/{n}_{i}_n.jpg", "is_video": False}}
            for i in range(children)
        ]}
    return node


def iphone_media(n: int, *, username: str = "anna.siegen") -> dict:
    """A `web_info` section media (iPhone API shape)."""
    return {
        "pk": str(3_480_000_000_000_000_000 + n),
        "id": f"{3_480_000_000_000_000_000 + n}_{5_000_000 + n}",
        "code": shortcode(n),
        "taken_at": BASE_TS + n * 600,
        "media_type": 1,
        "caption": {"text": f"Top-Beitrag Nr. {n} #{TAG}"},
        "user": {"pk": str(5_000_000 + n), "username": username, "full_name": "Anna"},
        "like_count": 50 + n,
        "comment_count": 3,
        "has_liked": False,
        "image_versions2": {"candidates": [{"width": 1080, "height": 1350, "url": f"{CDN}/{n}_n.jpg?ig_cache_key=x"}]},
    }


def graphql_page(nodes: list[dict], end_cursor: str | None, has_next: bool, count: int) -> dict:
    return {
        "data": {"hashtag": {
            "id": "17841562498105353",
            "name": TAG,
            "allow_following": False,
            "is_following": False,
            "is_top_media_only": False,
            "profile_pic_url": f"{CDN}/tag.jpg",
            "edge_hashtag_to_media": {
                "count": count,
                "page_info": {"has_next_page": has_next, "end_cursor": end_cursor},
                "edges": [{"node": node} for node in nodes],
            },
            "edge_hashtag_to_top_posts": {"edges": []},
            "edge_hashtag_to_content_advisory": {"count": 0, "edges": []},
        }},
        "status": "ok",
    }


def web_info_body(top: list[dict], recent: list[dict]) -> dict:
    def block(medias):
        return {"sections": [{"layout_type": "media_grid", "feed_type": "media",
                              "layout_content": {"medias": [{"media": m} for m in medias]}}],
                "more_available": False, "next_max_id": None, "next_page": None}

    return {"data": {"id": "17841562498105353", "name": TAG, "media_count": 1234, "follow_status": 2,
                     "following": 0, "allow_following": 1, "top": block(top), "recent": block(recent)},
            "status": "ok"}


class FakeInstagram:
    """Serves a hashtag feed of `posts` (newest first) in pages of 12, and their pictures.

    `script` holds canned answers `(status, body, headers)` (or an exception to raise, or None
    for the normal page) for the next GraphQL requests;
    `repeat_after` makes the page after that cursor repeat the given page.
    """

    def __init__(self, rsps: responses.RequestsMock, posts: list[dict], *, page_size: int = 12,
                 image: bytes | None = None, web_info: dict | None = None):
        self.posts = posts
        self.page_size = page_size
        self.image = image if image is not None else jpeg_bytes()
        self.bad_images: set[str] = set()  # answered with something that is not a picture
        self.huge_images: set[str] = set()  # answered with a picture over Instagram's 8 MB
        self.distinct_images = False  # True: every address gets a picture of its own (no duplicates)
        self.failing_images: set[str] = set()  # answered with a server error
        self.web_info = web_info
        self.script: list[tuple[int, object, dict]] = []
        self.web_info_script: list[tuple[int, object, dict]] = []
        self.repeat: dict[str, str] = {}  # after-cursor → serve this cursor's page instead
        self.carousel_size = 3  # items of a carousel when its metadata is asked for
        self.usernames: dict[str, str] = {}  # owner id → account name (default: "owner<id>")
        self.gone_users: set[str] = set()  # owner ids answered with "User not found"
        self.user_info_answer: tuple[int, object] | None = None  # answer every account look-up with this
        self.calls: Counter[str] = Counter()
        rsps.add_callback(responses.GET, re.compile(r"https://www\.instagram\.com/graphql/query/?\??.*"), self._graphql)
        rsps.add_callback(responses.POST, re.compile(r"https://www\.instagram\.com/graphql/query/?\??.*"), self._doc_id)
        rsps.add_callback(responses.GET, re.compile(r"https://i\.instagram\.com/api/v1/tags/web_info/.*"), self._web_info)
        rsps.add_callback(responses.GET, re.compile(r"https://i\.instagram\.com/api/v1/media/\d+/info/.*"), self._media_info)
        rsps.add_callback(responses.GET, re.compile(r"https://i\.instagram\.com/api/v1/users/\d+/info/.*"), self._user_info)
        rsps.add_callback(responses.GET, re.compile(re.escape(CDN) + r"/.*"), self._image)

    @staticmethod
    def _answer(status: int, body: object, headers: dict | None = None):
        text = body if isinstance(body, str) else json.dumps(body)
        return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, text

    def _graphql(self, request):
        self.calls["graphql"] += 1
        params = parse_qs(urlsplit(request.url).query)
        if params.get("query_hash") == ["d6f4427fbe92d846298cf93df0b937d3"]:
            self.calls["graphql"] -= 1
            self.calls["test_login"] += 1
            return self._answer(200, {"data": {"user": {"username": "u"}}, "status": "ok"})
        answer = self.script.pop(0) if self.script else None  # None in the script: the normal page
        if isinstance(answer, Exception):  # a transport failure, e.g. requests.ConnectionError
            raise answer
        if answer is not None:
            return self._answer(*answer)
        variables = json.loads(params["variables"][0])
        after = variables.get("after")
        after = self.repeat.get(after, after)
        start = int(after.split("-")[1]) if after else 0
        nodes = self.posts[start:start + self.page_size]
        end = start + self.page_size
        has_next = end < len(self.posts)
        return self._answer(200, graphql_page(nodes, f"cursor-{end}" if has_next else None, has_next, len(self.posts)))

    def _doc_id(self, request):
        """`Post._obtain_metadata` (what `owner_username` costs per post)."""
        self.calls["post_metadata"] += 1
        variables = json.loads(parse_qs(request.body)["variables"][0])
        n = int(variables["shortcode"][2:])
        media = iphone_media(n)
        node = next((p for p in self.posts if p.get("shortcode") == variables["shortcode"]), None)
        if node is not None and node.get("__typename") == "GraphSidecar":  # a carousel: its items
            media["media_type"] = 8
            media["carousel_media"] = [
                {"pk": f"{n}{i}", "media_type": 1,
                 "image_versions2": {"candidates": [{"width": 1080, "height": 1350, "url": f"{CDN}/{n}_{i}_n.jpg"}]}}
                for i in range(self.carousel_size)
            ]
        return self._answer(200, {"data": {"xdt_api__v1__media__shortcode__web_info": {"items": [media]}}, "status": "ok"})

    def _media_info(self, request):
        """`Post._iphone_struct` (what `Post.url` costs per post with iphone_support)."""
        self.calls["media_info"] += 1
        media_id = int(re.search(r"/media/(\d+)/info/", request.url).group(1))
        n = media_id - 3_480_000_000_000_000_000
        return self._answer(200, {"items": [iphone_media(n)], "num_results": 1, "status": "ok"})

    def _user_info(self, request):
        """`Profile._iphone_struct` (`api/v1/users/<id>/info/`): one account by its id."""
        self.calls["user_info"] += 1
        owner = re.search(r"/users/(\d+)/info/", request.url).group(1)
        if self.user_info_answer is not None:
            return self._answer(*self.user_info_answer)
        if owner in self.gone_users:
            return self._answer(404, {"message": "User not found", "status": "fail"})
        username = self.usernames.get(owner, f"owner{owner}")
        return self._answer(200, {"user": {"pk": int(owner), "pk_id": owner, "username": username,
                                           "full_name": username.title(), "is_private": False, "is_verified": False,
                                           "profile_pic_url": f"{CDN}/{owner}_pp.jpg", "media_count": 12,
                                           "follower_count": 340, "following_count": 120}, "status": "ok"})

    def _web_info(self, request):
        self.calls["web_info"] += 1
        if self.web_info_script:
            return self._answer(*self.web_info_script.pop(0))
        if self.web_info is None:
            return self._answer(404, "<html>Page not found</html>")
        return self._answer(200, self.web_info)

    def _image(self, request):
        self.calls["image"] += 1
        path = urlsplit(request.url).path
        if any(path.endswith(b) for b in self.failing_images):
            return 503, {"Content-Type": "text/html"}, "<html>Service Unavailable</html>"
        if any(path.endswith(b) for b in self.huge_images):
            body = self.image + b"\0" * (9 * 1024 * 1024)
            return 200, {"Content-Type": "image/jpeg", "Content-Length": str(len(body))}, body
        image = self.image
        if self.distinct_images:
            seed = int(hashlib.sha256(path.encode()).hexdigest()[:6], 16)
            image = distinct_jpeg(seed)
        body = b"<html>not an image</html>" if any(path.endswith(b) for b in self.bad_images) else image
        return 200, {"Content-Type": "image/jpeg"}, body


def store_session(home, username: str = "u") -> None:
    instagram.save_session(home, username, {"sessionid": "x", "csrftoken": "c", "ds_user_id": "123"})


def campaign_toml(sources: str, hashtags: tuple[str, ...] = (TAG,)) -> str:
    tags = ", ".join(f'"{t}"' for t in hashtags)
    return f'''name = "Testkampagne"
hashtags = [{tags}]

[[audiences]]
key = "fachkraefte"
label = "Fachkräfte"

{sources}
'''


INSTAGRAM_SOURCE = '''[[sources]]
id = "insta"
type = "instagram"
username = "u"
max_requests_per_run = {per_run}
'''


# ---------------------------------------------------------------------------------------------
# Mastodon
# ---------------------------------------------------------------------------------------------

MASTODON = "https://social.example.de"


def mastodon_status(n: int, *, media: tuple[str, ...] = ("image",), reblog: bool = False) -> dict:
    attachments = [
        {"id": f"{n}{i}", "type": kind, "url": f"https://files.social.example.de/media/{n}_{i}.{'mp4' if kind != 'image' else 'jpg'}",
         "preview_url": f"https://files.social.example.de/small/{n}_{i}.jpg", "remote_url": None,
         "description": "Blick auf das Obere Schloss", "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH"}
        for i, kind in enumerate(media)
    ]
    return {
        "id": str(113_000_000_000_000_000 + n),
        "created_at": f"2026-11-{1 + n % 20:02d}T10:{n % 60:02d}:00.000Z",
        "in_reply_to_id": None, "in_reply_to_account_id": None, "sensitive": False, "spoiler_text": "",
        "visibility": "public", "language": "de",
        "uri": f"https://social.example.de/users/stadtsiegen/statuses/{113_000_000_000_000_000 + n}",
        "url": f"https://social.example.de/@stadtsiegen/{113_000_000_000_000_000 + n}",
        "replies_count": 1, "reblogs_count": 2, "favourites_count": 7 + n,
        "content": (f'<p>Neu in Siegen &amp; gut angekommen Nr. {n} '
                    f'<a href="https://social.example.de/tags/{TAG}" class="mention hashtag" rel="tag">#<span>{TAG}</span></a>'
                    '<br>Zweite Zeile<script>alert(1)</script></p>'),
        "reblog": {"id": "1"} if reblog else None,
        "account": {"id": "109000", "username": "stadtsiegen", "acct": "stadtsiegen", "display_name": "Stadt Siegen",
                    "url": "https://social.example.de/@stadtsiegen"},
        "media_attachments": attachments,
        "mentions": [], "tags": [{"name": TAG, "url": f"https://social.example.de/tags/{TAG}"}], "emojis": [],
        "card": None, "poll": None,
    }


class FakeMastodon:
    """The tag timeline of one instance with `max_id`/`min_id` paging and Link headers."""

    def __init__(self, rsps: responses.RequestsMock, statuses: list[dict], image: bytes | None = None):
        self.statuses = statuses  # newest first
        self.image = image if image is not None else jpeg_bytes((20, 120, 200))
        self.script: list[tuple[int, object, dict]] = []
        self.calls: Counter[str] = Counter()
        self.params: list[dict] = []
        rsps.add_callback(responses.GET, re.compile(re.escape(MASTODON) + r"/api/v1/timelines/tag/.*"), self._timeline)
        rsps.add_callback(responses.GET, re.compile(r"https://files\.social\.example\.de/.*"), self._file)

    def _timeline(self, request):
        self.calls["timeline"] += 1
        if self.script:
            status, body, headers = self.script.pop(0)
            return status, {"Content-Type": "application/json", **headers}, body if isinstance(body, str) else json.dumps(body)
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.params.append(query)
        limit = int(query.get("limit", 20))
        items = self.statuses
        if "max_id" in query:
            items = [s for s in items if int(s["id"]) < int(query["max_id"])][:limit]
        elif "min_id" in query:
            items = [s for s in items if int(s["id"]) > int(query["min_id"])][-limit:]
        else:
            items = items[:limit]
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if items:
            base = request.url.split("?")[0]
            headers["Link"] = (f'<{base}?max_id={items[-1]["id"]}>; rel="next", '
                               f'<{base}?min_id={items[0]["id"]}>; rel="prev"')
        return 200, headers, json.dumps(items)

    def _file(self, request):
        self.calls["file"] += 1
        return 200, {"Content-Type": "image/jpeg"}, self.image


# ---------------------------------------------------------------------------------------------
# Instagram Graph API
# ---------------------------------------------------------------------------------------------

GRAPH = "https://graph.facebook.com/v21.0"
GRAPH_TOKEN = "EAAGsecretTOKEN123"


def graph_media(n: int, media_type: str = "IMAGE") -> dict:
    item = {
        "id": str(17_900_000_000_000_000 + n),
        "caption": f"Feierabend in Siegen Nr. {n} #{TAG}",
        "media_type": media_type,
        "permalink": f"https://www.instagram.com/p/{shortcode(n)}/",
        "timestamp": f"2026-11-20T{n % 24:02d}:00:00+0000",
        "like_count": 12,
        "comments_count": 1,
    }
    if media_type != "CAROUSEL_ALBUM":
        item["media_url"] = f"https://scontent.cdninstagram.com/v/graph/{n}.jpg"
    else:
        item["children"] = {"data": [{"id": f"{n}1"}, {"id": f"{n}2"}]}
    return item


class FakeGraph:
    def __init__(self, rsps: responses.RequestsMock, recent: list[dict], top: list[dict] | None = None, page_size: int = 50):
        self.recent, self.top, self.page_size = recent, top or [], page_size
        self.calls: Counter[str] = Counter()
        self.script: list[tuple[int, object]] = []
        self.urls: list[str] = []
        rsps.add_callback(responses.GET, re.compile(re.escape(GRAPH) + r"/.*"), self._api)
        rsps.add_callback(responses.GET, re.compile(r"https://scontent\.cdninstagram\.com/v/graph/.*"),
                          lambda r: (self.calls.update(["image"]), (200, {"Content-Type": "image/jpeg"}, jpeg_bytes()))[1])

    def _api(self, request):
        self.urls.append(request.url)
        parts = urlsplit(request.url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert query.get("access_token") == GRAPH_TOKEN
        if self.script:
            self.calls["error"] += 1
            status, body = self.script.pop(0)
            return status, {"Content-Type": "application/json"}, json.dumps(body)
        if parts.path.endswith("/ig_hashtag_search"):
            self.calls["search"] += 1
            return 200, {}, json.dumps({"data": [{"id": "17843853986012965"}]})
        edge = parts.path.rsplit("/", 1)[1]
        self.calls[edge] += 1
        items = self.recent if edge == "recent_media" else self.top
        start = int(query["after"].split("-")[1]) if "after" in query else 0
        page = items[start:start + self.page_size]
        body = {"data": page}
        end = start + self.page_size
        if end < len(items):
            body["paging"] = {"cursors": {"after": f"after-{end}", "before": f"before-{start}"},
                              "next": f"{GRAPH}/17843853986012965/{edge}?access_token={GRAPH_TOKEN}&after=after-{end}"}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)


@pytest.fixture
def no_sleeping(monkeypatch):
    """Any real wait would make a test slow: fail it instead (collection never waits for real)."""
    monkeypatch.setattr(time, "sleep", lambda s: (_ for _ in ()).throw(AssertionError(f"slept {s} s")))


@pytest.fixture
def memory_feed():
    """`sources.memory.feed`, emptied again after the test."""
    from campaign_worker.sources import memory

    yield memory.feed
    memory.clear()


@pytest.fixture
def rsps():
    """The faked HTTP layer (requests' adapter) for one test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
