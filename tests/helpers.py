"""Small builders for test data: posts in the shape every source produces, and a campaign
whose source is the in-memory one (`sources.memory`), fed with them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from campaign_worker.post import MediaRef, make_post

START = datetime(2026, 10, 5, 8, 0, tzinfo=timezone.utc)


def post(n: int, caption: str | None = None, author: str = "anna.siegen", *, hours: int | None = None, media=(), **kwargs):
    return make_post(
        platform=kwargs.pop("platform", "instagram"),
        external_id=kwargs.pop("external_id", f"C{n:05d}"),
        caption=caption if caption is not None else f"Sonntag am Oberen Schloss #meinherztraegtkrone Nr. {n}",
        posted_at=START + timedelta(hours=n if hours is None else hours),
        author_username=author,
        media=tuple(media),
        **kwargs,
    )


def image_ref(path, position: int = 0) -> MediaRef:
    return MediaRef(position=position, kind="image", local_path=path)


def memory_campaign(home, slug: str = "test", *, page_size: int = 12, per_run: int = 60,
                    hashtags: tuple[str, ...] = ("meinherztraegtkrone",), extra: str = "") -> None:
    """Write `config/campaigns/<slug>.toml` with one memory source `mem` (fed with `memory.feed("mem", …)`)."""
    folder = home.root / "config" / "campaigns"
    folder.mkdir(parents=True, exist_ok=True)
    tags = ", ".join(f'"{t}"' for t in hashtags)
    (folder / f"{slug}.toml").write_text(f'''name = "Testkampagne"
hashtags = [{tags}]
{extra}
[[audiences]]
key = "fachkraefte"
label = "Fachkräfte"

[[sources]]
id = "mem"
type = "memory"
page_size = {page_size}
max_requests_per_run = {per_run}
''', encoding="utf-8")
