"""Hostile input: one cleaning of untrusted text, one bad post never costs the batch.

Property-based (Hypothesis) over arbitrary Unicode: lone surrogates, NUL, bidi overrides,
ZWJ emoji sequences, combining marks and megabyte texts.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timezone
from itertools import count

import regex
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select, text

from campaign_worker.cli.main import main
from campaign_worker.post import MAX_CAPTION_CHARS, make_post, sanitise_text
from campaign_worker.sources.archive import import_archive
from campaign_worker.store.ingest import store_posts
from campaign_worker.store.models import post_table

from .test_archive import node, save_post

FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467"  # 👨‍👩‍👧, one grapheme
FLAG = "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"  # England, built from tag characters
DANGEROUS = ["\x00", "\x07", "\x1b", "\u202e", "\u202d", "\u2066", "\u2069", "\u200b", "\ufeff"]
BUILDING = [FAMILY, FLAG, "e\u0301", "a\u0308", "\u200c", "\U0001F44B\U0001F3FD", "\u2764\ufe0f"]

pieces = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=30),  # includes lone surrogates
    st.sampled_from(DANGEROUS + BUILDING + ["\ud800", "\udfff", "\n", "\t", "ß", "ü"]),
)
texts = st.lists(pieces, max_size=40).map("".join)
WHEN = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)


def graphemes(value: str) -> list[str]:
    return regex.findall(r"\X", value)


@given(value=texts, limit=st.integers(min_value=1, max_value=300))
def test_sanitised_text_is_valid_safe_short_and_every_change_is_named(value, limit):
    result = sanitise_text(value, limit)
    result.text.encode("utf-8")  # valid Unicode: no lone surrogate survives
    assert len(result.text) <= limit
    assert not any(ch in result.text for ch in DANGEROUS)
    unchanged = unicodedata.normalize("NFC", value)
    if result.text != unchanged:
        assert result.changes, f"changed without a word: {value!r}"
    if "shortened" not in result.changes:
        assert len(sanitise_text(value, 10**7).text) <= limit
    assert sanitise_text(result.text, limit).changes == ()  # cleaning twice changes nothing more


@given(value=texts, limit=st.integers(min_value=20, max_value=300))
def test_shortening_never_splits_a_grapheme(value, limit):
    full = sanitise_text(value, 10**7).text
    cut = sanitise_text(value, limit).text
    kept = graphemes(cut)
    assert kept == graphemes(full)[: len(kept)]


def test_zwj_emoji_and_combining_marks_are_kept_and_dangerous_characters_go():
    result = sanitise_text(f"Familie {FAMILY} {FLAG} Cafe\u0301\u202e\x00!", 100)
    assert result.text == f"Familie {FAMILY} {FLAG} Café!"
    assert result.changes == ("controls_removed",)


def test_a_megabyte_caption_is_cut_at_a_grapheme_and_reported():
    post = make_post(platform="instagram", external_id="Big", caption=FAMILY * 300_000, posted_at=WHEN)
    assert len(post.caption) <= MAX_CAPTION_CHARS and set(graphemes(post.caption)) == {FAMILY}
    assert "caption_shortened" in post.changes


def test_unusable_author_names_are_left_out_and_reported():
    for bad in ("../../etc/passwd", "evil\x00name", "x" * 300, '"><svg onload=alert(1)>', "a/b"):
        post = make_post(platform="instagram", external_id="A1", caption="Hallo", posted_at=WHEN, author_username=bad)
        assert post.author_username is None and "author_unusable" in post.changes, bad
    good = make_post(platform="mastodon", external_id="M1", caption="Hallo", posted_at=WHEN, author_username="lena@siegen.social")
    assert good.author_username == "lena@siegen.social" and good.changes == ()


_ids = count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(caption=texts, author=texts)
def test_any_post_is_stored_as_valid_utf8_with_its_record_of_changes(workspace, caption, author):
    external_id = f"H{next(_ids)}"
    post = make_post(platform="instagram", external_id=external_id, caption=caption, posted_at=WHEN,
                     author_username=author, raw={"caption": caption, author: [caption]})
    result = store_posts(workspace.engine, "siegen", "hyp", [post])
    assert (result.posts_new, result.posts_failed) == (1, 0)
    with workspace.engine.connect() as connection:
        row = connection.execute(select(post_table).where(post_table.c.external_id == external_id)).one()
    assert row.caption == post.caption
    row.caption.encode("utf-8")  # valid UTF-8, whatever came in
    assert row.sanitised == list(post.changes)
    assert all(result.changes[c] == 1 for c in post.changes)


# --- one bad post never costs the batch -----------------------------------------------------


def _archive(folder, n=50, bad_caption=None):
    for i in range(n):
        caption = bad_caption if (bad_caption is not None and i == 7) else f"Beitrag {i} #meinherztraegtkrone"
        save_post(folder, f"2026-10-09_{i // 60:02d}-{i % 60:02d}-00_UTC", node(f"DeHostile{i:03d}", caption=caption))


def _stored(ws):
    with ws.engine.connect() as connection:
        return {r.external_id: r for r in connection.execute(select(post_table))}


def test_a_lone_surrogate_caption_is_repaired_and_all_fifty_posts_land(workspace, tmp_path):
    _archive(tmp_path, bad_caption="a \ud800")
    counts = import_archive(workspace, "siegen", tmp_path)
    stored = _stored(workspace)
    assert counts.posts_new == 50 and counts.posts_failed == 0 and len(stored) == 50
    assert stored["DeHostile007"].caption == "a \ufffd"
    assert stored["DeHostile007"].sanitised == ["caption_invalid_unicode"]
    assert counts.changes["caption_invalid_unicode"] == 1


def test_a_post_the_database_refuses_is_reported_and_all_others_land(sqlite_workspace, tmp_path):
    _archive(tmp_path)
    with sqlite_workspace.engine.begin() as connection:  # a database that refuses one particular row
        connection.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON post WHEN NEW.external_id = 'DeHostile007' "
                                "BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"))
    counts = import_archive(sqlite_workspace, "siegen", tmp_path)
    stored = _stored(sqlite_workspace)
    assert len(stored) == 49 and "DeHostile007" not in stored
    assert (counts.posts_new, counts.posts_failed) == (49, 1)
    assert any("instagram:DeHostile007" in p and "refused by the database" in p for p in counts.problems)
    again = import_archive(sqlite_workspace, "siegen", tmp_path)  # repeating stores nothing twice
    assert (again.posts_new, again.posts_seen, again.posts_failed) == (0, 49, 1)


def test_the_import_reports_what_it_changed(sqlite_workspace, tmp_path, capsys):
    home = sqlite_workspace.home.root
    save_post(tmp_path, "a", node("DeLong00001", caption="x" * 20_000))
    save_post(tmp_path, "b", node("DeEvilName1", owner={"id": "7", "username": "../../etc/passwd"}))
    save_post(tmp_path, "c", node("DeEvilName1"))  # the same shortcode again
    save_post(tmp_path, "d", node("DeEmpty0001", caption=""))
    assert main(["--home", str(home), "import-archive", str(tmp_path), "--campaign", "siegen"]) == 0
    out = capsys.readouterr().out
    for phrase in ("gekürzte Beschreibungen: 1", "unbrauchbare Autorennamen (weggelassen): 1", "doppelte Shortcodes (übersprungen): 1",
                   "Beiträge ohne Beschreibung: 1"):
        assert phrase in out, out


# --- moderate --dry-run reads JSON Lines --------------------------------------------------------


def test_dry_run_keeps_line_separators_inside_strings(sqlite_workspace, tmp_path, capsys):
    lines = [{"id": "a", "caption": "Erste Zeile\u2028zweite Zeile\u2029 und \x85 Ende", "author": "lena"},
             {"id": "b", "caption": "Team-Event im Schlosspark", "author": "awo_siegen"}]
    source = tmp_path / "posts.jsonl"
    source.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    home = str(sqlite_workspace.home.root)
    assert main(["--home", home, "moderate", "--campaign", "siegen", "--dry-run", "--input", str(source)]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.split("\n") if line] == ["a", "b"]


def test_post_numbers_beyond_any_stored_id_are_not_found_not_a_traceback(sqlite_workspace, capsys):
    home = str(sqlite_workspace.home.root)
    campaign = next(iter(sqlite_workspace.campaigns))
    for ref in ("99999999999999999999999", str(2**63), "0"):
        for command in (["queue", "show", ref], ["queue", "approve", ref], ["moderate", "--explain", ref]):
            assert main(["--home", home, *command, "--campaign", campaign]) == 2, command
            assert "nicht gefunden / " in capsys.readouterr().err.replace("(Nummer, Shortcode oder plattform:id) ", "")
