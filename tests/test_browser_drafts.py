"""The draft page in Chromium: crops, preview, a live grapheme counter and rights gating.

Screenshots land in test-artifacts/ (one per test, full page).
"""

from __future__ import annotations

from PIL import Image

from campaign_worker.publish.crops import make_crops
from campaign_worker.store.db import transaction
from campaign_worker.store.models import Draft
from campaign_worker.timeutil import utcnow

from .test_browser_queue import ARTIFACTS, _log_in, browser, page, site, until  # noqa: F401 (fixtures)

CROPS_LOADED = "Array.from(document.querySelectorAll('.crops img')).every(i => i.complete && i.naturalWidth > 0)"


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
    until(page, CROPS_LOADED, timeout=15)  # every crop loads (times out, and fails, if one does not)
    # 1600×1200 is too small for a 1080×1350 crop: kept at 960×1200, yet shown as wide as the others.
    expect(page.locator(".crops figcaption").first).to_have_text("4:5 · 960×1200")
    assert {round(box["width"]) for box in (img.bounding_box() for img in page.locator(".crops img").all())} == {180}
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


def _composed_post_with_picture(ws) -> dict:
    """An approved partner post with a real picture (red left fifth), composed: drafts with crops."""
    from campaign_worker.moderation.queue import decide
    from campaign_worker.publish.drafts import compose
    from campaign_worker.sources.storing import import_posts

    from .helpers import image_ref, post

    path = ws.home.root / "bild.jpg"
    picture = Image.new("RGB", (1600, 1000), (40, 110, 170))
    picture.paste((210, 40, 40), (0, 0, 320, 1000))
    picture.paste((250, 210, 60), (700, 350, 900, 650))
    picture.save(path, "JPEG", quality=90)
    caption = "Heute startet Jonas seine Ausbildung zum Mechatroniker bei uns – willkommen im Team! #meinherztraegtkrone"
    summary = import_posts(ws, "siegen", "test", [post(90, caption, author="datasec_siegen", media=[image_ref(path)])])
    post_id = list(summary.post_ids.values())[0]
    with transaction(ws.engine) as connection:
        decide(connection, "siegen", [post_id], "approved", "maria")
    compose(ws, ["siegen"])
    with ws.engine.connect() as connection:
        rows = connection.execute(Draft.__table__.select().where(Draft.__table__.c.post_id == post_id)).all()
    return {(r.audience, r.channel): r for r in rows}


def test_draft_page_sets_audiences_and_focal_point_and_shows_the_new_crops(page, site):
    from playwright.sync_api import expect

    drafts = _composed_post_with_picture(site)
    draft = drafts[("azubis", "instagram")]
    failed = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    _log_in(page, site)
    page.goto(f"{site.base_url}/drafts/{draft.id}")
    expect(page.locator("h1")).to_contain_text("Auszubildende · Instagram")
    expect(page.locator(".audiences h2")).to_have_text("Zielgruppen")
    expect(page.locator(".audiences table.matches tbody tr").first).to_contain_text("Auszubildende")
    expect(page.locator(".crops img")).to_have_count(3)
    until(page, CROPS_LOADED, timeout=15)  # every crop loads (times out, and fails, if one does not)
    assert page.evaluate("fetch(document.querySelector('.focal-picker input[type=image]').src).then(r => r.ok)")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "draft-page-controls.png"), full_page=True)

    # A click into the picture, a tenth from the left: the crops move to the red edge.
    spot = page.locator(".focal-picker input[type=image]")
    box = spot.bounding_box()
    spot.click(position={"x": box["width"] * 0.1, "y": box["height"] * 0.5})
    expect(page.locator(".flash")).to_contain_text("Fokuspunkt auf x 0,1")
    expect(page.locator("input[name=focal_x]")).to_have_value("0.10")
    until(page, CROPS_LOADED, timeout=15)
    with site.engine.connect() as connection:
        story = connection.execute(Draft.__table__.select().where(Draft.__table__.c.id == draft.id)).one().crops[2]
    assert "-0100-05" in story["path"]

    # Keyboard fallback: numbers, no script needed.
    page.fill("input[name=focal_x]", "0.5")
    page.fill("input[name=focal_y]", "0.5")
    page.press("input[name=focal_y]", "Enter")
    expect(page.locator(".flash")).to_contain_text("Fokuspunkt auf x 0,50 und y 0,50 gesetzt")

    # Audiences: families first, skilled workers as well; the drafts are recomposed at once.
    page.select_option("select[name=primary]", "familien")
    page.check("input[name=also][value=fachkraefte]")
    page.click("text=Zielgruppen speichern und Entwürfe neu erstellen")
    expect(page.locator("h1")).to_contain_text("Familien · Instagram")
    expect(page.locator(".flash")).to_contain_text("Zielgruppen gespeichert: Familien, Fachkräfte")
    expect(page.locator(".audiences")).to_contain_text("von Hand festgelegt (moderator")
    expect(page.locator(".crops img")).to_have_count(3)
    page.screenshot(path=str(ARTIFACTS / "draft-page-audiences.png"), full_page=True)
    page.locator(".audiences details summary").click()
    expect(page.locator(".audiences details li")).to_have_count(1)
    assert not failed and not [m for m in page.console_errors if "Content Security Policy" in m], (failed, page.console_errors)
