"""The queue in a real browser: keyboard moderation, bulk actions, escaping, and no third-party requests.

Drives Debian's Chromium (/usr/bin/chromium) with Playwright against uvicorn on 127.0.0.1.
Skipped when Chromium is missing, unless CAMPAIGN_WORKER_REQUIRE_BROWSER=1.
Screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from campaign_worker.moderation import queue
from campaign_worker.store.db import transaction
from campaign_worker.store.models import Media, PostMedia
from campaign_worker.timeutil import utcnow
from .web_support import PASSWORD, add_accounts, seed_posts

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PNG_1PX = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2a1d5cb0000000049454e44ae426082")


def _need_browser():
    required = os.environ.get("CAMPAIGN_WORKER_REQUIRE_BROWSER") == "1"
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} not installed (apt-get update && apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright Python package is not installed (pip install -e '.[test]')"
    if problem and required:
        pytest.fail(f"{problem}, but CAMPAIGN_WORKER_REQUIRE_BROWSER=1")
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def until(frame, expression: str, timeout: float = 10.0):
    """Poll `expression` in a page or frame until it is true.

    Not `wait_for_function`: Playwright evaluates its predicate with eval, which the
    worker's pages forbid (their CSP has no 'unsafe-eval'); `evaluate` is not subject to it.
    """
    deadline = time.monotonic() + timeout
    while not frame.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout} s: {expression}")
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def site(sqlite_workspace):
    """A seeded workspace served by uvicorn in a thread on 127.0.0.1."""
    import uvicorn

    from campaign_worker.web import create_app

    ws = sqlite_workspace
    ws.ids = seed_posts(ws)
    add_accounts(ws)
    sha = "12" * 32
    thumb = ws.home.media_dir / "thumbs" / f"{sha}.png"
    thumb.parent.mkdir(parents=True, exist_ok=True)
    thumb.write_bytes(PNG_1PX)
    with transaction(ws.engine) as connection:
        connection.execute(Media.__table__.insert().values(sha256=sha, status="ok", mime="image/png", path=f"{sha}.png",
                                                            thumb_path=f"thumbs/{sha}.png", created_at=utcnow()))
        for key in ("p0", "p5"):
            connection.execute(PostMedia.__table__.insert().values(
                post_id=ws.ids[key], position=0, kind="image", media_sha256=sha,
                source_url="https://scontent-fra5-1.cdninstagram.com/v/t51/photo.jpg"))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ws, secret="browser-test"), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    ws.base_url = f"http://127.0.0.1:{port}"
    yield ws
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser, site, request):
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.requests_seen = []
    page.console_errors = []
    page.dialogs_seen = []
    page.on("request", lambda r: page.requests_seen.append(r.url))
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.set_default_timeout(10_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def _log_in(page, site, role="moderator"):
    page.goto(f"{site.base_url}/queue?campaign=siegen")
    assert "/login" in page.url
    page.fill('input[name="username"]', role)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/queue?campaign=siegen")


def _card(page, post_id):
    return page.locator(f"#post-{post_id}")


def _history(site, key):
    with site.engine.connect() as connection:
        return queue.history(connection, "siegen", site.ids[key])


def test_keyboard_approve_reject_and_undo(page, site):
    from playwright.sync_api import expect

    _log_in(page, site)
    ids = site.ids
    expect(_card(page, ids["p5"])).to_have_class("card state-pending current")
    page.keyboard.press("j")
    expect(_card(page, ids["p4"])).to_have_class("card state-pending current")
    page.keyboard.press("k")
    page.keyboard.press("a")
    expect(_card(page, ids["p5"]).locator('[data-role="state"]')).to_have_text("freigegeben")
    expect(page.locator('[data-count="approved"]')).to_have_text("1")
    expect(_card(page, ids["p5"]).locator(".decided")).to_have_text("Entschieden von user:moderator")
    expect(_card(page, ids["p4"])).to_have_class("card state-pending current")

    page.once("dialog", lambda dialog: (page.dialogs_seen.append(dialog.message), dialog.accept("Werbung für ein Gewinnspiel")))
    page.keyboard.press("r")
    expect(_card(page, ids["p4"]).locator('[data-role="state"]')).to_have_text("abgelehnt")
    assert page.dialogs_seen == ["Grund der Ablehnung"]

    page.keyboard.press("l")
    expect(_card(page, ids["p3"]).locator('[data-role="state"]')).to_have_text("später")
    page.keyboard.press("u")
    expect(_card(page, ids["p3"]).locator('[data-role="state"]')).to_have_text("offen")
    expect(page.locator('[data-count="pending"]')).to_have_text("4")

    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_hidden()

    assert _history(site, "p5")[-1]["actor"] == "user:moderator" and _history(site, "p5")[-1]["to_state"] == "approved"
    rejected = _history(site, "p4")[-1]
    assert (rejected["to_state"], rejected["reason_de"], rejected["actor"]) == ("rejected", "Werbung für ein Gewinnspiel", "user:moderator")
    assert [e["to_state"] for e in _history(site, "p3")][-2:] == ["later", "pending"]
    assert not [m for m in page.console_errors if "Content Security Policy" in m], page.console_errors


def test_bulk_reject_without_reloading_twice(page, site):
    from playwright.sync_api import expect

    _log_in(page, site)
    ids = site.ids
    _card(page, ids["p2"]).locator('input[type="checkbox"]').check()
    page.keyboard.press("j")  # focus moves; x selects the current card
    page.keyboard.press("x")
    page.fill('#bulk input[name="reason"]', "Kein Bezug zur Kampagne")
    page.click('#bulk button[value="reject"]')
    expect(page.locator(".flash")).to_have_text("2 Beitrag/Beiträge geändert.")
    for key in ("p2", "p4"):
        last = _history(site, key)[-1]
        assert (last["to_state"], last["reason_de"], last["actor"]) == ("rejected", "Kein Bezug zur Kampagne", "user:moderator")
    expect(_card(page, ids["p2"])).to_have_count(0)
    expect(page.locator('[data-count="rejected"]')).to_have_text("2")


def test_script_payloads_in_captions_show_as_text_and_run_nothing(page, site):
    from playwright.sync_api import expect

    page.on("dialog", lambda dialog: (page.dialogs_seen.append(dialog.message), dialog.dismiss()))
    _log_in(page, site, "viewer")
    card = _card(page, site.ids["p0"])
    caption = card.locator(".caption")
    expect(caption).to_contain_text("<script>window.__pwned=1</script>")
    expect(caption).to_contain_text('<img src=x onerror="window.__pwned=2">')
    expect(card.locator(".author")).to_have_text('@"><svg onload=alert(1)>')
    card.locator("a.tag").first.wait_for()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs_seen == []
    assert card.locator("script, svg, img[src='x']").count() == 0
    assert card.locator("a[href^='javascript:']").count() == 0


def test_the_queue_page_contacts_no_one_but_the_server(page, site):
    _log_in(page, site)
    page.wait_for_load_state("networkidle")
    page.keyboard.press("a")
    page.wait_for_load_state("networkidle")
    page.goto(f"{site.base_url}/queue?campaign=siegen&state=all")
    page.wait_for_load_state("networkidle")
    assert page.requests_seen, "requests were recorded"
    assert any("/media/" in url and url.endswith("/thumb") for url in page.requests_seen), "local thumbnails were loaded"
    outside = [url for url in page.requests_seen if urlsplit(url).hostname != "127.0.0.1"]
    assert outside == []


def test_long_unbroken_text_wraps_instead_of_widening_the_page(page, site):
    from campaign_worker.store.models import Draft

    endless = "https://example.org/" + "x" * 3000 + " " + "Donaudampfschifffahrtsgesellschaftskapitän" * 40
    with transaction(site.engine) as connection:
        connection.execute(Draft.__table__.insert().values(
            campaign="siegen", post_id=site.ids["p1"], audience="familien", channel="instagram", text=endless,
            hashtags=[], status="draft", problems=[], created_at=utcnow(), updated_at=utcnow()))
    _log_in(page, site, "viewer")
    page.goto(f"{site.base_url}/drafts/1")
    assert "x" * 50 in page.locator("pre.draft-text").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
