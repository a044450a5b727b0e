"""The offline source: instaloader download folders, and the bundled sample in that format."""

from __future__ import annotations

import json
import lzma
import re
from datetime import datetime, timezone
from pathlib import Path

import instaloader
import pytest
import requests
import responses

from campaign_worker.sources.archive import MAX_METADATA_BYTES, ArchiveError, OfflineContext, read_archive

SAMPLE = Path(__file__).resolve().parent.parent / "sample" / "meinherztraegtkrone"
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")  # enough for a file check


@pytest.fixture
def no_network():
    """Every HTTP request through `requests` fails; afterwards we check none was tried."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        with pytest.raises(requests.ConnectionError):
            requests.get("https://www.instagram.com/")  # the guard is real
        mock.calls.reset()
        yield mock
        assert len(mock.calls) == 0, [call.request.url for call in mock.calls]


def node(shortcode: str, caption: str = "Blick vom Siegberg #meinherztraegtkrone", **extra) -> dict:
    base = {
        "__typename": "GraphImage",
        "id": "3456789012345678901",
        "shortcode": shortcode,
        "is_video": False,
        "display_url": "https://scontent.cdninstagram.com/v/x.jpg",
        "edge_media_to_caption": {"edges": [{"node": {"text": caption}}]},
        "taken_at_timestamp": 1_791_000_000,
        "edge_media_preview_like": {"count": 12},
        "edge_media_to_comment": {"count": 3},
        "owner": {"id": "4242", "username": "lena.siegerland"},
    }
    base.update(extra)
    return base


def save_post(folder: Path, stem: str, post_node: dict, *, images: tuple[str, ...] = ("",), suffix=".json.xz") -> Path:
    path = folder / f"{stem}{suffix}"
    instaloader.save_structure_to_file(instaloader.Post(OfflineContext(), post_node), str(path))
    for image in images:
        (folder / f"{stem}{image}.jpg").write_bytes(JPEG)
    return path


# --- the bundled sample -------------------------------------------------------------------------


def test_sample_is_read_completely_without_network(no_network):
    result = read_archive(SAMPLE)

    assert result.problems == []
    assert len(result.posts) >= 300
    first, last = min(p.posted_at for p in result.posts), max(p.posted_at for p in result.posts)
    assert first.date().isoformat() == "2026-10-05" and last.date().isoformat() == "2026-11-01"
    assert (last - first).days >= 27
    assert all(p.platform == "instagram" and p.permalink == f"https://www.instagram.com/p/{p.external_id}/"
               for p in result.posts)
    assert all(p.media and re.fullmatch(r"[A-Za-z0-9._]{1,30}", p.author_username) for p in result.posts)
    assert all(m.local_path.is_file() and m.local_path.suffix == ".jpg" for p in result.posts for m in p.media)


def test_sample_sidecars_and_videos_point_at_local_pictures(no_network):
    posts = read_archive(SAMPLE).posts

    sidecars = [p for p in posts if p.media_type == "sidecar"]
    assert len(sidecars) >= 10
    assert all(2 <= len(p.media) <= 4 for p in sidecars)
    assert all([m.position for m in p.media] == list(range(len(p.media))) for p in sidecars)
    assert len({m.local_path for p in sidecars for m in p.media}) == sum(len(p.media) for p in sidecars)

    videos = [p for p in posts if p.media_type == "video"]
    assert len(videos) >= 2
    for video in videos:
        (cover,) = video.media
        assert cover.kind == "video" and cover.local_path.suffix == ".jpg"
        assert cover.video_url.startswith("https://")
    assert not list(SAMPLE.glob("*.mp4"))


def test_sample_captions_keep_umlauts_and_every_post_carries_the_campaign_tag():
    posts = read_archive(SAMPLE).posts

    assert all("meinherztraegtkrone" in p.hashtags for p in posts)
    assert any("#MeinHerzTraegtKrone" in p.caption for p in posts)  # written with capitals, still found
    assert all(tag == tag.lower() for p in posts for tag in p.hashtags)
    text = "\n".join(p.caption for p in posts)
    assert "Krönchen" in text and "Hüttental" in text and "Schöne" in text and "Scheiße" in text
    assert "Ã" not in text  # no UTF-8 read as Latin-1


def test_sample_labels_cover_every_post():
    labels = json.loads((SAMPLE / "LABELS.json").read_text(encoding="utf-8"))
    result = read_archive(SAMPLE)

    assert set(labels) == {p.external_id for p in result.posts}
    assert {"genuine", "partner", "spam", "profanity", "duplicate_caption", "near_duplicate_image",
            "blocked_author", "hard_genuine"} == set(labels.values())
    assert result.skipped == ["LABELS.json: keine instaloader-Metadaten / not instaloader metadata"]


def test_reading_twice_gives_the_same_posts_in_file_order():
    once, twice = read_archive(SAMPLE), read_archive(SAMPLE)

    assert once.posts == twice.posts
    assert [p.raw["source_file"] for p in once.posts] == sorted(p.raw["source_file"] for p in once.posts)


# --- instaloader's format, edge cases -----------------------------------------------------------


def test_post_fields_come_from_the_stored_node(tmp_path, no_network):
    save_post(tmp_path, "2026-10-07_08-15-00_UTC", node("DeAbCdEfGhI", "Abends am #Schlosspark mit #MeinHerzTraegtKrone #Siegen"))

    (post,) = read_archive(tmp_path).posts

    assert post.external_id == "DeAbCdEfGhI"
    assert post.posted_at == datetime.fromtimestamp(1_791_000_000, timezone.utc)
    assert post.author_username == "lena.siegerland" and post.author_id == "4242"
    assert post.hashtags == ("schlosspark", "meinherztraegtkrone", "siegen")
    assert (post.like_count, post.comment_count) == (12, 3)
    assert post.media_type == "image"
    assert post.media[0].local_path == tmp_path / "2026-10-07_08-15-00_UTC.jpg"


def test_missing_owner_name_stays_empty_instead_of_being_fetched(tmp_path, no_network):
    bare = node("DeBare00001", owner={"id": "99"})
    del bare["__typename"]  # a plain hashtag node: instaloader would fetch the full metadata for this
    save_post(tmp_path, "2026-10-07_09-00-00_UTC", bare)

    (post,) = read_archive(tmp_path).posts

    assert post.author_username is None and post.author_id == "99"
    assert post.media_type == "image"


def test_sidecar_with_video_child_and_plain_json(tmp_path, no_network):
    children = {"edges": [
        {"node": {"is_video": False, "display_url": "https://x/1.jpg"}},
        {"node": {"is_video": True, "display_url": "https://x/2.jpg", "video_url": "https://x/2.mp4"}},
        {"node": {"is_video": False, "display_url": "https://x/3.jpg"}},
    ]}
    sidecar = node("DeSidecar01", __typename="GraphSidecar", edge_sidecar_to_children=children)
    save_post(tmp_path, "2026-10-08_10-00-00_UTC", sidecar, images=("_1", "_2", "_3"), suffix=".json")

    (post,) = read_archive(tmp_path).posts

    assert post.media_type == "sidecar"
    assert [(m.position, m.kind, m.local_path.name, m.video_url) for m in post.media] == [
        (0, "image", "2026-10-08_10-00-00_UTC_1.jpg", None),
        (1, "video", "2026-10-08_10-00-00_UTC_2.jpg", "https://x/2.mp4"),
        (2, "image", "2026-10-08_10-00-00_UTC_3.jpg", None),
    ]


def test_sidecar_without_children_in_the_node_uses_the_files(tmp_path, no_network):
    save_post(tmp_path, "2026-10-08_11-00-00_UTC", node("DeSidecar02", __typename="GraphSidecar"), images=("_1", "_2"))

    (post,) = read_archive(tmp_path).posts

    assert [m.local_path.name for m in post.media] == ["2026-10-08_11-00-00_UTC_1.jpg", "2026-10-08_11-00-00_UTC_2.jpg"]


def test_broken_files_are_reported_one_by_one_and_the_rest_is_imported(tmp_path, no_network):
    good = save_post(tmp_path, "2026-10-09_08-00-00_UTC", node("DeGood00001"))
    packed = good.read_bytes()
    (tmp_path / "2026-10-09_09-00-00_UTC.json.xz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "2026-10-09_10-00-00_UTC.json.xz").write_bytes(b"this is not xz at all")
    (tmp_path / "2026-10-09_11-00-00_UTC.json.xz").write_bytes(lzma.compress(b'{"hello": "world"}'))
    (tmp_path / "2026-10-09_12-00-00_UTC.json").write_text('{"node": {"shortcode": "x"}, ', encoding="utf-8")
    (tmp_path / "2026-10-09_13-00-00_UTC.json.xz").write_bytes(b"\0" * (MAX_METADATA_BYTES + 1))
    (tmp_path / "2026-10-09_14-00-00_UTC.json").write_text('{"shortcode": "DeOldV3Only"}', encoding="utf-8")
    save_post(tmp_path, "2026-10-09_15-00-00_UTC", node("DeNoImage01"), images=())
    save_post(tmp_path, "2026-10-09_16-00-00_UTC", node("DeNoTime001", taken_at_timestamp="gestern"))

    result = read_archive(tmp_path)

    assert [p.external_id for p in result.posts] == ["DeGood00001", "DeNoImage01"]
    assert result.posts[1].media == ()
    problems = dict(p.split(": ", 1) for p in result.problems)
    assert sorted(problems) == [f"2026-10-09_{h}-00-00_UTC.json{'.xz' if h in ('09', '10', '11', '13', '15', '16') else ''}"
                                for h in ("09", "10", "11", "12", "13", "14", "15", "16")]
    assert "abgeschnitten" in problems["2026-10-09_09-00-00_UTC.json.xz"]
    assert "beschädigt" in problems["2026-10-09_10-00-00_UTC.json.xz"]
    assert "keine instaloader-Metadaten" in problems["2026-10-09_11-00-00_UTC.json.xz"]
    assert "kein gültiges JSON" in problems["2026-10-09_12-00-00_UTC.json"]
    assert "zu groß" in problems["2026-10-09_13-00-00_UTC.json.xz"]
    assert "instaloader-3" in problems["2026-10-09_14-00-00_UTC.json"]
    assert "Bild fehlt" in problems["2026-10-09_15-00-00_UTC.json.xz"]
    assert "Zeitstempel" in problems["2026-10-09_16-00-00_UTC.json.xz"]
    assert all("Traceback" not in p for p in result.problems)


def test_profile_metadata_and_foreign_json_are_skipped_not_reported(tmp_path, no_network):
    profile = instaloader.Profile(OfflineContext(), {"username": "wahlgroup", "id": "1"})
    instaloader.save_structure_to_file(profile, str(tmp_path / "wahlgroup_1.json.xz"))
    (tmp_path / "notes.json").write_text('{"was": "Notizen"}', encoding="utf-8")
    save_post(tmp_path, "2026-10-09_08-00-00_UTC", node("DeGood00001"))

    result = read_archive(tmp_path)

    assert len(result.posts) == 1 and result.problems == []
    assert [s.split(":")[0] for s in result.skipped] == ["notes.json", "wahlgroup_1.json.xz"]


def test_same_post_saved_twice_is_read_once(tmp_path):
    save_post(tmp_path, "2026-10-09_08-00-00_UTC", node("DeTwice0001"))
    save_post(tmp_path, "DeTwice0001", node("DeTwice0001"))

    result = read_archive(tmp_path)

    assert [p.external_id for p in result.posts] == ["DeTwice0001"]
    assert "derselbe Beitrag" in result.skipped[0]


def test_unsafe_values_are_dropped(tmp_path):
    evil = node("DeEvil00001", owner={"id": "1; DROP", "username": "<script>"}, is_video=True,
                __typename="GraphVideo", video_url="javascript:alert(1)")
    save_post(tmp_path, "2026-10-09_08-00-00_UTC", evil)
    bad_code = node("../../etc/passwd")
    save_post(tmp_path, "2026-10-09_09-00-00_UTC", bad_code)

    result = read_archive(tmp_path)

    (post,) = result.posts
    assert post.author_username is None and post.author_id is None
    assert post.media[0].video_url is None
    assert "Shortcode" in result.problems[0]


def test_symbolic_links_are_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("geheim")
    folder = tmp_path / "archive"
    folder.mkdir()
    save_post(folder, "2026-10-09_08-00-00_UTC", node("DeLinked001"), images=())
    (folder / "2026-10-09_08-00-00_UTC.jpg").symlink_to(secret)

    result = read_archive(folder)

    assert result.posts[0].media == ()
    assert "Bild fehlt" in result.problems[0]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ArchiveError, match="Ordner nicht gefunden / folder not found"):
        read_archive(tmp_path / "gibt-es-nicht")
    (tmp_path / "datei.txt").write_text("x")
    with pytest.raises(ArchiveError, match="Kein Ordner"):
        read_archive(tmp_path / "datei.txt")
