"""The media store keeps only clean, upright, metadata-free JPEGs and refuses dangerous input."""

from __future__ import annotations

import hashlib
import io
import itertools
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import requests
import responses
from PIL import Image, ImageCms, ImageDraw, ImageFile

from campaign_worker.media.download import MediaFetchError, fetch_bytes
from campaign_worker.media.images import MediaLimits, hamming
from campaign_worker.media.store import MediaStore, StoredMedia
from campaign_worker.store.models import Media

CDN = "https://scontent.cdninstagram.com/v/t51/photo.jpg"


# --- picture factories ------------------------------------------------------------------------


def encode(im: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like picture: smooth colour field with a few blobs, different for every seed."""
    rng = np.random.default_rng(seed)
    im = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(im)
    for _ in range(6):
        x, y, r = int(rng.integers(0, size[0])), int(rng.integers(0, size[1])), int(rng.integers(20, 120))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return im


def halves(size: tuple[int, int], left: tuple, right: tuple, mode: str = "RGB") -> Image.Image:
    im = Image.new(mode, size, left)
    im.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return im


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG header declaring a huge picture, with (almost) no pixel data behind it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def read_back(store: MediaStore, result: StoredMedia, thumb: bool = False) -> Image.Image:
    assert result.ok, result.reject_reason
    im = Image.open(store.root / (result.thumb_path if thumb else result.path))
    im.load()
    return im


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


# --- sanitising ---------------------------------------------------------------------------------


def test_exif_orientation_is_applied_and_exif_removed(store):
    exif = Image.Exif()
    exif[0x0112] = 6  # camera held sideways: display rotated 90° clockwise
    landscape = halves((400, 200), (255, 0, 0), (0, 0, 255))  # red left, blue right

    result = store.store_bytes(encode(landscape, exif=exif.tobytes()))

    out = read_back(store, result)
    assert (result.width, result.height) == out.size == (200, 400)
    assert out.getpixel((100, 50))[0] > 200 and out.getpixel((100, 50))[2] < 60  # red now on top
    assert out.getpixel((100, 350))[2] > 200 and out.getpixel((100, 350))[0] < 60  # blue at the bottom
    assert len(out.getexif()) == 0 and "exif" not in out.info


@pytest.mark.parametrize("with_icc", [True, False], ids=["icc", "no-icc"])
def test_gps_and_all_other_metadata_are_stripped(store, with_icc):
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (50.0, 52.0, 30.0), 3: "E", 4: (8.0, 1.0, 20.0)})  # Siegen
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/>creator=secret-person</x:xmpmeta>'
    extra = {"icc_profile": icc} if with_icc else {}
    original = encode(scene(1), exif=exif.tobytes(), xmp=xmp, comment=b"secret comment", **extra)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the input really carries GPS

    result = store.store_bytes(original)

    for thumb in (False, True):
        out = read_back(store, result, thumb=thumb)
        assert len(out.getexif()) == 0
        assert not out.getexif().get_ifd(0x8825)
        assert not {"exif", "icc_profile", "xmp", "comment", "XML:com.adobe.xmp"} & set(out.info)
        raw = (store.root / (result.thumb_path if thumb else result.path)).read_bytes()
        for marker in (b"Exif\0\0", b"ICC_PROFILE", b"adobe:ns:meta", b"secret", b"PhoneMaker"):
            assert marker not in raw


def test_png_with_alpha_becomes_jpeg_on_white(store):
    im = Image.new("RGBA", (200, 100), (0, 0, 0, 0))  # fully transparent left half
    im.paste((200, 0, 0, 255), (100, 0, 200, 100))  # opaque red right half

    result = store.store_bytes(encode(im, "PNG"))

    out = read_back(store, result)
    assert result.mime == "image/jpeg" and out.format == "JPEG" and out.mode == "RGB"
    assert result.path.endswith(".jpg") and result.thumb_path.endswith(".thumb.jpg")
    assert all(channel > 245 for channel in out.getpixel((20, 50)))  # transparent → white, not black
    red = out.getpixel((180, 50))
    assert red[0] > 180 and red[1] < 40 and red[2] < 40


def test_palette_gif_uses_first_frame_and_cmyk_becomes_rgb(store):
    frames = [Image.new("RGB", (64, 64), colour).convert("P") for colour in ((0, 200, 0), (200, 0, 0))]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    cmyk = encode(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG")  # CMYK red

    green = read_back(store, store.store_bytes(gif)).getpixel((32, 32))
    red = read_back(store, store.store_bytes(cmyk)).getpixel((32, 32))

    assert green[1] > 150 and green[0] < 60
    assert red[0] > 180 and red[1] < 60 and red[2] < 60


def swapped_primaries_profile() -> bytes:
    """An RGB colour profile whose red primary is sRGB's green and vice versa."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", icc[128:132])
    where = {bytes(icc[132 + 12 * i:136 + 12 * i]): 132 + 12 * i for i in range(count)}  # tag → table entry
    red, green = where[b"rXYZ"] + 4, where[b"gXYZ"] + 4
    icc[red:red + 8], icc[green:green + 8] = icc[green:green + 8], icc[red:red + 8]
    return bytes(icc)


def test_embedded_colour_profile_is_converted_to_srgb(store):
    result = store.store_bytes(encode(Image.new("RGB", (64, 64), (255, 0, 0)), icc_profile=swapped_primaries_profile()))

    out = read_back(store, result)
    r, g, b = out.getpixel((32, 32))
    assert g > 200 and r < 40 and b < 40  # the profile says this "red" is green
    assert "icc_profile" not in out.info


def test_broken_icc_profile_does_not_cost_the_picture(store):
    result = store.store_bytes(encode(scene(2), icc_profile=b"not really a colour profile" * 10))

    assert result.ok
    assert "icc_profile" not in read_back(store, result).info


def test_big_picture_is_scaled_down_and_thumbnail_made(tmp_path):
    store = MediaStore(tmp_path, MediaLimits(max_dimension=1024, thumb_size=200))

    result = store.store_bytes(encode(scene(3, (3000, 2000)), quality=80))

    assert (result.width, result.height) == read_back(store, result).size
    assert max(result.width, result.height) == 1024 and result.width > result.height
    assert max(read_back(store, result, thumb=True).size) == 200
    assert result.bytes == (tmp_path / result.path).stat().st_size


# --- refusing ------------------------------------------------------------------------------------


def test_decompression_bomb_is_rejected_from_the_header(store, monkeypatch):
    def must_not_decode(self, *args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)
    huge = png_header_only(20_000, 20_000)  # 400 megapixels declared in a few bytes
    large = png_header_only(7_000, 7_000)  # 49 megapixels: above our limit, below Pillow's own

    huge_result, large_result = store.store_bytes(huge), store.store_bytes(large)

    assert len(huge) < 200
    assert huge_result.reject_code == "decompression_bomb"
    assert huge_result.sha256 == hashlib.sha256(huge).hexdigest()
    assert large_result.reject_code == "decompression_bomb"
    assert (large_result.width, large_result.height) == (7_000, 7_000)
    assert "7000×7000" in large_result.reject_reason and "40 Megapixel" in large_result.reject_reason
    assert stored_files(store.root) == []


def test_too_many_bytes_rejected_before_decoding(tmp_path):
    store = MediaStore(tmp_path, MediaLimits(max_bytes=10_000))
    data = encode(scene(4), quality=95)
    assert len(data) > 10_000

    result = store.store_bytes(data)

    assert result.status == "rejected" and result.reject_code == "too_large"
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.bytes == len(data)
    assert "Datei zu groß" in result.reject_reason and "File too large" in result.reject_reason
    assert stored_files(tmp_path) == []


def test_store_file_rejects_a_huge_file_and_still_names_its_hash(tmp_path):
    store = MediaStore(tmp_path / "media")
    huge = tmp_path / "huge.jpg"
    with huge.open("wb") as fh:
        fh.write(encode(scene(5)))
        fh.truncate(20 * 1024 * 1024)  # sparse: 20 MB on paper

    result = store.store_file(huge)

    assert result.reject_code == "too_large" and result.bytes == 20 * 1024 * 1024
    assert result.sha256 == hashlib.sha256(huge.read_bytes()).hexdigest()


def test_store_file_reads_a_picture_and_explains_a_missing_one(tmp_path, store):
    picture = tmp_path / "2024-05-01_12-00-00_UTC.jpg"
    picture.write_bytes(encode(scene(6)))

    assert store.store_file(picture).ok
    with pytest.raises(MediaFetchError, match="nicht lesbar") as error:
        store.store_file(tmp_path / "missing.jpg")
    assert error.value.code == "unreadable"
    with pytest.raises(MediaFetchError, match="Not a regular file"):
        store.store_file(tmp_path)  # a folder (or a pipe, a device) is never read


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"Hallo Siegen, das ist kein Bild.\n" * 20, "not_an_image"),
        (b"", "not_an_image"),
        (encode(scene(7))[:4000], "truncated"),
        (encode(scene(7), "PNG")[:5000], "truncated"),
        (b"\xff\xd8\xff", "truncated"),
        (encode(Image.new("RGB", (32, 32)), "TIFF"), "unsupported_format"),
        (encode(Image.new("RGB", (32, 32)), "BMP"), "unsupported_format"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "unsupported_format"),
    ],
    ids=["text", "empty", "truncated-jpeg", "truncated-png", "jpeg-magic-only", "tiff", "bmp", "svg"],
)
def test_unusable_files_are_rejected_not_raised(store, data, code):
    result = store.store_bytes(data)

    assert result.status == "rejected" and result.reject_code == code, result.reject_reason
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.path is None and result.thumb_path is None and result.phash is None
    assert stored_files(store.root) == []


def test_unsupported_format_names_the_format(store):
    result = store.store_bytes(encode(Image.new("RGB", (32, 32)), "TIFF"))

    assert result.mime == "image/tiff"
    assert "TIFF" in result.reject_reason and "nicht unterstützt" in result.reject_reason


def test_a_format_left_out_of_the_limits_is_refused(tmp_path):
    store = MediaStore(tmp_path, MediaLimits(allowed_formats=frozenset({"JPEG", "PNG"})))

    result = store.store_bytes(encode(Image.new("RGB", (32, 32), (0, 200, 0)).convert("P"), "GIF"))

    assert result.reject_code == "unsupported_format" and "GIF" in result.reject_reason
    assert store.store_bytes(encode(scene(14))).ok


def test_limits_refuse_nonsense():
    with pytest.raises(ValueError, match="max_bytes"):
        MediaLimits(max_bytes=0)
    with pytest.raises(ValueError, match="TIFF"):
        MediaLimits(allowed_formats=frozenset({"JPEG", "TIFF"}))


# --- content addressing ----------------------------------------------------------------------------


def test_same_bytes_twice_give_the_same_result_and_one_file(store):
    data = encode(scene(8))

    first = store.store_bytes(data)
    files = stored_files(store.root)
    mtimes = [p.stat().st_mtime_ns for p in files]
    second = store.store_bytes(data)

    assert first == second and first.ok
    sha = hashlib.sha256(data).hexdigest()
    assert first.sha256 == sha
    assert first.path == f"{sha[:2]}/{sha[2:4]}/{sha}.jpg"
    relative = [p.relative_to(store.root).as_posix() for p in files]
    assert relative == [f"{sha[:2]}/{sha[2:4]}/{sha}.jpg", first.thumb_path]
    assert stored_files(store.root) == files and [p.stat().st_mtime_ns for p in files] == mtimes


def test_damaged_file_on_disk_is_rewritten(store):
    data = encode(scene(9))
    first = store.store_bytes(data)
    target = store.root / first.path
    target.write_bytes(target.read_bytes()[:500])  # e.g. a crash mid-copy

    assert store.store_bytes(data) == first
    assert target.read_bytes().endswith(b"\xff\xd9")


def test_as_row_fits_the_media_table(store):
    row = store.store_bytes(encode(scene(10))).as_row()

    assert set(row) == set(Media.model_fields) - {"created_at"}
    assert Media(**row).sha256 == row["sha256"]


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ab" * 31, "A" * 64, "g" * 64, "a" * 64 + "/x", ""])
def test_path_for_accepts_only_a_sha256(store, bad):
    with pytest.raises(ValueError):
        store.path_for(bad)


def test_path_for_points_at_the_stored_files(store):
    result = store.store_bytes(encode(scene(11)))

    assert store.path_for(result.sha256).is_file()
    assert store.path_for(result.sha256, thumb=True) == store.root / result.thumb_path


# --- near duplicates ---------------------------------------------------------------------------------


def test_near_duplicates_are_close_and_unrelated_pictures_far(store):
    pictures = [scene(seed) for seed in range(20, 28)]
    hashes = [store.store_bytes(encode(im, quality=92)).phash for im in pictures]
    reposts = [
        encode(im.resize((int(im.width * 0.9), int(im.height * 0.9)), Image.Resampling.BILINEAR), quality=60)
        for im in pictures
    ]
    repost_hashes = [store.store_bytes(data).phash for data in reposts]

    assert all(len(h) == 16 for h in hashes)
    assert all(hamming(a, b) <= 6 for a, b in zip(hashes, repost_hashes))
    assert all(hamming(a, b) > 20 for a, b in itertools.combinations(hashes, 2))


def test_hamming_counts_bits_and_refuses_garbage():
    assert hamming("ff00", "0f01") == 5
    assert hamming("8000000000000000", "0000000000000000") == 1
    with pytest.raises(ValueError):
        hamming("ff", "ffff")
    with pytest.raises(ValueError):
        hamming("zz", "ff")


# --- downloading -------------------------------------------------------------------------------------------


@responses.activate
def test_fetch_bytes_downloads_an_https_picture():
    body = encode(scene(12))
    responses.get(CDN, body=body, content_type="image/jpeg")

    assert fetch_bytes(requests.Session(), CDN, MediaLimits()) == body


@pytest.mark.parametrize(
    "url",
    ["http://scontent.cdninstagram.com/x.jpg", "ftp://example.org/x.jpg", "file:///etc/passwd", "https://", "nonsense"],
)
@responses.activate
def test_fetch_bytes_refuses_anything_but_https(url):
    with pytest.raises(MediaFetchError, match="https") as error:
        fetch_bytes(requests.Session(), url, MediaLimits())
    assert error.value.code == "not_https"
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/x.jpg", "https://[::1]/x.jpg", "https://192.168.1.20/x.jpg", "https://localhost/x.jpg"]
)
@responses.activate
def test_fetch_bytes_refuses_local_addresses(url):
    with pytest.raises(MediaFetchError) as error:
        fetch_bytes(requests.Session(), url, MediaLimits())
    assert error.value.code == "private_address"
    assert len(responses.calls) == 0


@responses.activate
def test_fetch_bytes_refuses_a_redirect_to_http():
    responses.get(CDN, status=302, headers={"Location": "http://evil.example/x.jpg"})

    with pytest.raises(MediaFetchError) as error:
        fetch_bytes(requests.Session(), CDN, MediaLimits())
    assert error.value.code == "not_https"


@responses.activate
def test_fetch_bytes_follows_an_https_redirect():
    responses.get(CDN, status=301, headers={"Location": "/v/t51/moved.jpg"})
    responses.get("https://scontent.cdninstagram.com/v/t51/moved.jpg", body=b"\xff\xd8\xffdata")

    assert fetch_bytes(requests.Session(), CDN, MediaLimits()) == b"\xff\xd8\xffdata"


@responses.activate
def test_fetch_bytes_stops_when_content_length_is_too_big():
    responses.get(CDN, body=b"x" * 2_000, headers={"Content-Length": str(50 * 1024 * 1024)})

    with pytest.raises(MediaFetchError, match="zu groß") as error:
        fetch_bytes(requests.Session(), CDN, MediaLimits())
    assert error.value.code == "too_large" and not error.value.retryable


@responses.activate
def test_fetch_bytes_caps_a_stream_without_content_length():
    responses.get(CDN, body=b"x" * 300_000)  # no Content-Length header: only the byte count can stop it

    with pytest.raises(MediaFetchError, match="too large") as error:
        fetch_bytes(requests.Session(), CDN, MediaLimits(max_bytes=100_000))
    assert error.value.code == "too_large"


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (403, False), (429, True), (503, True)])
@responses.activate
def test_fetch_bytes_http_errors_say_whether_to_retry(status, retryable):
    responses.get(CDN, status=status, json={"error": {"message": "URL signature expired"}})

    with pytest.raises(MediaFetchError, match=str(status)) as error:
        fetch_bytes(requests.Session(), CDN, MediaLimits())
    assert error.value.status == status and error.value.retryable is retryable


@responses.activate
def test_fetch_bytes_timeout_is_a_retryable_error():
    responses.get(CDN, body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(MediaFetchError, match="Zeitüberschreitung") as error:
        fetch_bytes(requests.Session(), CDN, MediaLimits())
    assert error.value.code == "timeout" and error.value.retryable


@responses.activate
def test_fetch_then_store_end_to_end(store):
    body = encode(scene(13))
    responses.get(CDN, body=body, content_type="image/jpeg")

    result = store.store_bytes(fetch_bytes(requests.Session(), CDN, store.limits))

    assert result.ok and result.sha256 == hashlib.sha256(body).hexdigest()


def test_a_dot_is_refused_and_a_panorama_is_kept_without_a_hash(store):
    dot = store.store_bytes(encode(Image.new("RGB", (1, 1), (40, 90, 160)), "PNG"))
    assert dot.status == "rejected" and dot.reject_code == "too_small" and "1×1" in dot.reject_reason
    strip = store.store_bytes(encode(scene(7, (6400, 32))))
    assert strip.status == "ok" and strip.phash is None  # stored and shown, never called anyone's duplicate
    again = store.store_bytes(encode(scene(7, (6400, 32))))
    assert again.phash is None
    photo = store.store_bytes(encode(scene(8, (1080, 566))))  # Instagram's widest format still gets one
    assert photo.status == "ok" and photo.phash is not None
