"""Test data for the wall: a campaign file with a chosen wall policy, and posts in every state with pictures."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

from PIL import Image

from campaign_worker.moderation import queue
from campaign_worker.moderation.verdict import Verdict
from campaign_worker.post import make_post
from campaign_worker.store.db import transaction
from campaign_worker.store.ingest import store_posts
from campaign_worker.store.models import Media, PostMedia
from campaign_worker.timeutil import utcnow

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> Schön & "frei" #familie'
SECRET_REASON = "Interner Ablehnungsgrund XYZZY"
PENDING_REASON = "Neuer Autor: erst prüfen QWERTZ"
MAIL = "geheim.person@example.org"
# author, state, audiences; partners of the campaign file below: awo_siegen; own account: stadt_siegen
POSTS = [
    ("awo_siegen", "approved", ["azubis"]),
    ("stadt_siegen", "approved", ["familien"]),
    ("anna.fremd", "approved", ["familien"]),
    ("ben.fremd", "approved", ["azubis", "familien"]),
    ("awo_siegen", "rejected", ["azubis"]),
    ("carla.fremd", "pending", ["familien"]),
    ("awo_siegen", "later", ["familien"]),
    ("dora.fremd", "new", ["familien"]),
    ("awo_siegen", "pending", ["azubis"]),
]


def wall_campaign(home, policy: str = "rights_cleared", *, origins: tuple[str, ...] = ("https://www.siegen.de",),
                  slug: str = "stadt", extra: str = "") -> None:
    folder = home.root / "config" / "campaigns"
    folder.mkdir(parents=True, exist_ok=True)
    listed = ", ".join(f'"{o}"' for o in origins)
    (folder / f"{slug}.toml").write_text(f'''name = "Stadtwall Siegen"
hashtags = ["meinherztraegtkrone"]
own_accounts = ["stadt_siegen"]

[[audiences]]
key = "azubis"
label = "Auszubildende"
label_en = "Apprentices"

[[audiences]]
key = "familien"
label = "Familien"
label_en = "Families"

[[partners]]
name = "AWO Siegen"
accounts = ["AWO_Siegen"]

[digest]
recipients = ["{MAIL}"]

[wall]
policy = "{policy}"
embed_origins = [{listed}]
accent = "#a3123a"
{extra}
''', encoding="utf-8")


def jpeg(width: int = 1600, height: int = 1000, colour=(30, 120, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=85)
    return out.getvalue()


def seed_wall(ws, slug: str = "stadt") -> dict[str, int]:
    """One post per row of POSTS (external id w0…), each with its own picture; returns external id → post id."""
    posts = [
        make_post(platform="instagram", external_id=f"w{i}", author_username=author,
                  caption=(HOSTILE if i == 2 else f"Beitrag w{i} aus Siegen #meinherztraegtkrone Kontakt: {MAIL}"),
                  posted_at=START + timedelta(hours=i), permalink=f"https://www.instagram.com/p/w{i}/")
        for i, (author, _state, _aud) in enumerate(POSTS)
    ]
    result = store_posts(ws.engine, slug, "mem", posts)
    ids = {key.split(":", 1)[1]: post_id for key, post_id in result.post_ids.items()}
    with transaction(ws.engine) as connection:
        for i, (_author, state, audiences) in enumerate(POSTS):
            post_id = ids[f"w{i}"]
            stored = ws.media.store_bytes(jpeg(colour=(20 + i * 20, 100, 60)))
            connection.execute(Media.__table__.insert(), [{**stored.as_row(), "created_at": utcnow()}])
            connection.execute(PostMedia.__table__.insert().values(post_id=post_id, position=0, kind="image",
                                                                    media_sha256=stored.sha256,
                                                                    source_url=f"https://scontent.cdninstagram.com/w{i}.jpg"))
            if state == "new":
                continue
            queue.apply_rule_verdict(connection, slug, post_id, Verdict("review", "new_author", PENDING_REASON, PENDING_REASON, ("autor",)), audiences)
            if state != "pending":
                queue.decide(connection, slug, [post_id], state, "maria", SECRET_REASON if state == "rejected" else None)
    return ids
