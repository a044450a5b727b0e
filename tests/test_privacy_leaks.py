"""No leaks, proven on a demo run: logs at INFO carry no caption text, tokens or e-mail
addresses; pages, digests and e-mails reference only local pictures; stored pictures of every
accepted file type carry no EXIF, GPS, XMP or IPTC."""

from __future__ import annotations

import io
import logging
import re
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import select

from campaign_worker.cli.main import main
from campaign_worker.media.store import MediaStore
from campaign_worker.publish.digest import build_email, send_week
from campaign_worker.publish.drafts import excerpt
from campaign_worker.store.models import Post
from campaign_worker.workspace import Workspace

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
TOKEN_WORDS = ("sessionid", "csrftoken", "access_token", "bearer ", "password")
IMG_SRC_RE = re.compile(r"""(?:src|srcset|poster)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)""", re.IGNORECASE)


def caption_fragments(captions: list[str]) -> set[str]:
    """Pieces of every caption long enough to be recognised in a log line."""
    fragments = set()
    for caption in captions:
        words = excerpt(caption, 1000)
        if len(words) >= 24:
            fragments.add(words[:24].lower())
    return fragments


def leaks(lines: list[str], fragments: set[str]) -> list[str]:
    found = []
    for line in lines:
        low = line.lower()
        if EMAIL_RE.search(line) or any(w in low for w in TOKEN_WORDS) or any(f in low for f in fragments):
            found.append(line)
    return found


def external_media(html: str) -> list[str]:
    refs = [a or b for a, b in IMG_SRC_RE.findall(html)]
    return [r for r in refs if not r.startswith(("data:", "cid:", "/"))]


@pytest.mark.slow
def test_a_demo_run_logs_no_captions_tokens_or_addresses_and_shows_only_local_pictures(tmp_path, caplog, smtp, capsys):
    home = tmp_path / "demo"
    caplog.set_level(logging.INFO)
    assert main(["--home", str(home), "demo"]) == 0
    ws = Workspace.open(home)
    try:
        with ws.engine.connect() as connection:
            captions = list(connection.execute(select(Post.caption)).scalars())
        siegen = ws.campaign("siegen")
        send_week(ws, siegen, date(2026, 10, 5), smtp.settings)
        assert main(["--home", str(home), "privacy", "erase", "--author", "ben_schneider13"]) == 0
        assert main(["--home", str(home), "privacy", "purge"]) == 0
        message = build_email(ws, siegen, date(2026, 10, 5), "worker@example.org")
    finally:
        ws.close()

    fragments = caption_fragments(captions)
    assert len(fragments) > 100
    # Every logger but the test's own SMTP server ("mail.log", aiosmtpd), which is no part of the product.
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO and r.name != "mail.log"]
    assert any("Mail gesendet" in line for line in lines) and any("Löschung" in line for line in lines)  # the scan sees real logs
    assert leaks(lines + [f"Beitrag: {captions[0]}"], fragments) == [f"Beitrag: {captions[0]}"]  # it would catch one
    assert leaks(lines, fragments) == []

    pages = list((home / "data" / "output").rglob("*.html"))
    assert len(pages) >= 5
    for page in pages:
        assert external_media(page.read_text("utf-8")) == [], page
    html = message.get_body(("html",)).get_content()
    assert "cid:" in html and external_media(html) == []
    sent = smtp.messages[0].get_body(("html",)).get_content()
    assert external_media(sent) == []


def _with_iptc(jpeg: bytes) -> bytes:
    """A JPEG with an IPTC (Photoshop APP13) block naming a person, inserted after SOI."""
    iptc = b"\x1c\x02\x50\x00\x0dsecret-person"  # 2:80 By-line
    block = b"Photoshop 3.0\x00" + b"8BIM\x04\x04\x00\x00" + len(iptc).to_bytes(4, "big") + iptc
    return jpeg[:2] + b"\xff\xed" + (len(block) + 2).to_bytes(2, "big") + block + jpeg[2:]


def _picture(kind: str) -> bytes:
    im = Image.new("RGB", (320, 240), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825).update({1: "N", 2: (50.0, 52.0, 30.0), 3: "E", 4: (8.0, 1.0, 20.0)})
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret-person</x:xmpmeta>'
    out = io.BytesIO()
    if kind == "jpeg-iptc":
        im.save(out, "JPEG", exif=exif.tobytes(), xmp=xmp)
        return _with_iptc(out.getvalue())
    if kind == "png":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Author", "secret-person")
        info.add_itxt("XML:com.adobe.xmp", xmp.decode())
        im.save(out, "PNG", pnginfo=info, exif=exif.tobytes())
    elif kind == "webp":
        im.save(out, "WEBP", exif=exif.tobytes(), xmp=xmp)
    elif kind == "gif":
        im.convert("P").save(out, "GIF", comment=b"secret-person")
    return out.getvalue()


@pytest.mark.parametrize("kind", ["jpeg-iptc", "png", "webp", "gif"])
def test_no_stored_picture_carries_metadata(tmp_path, kind):
    original = _picture(kind)
    assert b"secret-person" in original  # the input really carries it
    store = MediaStore(tmp_path / "media")
    result = store.store_bytes(original)
    assert result.ok
    for path in (store.path_for(result.sha256), store.path_for(result.sha256, thumb=True)):
        raw = path.read_bytes()
        for marker in (b"secret-person", b"PhoneMaker", b"Exif\0\0", b"adobe:ns:meta", b"Photoshop 3.0", b"8BIM"):
            assert marker not in raw, (kind, marker)
        with Image.open(path) as out:
            assert len(out.getexif()) == 0 and not ({"exif", "xmp", "comment", "photoshop"} & set(out.info))
