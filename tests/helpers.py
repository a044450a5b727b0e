"""Small builders for test data: posts in the shape every source produces."""

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
