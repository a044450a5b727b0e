"""The public wall: what it shows under each policy, what never leaks, caching, feeds and the static export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import feedparser
import jsonschema
import pytest
from fastapi.testclient import TestClient

from campaign_worker.cli import main
from campaign_worker.config.campaigns import ConfigError, load_campaigns
from campaign_worker.moderation import queue
from campaign_worker.publish import wall as walls
from campaign_worker.store.db import transaction
from campaign_worker.web import create_app
from campaign_worker.workspace import Workspace
from .wall_support import HOSTILE, MAIL, PENDING_REASON, POSTS, SECRET_REASON, seed_wall, wall_campaign
from .web_support import add_accounts, log_in

JSON_FEED_SCHEMA = json.loads((Path(__file__).parent / "data" / "jsonfeed-1.1.schema.json").read_text())


def _open(home, policy="rights_cleared", database_url=None, **kwargs):
    wall_campaign(home, policy, **kwargs)
    ws = Workspace.open(home, database_url=database_url)
    ws.ids = seed_wall(ws)
    return ws


@pytest.fixture
def stadt(home, database_url):
    ws = _open(home, "all", database_url)
    yield ws
    ws.close()


def _client(ws, **kwargs) -> TestClient:
    return TestClient(create_app(ws, secret="wall-test", wall_ttl=0, **kwargs), follow_redirects=False)


def _shown(html: str) -> set[str]:
    """External ids of the posts on a wall page (from their permalinks)."""
    return set(re.findall(r'href="https://www\.instagram\.com/p/(w\d+)/"', html))


def _expected(policy: str, rights: dict[str, str], audience: str | None = None) -> set[str]:
    trusted = {"awo_siegen", "stadt_siegen"}
    shown = set()
    for i, (author, state, audiences) in enumerate(POSTS):
        key = f"w{i}"
        if state != "approved" or (audience and audience not in audiences):
            continue
        if policy == "partners" and author not in trusted:
            continue
        if policy == "rights_cleared" and author not in trusted and rights.get(key) != "cleared":
            continue
        shown.add(key)
    return shown


@pytest.mark.parametrize("policy", ["all", "partners", "rights_cleared"])
@pytest.mark.parametrize("audience", [None, "azubis", "familien"])
def test_only_posts_the_policy_allows_appear(home, policy, audience, monkeypatch):
    ws = _open(home, policy)
    ids = {post_id: key for key, post_id in ws.ids.items()}
    rights = {"w2": "cleared", "w3": "refused", "w5": "cleared", "w7": "cleared"}  # w5/w7: cleared but not approved
    monkeypatch.setattr(walls, "rights_statuses",
                        lambda connection, campaign, post_ids: {p: rights.get(ids[p], "unknown") for p in post_ids})
    client = _client(ws)
    path = "/wall/stadt" + (f"/{audience}" if audience else "")
    page = client.get(path)
    assert page.status_code == 200
    assert _shown(page.text) == _expected(policy, rights, audience)
    feed = client.get(path + "/feed.json" if audience else "/wall/stadt/feed.json").json()
    assert {item["url"].rstrip("/").rsplit("/", 1)[1] for item in feed["items"]} == _expected(policy, rights, audience)
    ws.close()


def test_rights_cleared_shows_partners_only_until_rights_exist(home):
    ws = _open(home, "rights_cleared")
    assert _shown(_client(ws).get("/wall/stadt").text) == {"w0", "w1"}
    ws.close()


def test_newest_first_with_credit_alt_text_and_web_sizes(stadt):
    html = _client(stadt).get("/wall/stadt").text
    order = re.findall(r'href="https://www\.instagram\.com/p/(w\d+)/"', html)
    assert order == ["w3", "w2", "w1", "w0"]
    images = re.findall(r"<img [^>]+>", html)
    assert len(images) == 4
    for tag in images:
        assert re.search(r'alt="Foto von @[^"]+: [^"]+"', tag), tag
        assert 'loading="lazy"' in tag and 'width="1600"' in tag and 'height="1000"' in tag
        assert re.search(r'srcset="/wall/stadt/media/[0-9a-f]{64}-480\.jpg 480w, /wall/stadt/media/[0-9a-f]{64}-960\.jpg 960w"', tag)
    assert '<a href="https://www.instagram.com/awo_siegen/"' in html  # credit links to the author
    assert "2. November 2026" in html


def test_pictures_come_in_web_sizes_and_only_for_posts_on_the_wall(stadt):
    client = _client(stadt)
    html = client.get("/wall/stadt").text
    small = re.search(r'src="(/wall/stadt/media/[0-9a-f]{64}-480\.jpg)"', html).group(1)
    from PIL import Image
    import io
    for url, longest in ((small, 480), (small.replace("-480", "-960"), 960)):
        response = client.get(url)
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(response.content)).size) == longest
    with stadt.engine.connect() as connection:
        rejected = connection.exec_driver_sql(
            "SELECT media_sha256 FROM post_media WHERE post_id = ?" if stadt.engine.dialect.name == "sqlite"
            else "SELECT media_sha256 FROM post_media WHERE post_id = %s", (stadt.ids["w4"],)).scalar()
    assert client.get(f"/wall/stadt/media/{rejected}-480.jpg").status_code == 404
    assert client.get(f"/wall/stadt/media/{rejected}-2048.jpg").status_code == 404
    assert client.get("/wall/stadt/media/..%2F..%2Fcampaign-worker.sqlite3").status_code == 404


def test_nothing_internal_leaks(stadt):
    add_accounts(stadt)
    client = _client(stadt)
    log_in(client, "moderator")  # a signed-in moderator sees the same public wall, and no cookie is set
    assert client.cookies
    bodies = []
    for path in ("/wall/stadt", "/wall/stadt/familien", "/wall/stadt/feed.json", "/wall/stadt/feed.atom",
                 "/wall/stadt/familien/feed.atom", "/wall/stadt?lang=en"):
        response = client.get(path)
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
        bodies.append(response.text)
    everything = "\n".join(bodies)
    for secret in (SECRET_REASON, PENDING_REASON, MAIL, "new_author", "maria", "rejected", "pending", "abgelehnt",
                   "w4", "w5", "w6", "w7", "w8", "scontent", "cdninstagram", "marketing"):
        assert secret not in everything, secret
    assert "[E-Mail]" in bodies[0]  # the address in the caption is masked


def test_no_internal_ids_in_attributes(stadt):
    html = _client(stadt).get("/wall/stadt").text
    values = re.findall(r'(?:id|href|src|data-[\w-]+)="([^"]*)"', html)
    for post_id in stadt.ids.values():
        assert not any(re.search(rf"(?<![0-9a-f]){post_id}(?![0-9a-f])", v) for v in values if "instagram.com" not in v and "/media/" not in v)


def test_hostile_caption_stays_text(stadt):
    client = _client(stadt)
    html = client.get("/wall/stadt").text
    assert "<script>window" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    atom = client.get("/wall/stadt/feed.atom").text
    parsed = feedparser.parse(atom)
    entry = next(e for e in parsed.entries if "w2" in e.link)
    assert "<script>" not in entry.content[0].value  # sanitised by the reader, escaped by us
    item = next(i for i in client.get("/wall/stadt/feed.json").json()["items"] if i["url"].endswith("/w2/"))
    assert item["content_text"].startswith(HOSTILE.split(" #")[0][:20])
    assert "<script>" not in item["content_html"]


def test_frame_ancestors_per_campaign_and_no_session(home):
    wall_campaign(home, "all", origins=("https://www.siegen.de", "http://127.0.0.1:8123"))
    wall_campaign(home, "all", slug="dorf", origins=())
    ws = Workspace.open(home)
    client = _client(ws)
    first = client.get("/wall/stadt")
    policy = first.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://www.siegen.de http://127.0.0.1:8123" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "default-src 'none'" in policy
    assert "x-frame-options" not in first.headers
    assert client.get("/wall/dorf").headers["content-security-policy"].endswith("frame-ancestors 'self'")
    queue_page = client.get("/login")
    assert "frame-ancestors 'none'" in queue_page.headers["content-security-policy"]  # the app itself stays unframed
    assert queue_page.headers["x-frame-options"] == "DENY"
    ws.close()


def test_etag_last_modified_and_cache_control(stadt):
    client = _client(stadt)
    first = client.get("/wall/stadt")
    assert first.headers["cache-control"] == "public, max-age=45"
    assert first.headers["last-modified"].endswith("GMT")
    assert client.get("/wall/stadt", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert client.get("/wall/stadt", headers={"If-Modified-Since": first.headers["last-modified"]}).status_code == 304
    assert client.get("/wall/stadt?lang=en", headers={"If-None-Match": first.headers["etag"]}).status_code == 200
    with transaction(stadt.engine) as connection:
        queue.decide(connection, "stadt", [stadt.ids["w1"]], "rejected", "maria", "doch nicht")
    again = client.get("/wall/stadt", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200 and again.headers["etag"] != first.headers["etag"]
    assert "w1" not in _shown(again.text)
    # A client that only remembers the date is not told "unchanged" after a post left the wall.
    assert client.get("/wall/stadt", headers={"If-Modified-Since": first.headers["last-modified"]}).status_code == 200


def test_a_rejected_post_leaves_the_cached_wall_within_a_minute(stadt, monkeypatch):
    from campaign_worker.web import wall as wall_routes

    now = [1000.0]
    monkeypatch.setattr(wall_routes, "monotonic", lambda: now[0])
    client = TestClient(create_app(stadt, secret="wall-test"))
    assert "w3" in _shown(client.get("/wall/stadt").text)
    with transaction(stadt.engine) as connection:
        queue.decide(connection, "stadt", [stadt.ids["w3"]], "rejected", "maria", "Rechte fehlen")
    max_age = int(client.get("/wall/stadt").headers["cache-control"].rsplit("=", 1)[1])
    now[0] += wall_routes.CACHE_TTL + 0.1
    assert "w3" not in _shown(client.get("/wall/stadt").text)
    assert wall_routes.CACHE_TTL + max_age <= 60


def test_feeds_validate(stadt):
    client = _client(stadt)
    for path in ("/wall/stadt/feed.json", "/wall/stadt/familien/feed.json"):
        response = client.get(path)
        assert response.headers["content-type"].startswith("application/feed+json")
        feed = response.json()
        jsonschema.validate(feed, JSON_FEED_SCHEMA)
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        assert all(i["image"].startswith("http://testserver/wall/stadt/media/") for i in feed["items"])
    atom = client.get("/wall/stadt/feed.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(atom.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Stadtwall Siegen"
    assert [e.link.rsplit("/", 2)[1] for e in parsed.entries] == ["w3", "w2", "w1", "w0"]
    assert all(e.id.startswith("tag:") and e.updated_parsed for e in parsed.entries)
    assert parsed.entries[0].author == "@ben.fremd"


def test_english_wall(stadt):
    html = _client(stadt).get("/wall/stadt/familien?lang=en").text
    assert '<html lang="en">' in html and "Families" in html and "Photo by @" in html and "2 November 2026" in html


def test_unknown_campaign_or_audience_is_not_found(stadt):
    client = _client(stadt)
    for path in ("/wall/nope", "/wall/stadt/nope", "/wall/stadt/nope/feed.json", "/wall/stadt/feed.rss",
                 "/wall/stadt/assets/../app.py", "/wall/stadt/assets/app.css"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "set-cookie" not in response.headers


def test_campaign_page_shows_the_embed_snippet(stadt):
    add_accounts(stadt)
    client = _client(stadt)
    log_in(client, "viewer")
    html = client.get("/campaigns").text
    assert "Öffentliche Wall" in html
    assert ("&lt;iframe src=&#34;http://testserver/wall/stadt&#34; title=&#34;Stadtwall Siegen&#34; data-campaign-wall" in html)
    assert "http://testserver/wall/stadt/assets/embed.js" in html
    assert "https://www.siegen.de" in html


def test_wall_settings_are_checked(home):
    wall_campaign(home, "all", extra='background = "#ffffff"\ntext = "#cccccc"')
    with pytest.raises(ConfigError, match=r"text #cccccc on background #ffffff has contrast 1\.6:1; WCAG AA needs 4\.5:1"):
        load_campaigns(home)
    wall_campaign(home, "everyone")
    with pytest.raises(ConfigError, match=r"\[wall\] → `policy`"):
        load_campaigns(home)
    wall_campaign(home, "all", origins=("siegen.de",))
    with pytest.raises(ConfigError, match=r"\[wall\] → `embed_origins`"):
        load_campaigns(home)
    wall_campaign(home, "all", extra='logo = "../../etc/passwd.png"')
    with pytest.raises(ConfigError, match=r"\[wall\] → `logo`"):
        load_campaigns(home)


def _database(monkeypatch, ws) -> None:
    monkeypatch.setenv("CAMPAIGN_WORKER_DATABASE_URL", ws.engine.url.render_as_string(hide_password=False))


def test_static_export_and_removal_after_reject(stadt, tmp_path, monkeypatch, capsys):
    target = tmp_path / "site"
    _database(monkeypatch, stadt)
    assert main(["--home", str(stadt.home.root), "wall", "export", str(target), "--campaign", "stadt"]) == 0
    assert "stadt: 4 Beiträge, 3 Seiten, 8 Bilder" in capsys.readouterr().out
    site = target / "stadt"
    index = (site / "index.html").read_text()
    assert _shown(index) == {"w0", "w1", "w2", "w3"}
    assert "/wall/" not in index and 'href="familien/index.html"' in index
    family = (site / "familien" / "index.html").read_text()
    assert 'href="../index.html"' in family and 'src="../media/' in family
    for link in re.findall(r'(?:src|href)="((?:\.\./)?(?:media|assets)/[^"]+|theme\.css)"', index):
        assert (site / link).is_file(), link
    assert len(list((site / "media").glob("*.jpg"))) == 8  # 4 pictures × 2 sizes
    jsonschema.validate(json.loads((site / "feed.json").read_text()), JSON_FEED_SCHEMA)
    assert not feedparser.parse((site / "familien" / "feed.atom").read_bytes()).bozo
    with transaction(stadt.engine) as connection:
        queue.decide(connection, "stadt", [stadt.ids["w2"]], "rejected", "maria", "zurückgezogen")
    assert main(["--home", str(stadt.home.root), "wall", "export", str(target), "-c", "stadt"]) == 0
    assert _shown((site / "index.html").read_text()) == {"w0", "w1", "w3"}
    assert "w2" not in (site / "feed.json").read_text()
    assert len(list((site / "media").glob("*.jpg"))) == 6  # the rejected post's picture is gone too
    assert not [p for p in target.iterdir() if p.name.startswith(".")]  # no half-written folders left


def test_export_into_an_unwritable_place_says_so(stadt, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _database(monkeypatch, stadt)
    assert main(["--home", str(stadt.home.root), "wall", "export", str(blocker / "site")]) == 2
    captured = capsys.readouterr()
    assert "nicht beschreibbar / cannot write" in captured.out + captured.err


def test_an_erasure_rewrites_earlier_static_exports_without_the_person(stadt, tmp_path, monkeypatch, capsys):
    from campaign_worker.privacy.erase import erase_author

    target = tmp_path / "site"
    _database(monkeypatch, stadt)
    assert main(["--home", str(stadt.home.root), "wall", "export", str(target), "--campaign", "stadt"]) == 0
    site = target / "stadt"
    assert "anna.fremd" in (site / "index.html").read_text()
    erase_author(stadt, "anna.fremd")
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".atom"):
            assert "anna.fremd" not in path.read_text(), path
    assert _shown((site / "index.html").read_text()) == {"w0", "w1", "w3"}
    assert len(list((site / "media").glob("*.jpg"))) == 6


def test_rights_recorded_on_a_draft_put_a_community_post_on_the_wall(home):
    from campaign_worker.publish import rights

    ws = _open(home, "rights_cleared")
    client = _client(ws)
    assert _shown(client.get("/wall/stadt").text) == {"w0", "w1"}
    with transaction(ws.engine) as connection:
        rights.record(connection, "stadt", ws.ids["w2"], "maria", status="granted")
        rights.record(connection, "stadt", ws.ids["w3"], "maria", status="granted", people=True)  # consent still missing
    walls_cache_free = _client(ws)  # a new app: no render cache from before the change
    assert _shown(walls_cache_free.get("/wall/stadt").text) == {"w0", "w1", "w2"}
    with transaction(ws.engine) as connection:
        rights.record(connection, "stadt", ws.ids["w3"], "maria", consent=True)
    assert _shown(_client(ws).get("/wall/stadt").text) == {"w0", "w1", "w2", "w3"}
    ws.close()
