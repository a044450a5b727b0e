"""The wall in Chromium: embedded in a page of another origin it renders, grows with its content,
loads nothing from off the host, keeps hostile captions as text and passes axe-core; the static
export works from file://. Screenshots (desktop and mobile) go to test-artifacts/.

axe-core comes from the npm registry at set-up time (`make install` puts it into
.venv/axe/, like the Python packages) and is injected into the page offline.
"""

from __future__ import annotations

import http.server
import os
import threading
import time
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from campaign_worker.publish.wall import export_campaign
from campaign_worker.workspace import Workspace
from .test_browser_queue import ARTIFACTS, _free_port, browser, until  # noqa: F401 (the shared Chromium fixture)
from .wall_support import seed_wall, wall_campaign

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def _axe_source() -> str:
    if not AXE.is_file():
        message = f"axe-core missing at {AXE}: run `make install` (it needs npm)"
        if os.environ.get("CAMPAIGN_WORKER_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


def _serve_app(ws):
    import uvicorn

    from campaign_worker.web import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ws, secret="wall-browser"), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    return server, thread, port


@pytest.fixture
def embedded(home, tmp_path):
    """The wall app on one port and a plain 'municipality website' embedding it on another."""
    embed_port = _free_port()
    wall_campaign(home, "all", origins=(f"http://127.0.0.1:{embed_port}",))
    ws = Workspace.open(home)
    seed_wall(ws)
    server, thread, port = _serve_app(ws)
    wall_url = f"http://127.0.0.1:{port}"
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(f'''<!doctype html><html lang="de"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Stadt Siegen</title></head>
<body><h1>Stadt Siegen</h1><p>Unsere Wall:</p>
<iframe src="{wall_url}/wall/stadt" title="Stadtwall Siegen" data-campaign-wall style="width:100%;height:150px;border:0"></iframe>
<script src="{wall_url}/wall/stadt/assets/embed.js" async></script>
<p id="after">Fußzeile</p></body></html>''', encoding="utf-8")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", embed_port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield {"ws": ws, "wall": wall_url, "site": f"http://127.0.0.1:{embed_port}/index.html", "port": port}
    httpd.shutdown()
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


def _context(browser, width, height):  # noqa: F811
    return browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", viewport={"width": width, "height": height})


def _watch(page):
    page.requests_seen = []
    page.console_errors = []
    page.on("request", lambda r: page.requests_seen.append(r.url))
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)


ALL_IMAGES_LOADED = "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"


def _only_local(urls):
    return [u for u in urls if urlsplit(u).hostname not in ("127.0.0.1",) and not u.startswith(("data:", "file:"))]


@pytest.mark.parametrize("width,height,name", [(1280, 900, "wall-embedded-desktop"), (390, 844, "wall-embedded-mobile")])
def test_embedded_wall_renders_grows_and_stays_local(browser, embedded, width, height, name):  # noqa: F811
    context = _context(browser, width, height)
    page = context.new_page()
    _watch(page)
    page.goto(embedded["site"])
    frame_element = page.locator("iframe[data-campaign-wall]")
    until(page, "document.querySelector('iframe[data-campaign-wall]').getBoundingClientRect().height > 400")
    frame = page.frame_locator("iframe[data-campaign-wall]")
    articles = frame.locator("article.wall-post")
    assert articles.count() == 4
    frame.locator("img").first.wait_for()
    inner = page.frames[1]
    for image in range(4):  # lazy pictures load as they come into view
        frame.locator("img").nth(image).scroll_into_view_if_needed()
    until(inner, ALL_IMAGES_LOADED)
    body_height = inner.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
    until(page, f"Math.abs(document.querySelector('iframe').getBoundingClientRect().height - {body_height}) <= 2")
    grown = frame_element.evaluate("e => e.getBoundingClientRect().height")
    assert grown > 400  # the frame grew to its content
    if width > 700:  # narrower: fewer columns, a taller wall, and the frame follows
        page.set_viewport_size({"width": 560, "height": height})
        until(page, f"document.querySelector('iframe').getBoundingClientRect().height > {grown} + 200")
        taller = inner.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
        until(page, f"Math.abs(document.querySelector('iframe').getBoundingClientRect().height - {taller}) <= 2")
        page.set_viewport_size({"width": width, "height": height})
        until(page, f"Math.abs(document.querySelector('iframe').getBoundingClientRect().height - {grown}) <= 2")
    assert inner.evaluate("window.__pwned") is None
    assert inner.locator("text=<script>window.__pwned=1</script>").count() == 1  # the hostile caption is shown as text
    assert _only_local(page.requests_seen) == []
    assert page.console_errors == []
    assert inner.evaluate("document.cookie") == ""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


def test_a_site_not_listed_cannot_frame_the_wall(browser, embedded, tmp_path, home):  # noqa: F811
    other = _context(browser, 800, 600)
    page = other.new_page()
    _watch(page)
    # The same page, served from a port the campaign does not list.
    port = _free_port()
    site = tmp_path / "other"
    site.mkdir()
    (site / "index.html").write_text(f'<!doctype html><html lang="de"><title>x</title><iframe src="{embedded["wall"]}/wall/stadt" '
                                     'title="wall"></iframe></html>', encoding="utf-8")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), partial(http.server.SimpleHTTPRequestHandler, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    page.goto(f"http://127.0.0.1:{port}/index.html")
    page.wait_for_timeout(1000)
    assert len(page.frames) == 2
    assert page.frames[1].evaluate("document.querySelectorAll('article').length") == 0  # Chromium refused to frame it
    httpd.shutdown()
    other.close()


def test_wall_has_no_serious_accessibility_violation(browser, embedded):  # noqa: F811
    # bypass_csp only lets the test inject axe-core; the wall's own CSP forbids inline scripts.
    axe = _axe_source()
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    for path in ("/wall/stadt", "/wall/stadt/familien?lang=en"):
        page.goto(embedded["wall"] + path)
        page.add_script_tag(content=axe)  # injected by the test: the wall's CSP forbids inline scripts
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
                   if v["impact"] in ("serious", "critical")]
        assert serious == [], serious
    context.close()


def test_static_export_works_from_file(browser, embedded, tmp_path):  # noqa: F811
    ws = embedded["ws"]
    export_campaign(ws, ws.campaigns["stadt"], tmp_path / "export")
    context = _context(browser, 390, 844)
    page = context.new_page()
    _watch(page)
    page.goto((tmp_path / "export" / "stadt" / "index.html").as_uri())
    until(page, ALL_IMAGES_LOADED)
    assert page.locator("article.wall-post").count() == 4
    assert page.evaluate("getComputedStyle(document.querySelector('.wall-nav a[aria-current]')).backgroundColor") == "rgb(163, 18, 58)"
    page.get_by_role("link", name="Familien").click()
    page.wait_for_url("**/familien/index.html")
    assert page.locator("article.wall-post").count() == 3
    for image in range(3):
        page.locator("img").nth(image).scroll_into_view_if_needed()
    until(page, ALL_IMAGES_LOADED)
    assert [u for u in page.requests_seen if not u.startswith("file://")] == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "wall-export-mobile.png"), full_page=True)
    context.close()
