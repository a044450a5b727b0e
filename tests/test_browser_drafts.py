"""The draft page in Chromium: crops, preview, a live grapheme counter and rights gating.

Screenshots land in test-artifacts/ (one per test, full page).
"""

from __future__ import annotations

from PIL import Image

from campaign_worker.publish.crops import make_crops
from campaign_worker.store.db import transaction
from campaign_worker.store.models import Draft
from campaign_worker.timeutil import utcnow

from .test_browser_queue import ARTIFACTS, _log_in, browser, page, site  # noqa: F401 (fixtures)


def _draft_with_crops(ws) -> int:
    source = ws.home.root / "photo.jpg"
    Image.new("RGB", (1600, 1200), (40, 110, 170)).save(source)
    crops = make_crops(source, ws.home.root / "data" / "crops" / "siegen", "d1", "instagram")
    stored = [{"ratio": c.ratio, "path": str(c.path.relative_to(ws.home.root)), "width": c.width, "height": c.height} for c in crops]
    with transaction(ws.engine) as connection:
        return connection.execute(Draft.__table__.insert().values(
            campaign="siegen", post_id=ws.ids["p1"], audience="familien", channel="instagram",
            text="Ein Ort, an dem Familien gern leben.\n\n„Sonntag am Oberen Schloss“ – @anna.siegen\n\nLeben mit Familie in Siegen – Link in Bio",
            hashtags=["MeinHerzTraegtKrone"], status="draft", problems=[], crops=stored, link="https://www.siegen.de/",
            alt_text="Foto: Sonntag am Oberen Schloss", created_at=utcnow(), updated_at=utcnow())).inserted_primary_key[0]


def test_draft_page_shows_crops_counts_graphemes_and_blocks_ready_without_rights(page, site):
    from playwright.sync_api import expect

    draft_id = _draft_with_crops(site)
    _log_in(page, site)
    page.goto(f"{site.base_url}/drafts/{draft_id}")
    expect(page.locator("h1")).to_contain_text("Familien · Instagram")  # labels, not keys
    expect(page.locator(".crops img")).to_have_count(3)
    assert page.evaluate("Array.from(document.querySelectorAll('.crops img')).every(i => i.naturalWidth > 0)")
    expect(page.locator(".rights .error")).to_contain_text("Bildrechte nicht geklärt")
    expect(page.locator("button[name=status][value=approved]")).to_be_disabled()
    area = page.locator("textarea[name=text]")
    area.fill("👨‍👩‍👧 Familie")
    expect(page.locator("[data-count]")).to_have_text("9")  # the family emoji counts once
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "draft-page.png"), full_page=True)
    area.fill("x" * 2201)
    expect(page.locator(".counter")).to_have_class("counter over")
    page.click("form[action='/drafts/%d'] button[type=submit]" % draft_id)
    expect(page.locator("body")).to_contain_text("2200")  # re-checked on save: Instagram's limit
