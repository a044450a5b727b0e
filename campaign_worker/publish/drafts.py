"""Composing drafts: a shortlist of texts a marketing team posts as they are.

By default one draft per approved post and channel, for the post's primary audience (a
manager's override first, then the stored or matched audiences); `audiences="all"` adds one
for every audience the post speaks to. Each audience has its own template
(`templates/drafts/<audience>.txt.j2`, else `default.txt.j2`) with several openings, picked by
post, so a week's drafts do not all start alike. Copy follows the channel: Instagram gets
„Link in Bio“ (the link is stored for the bio) and at most the campaign's hashtag limit in
CamelCase; Facebook and LinkedIn get the link in the text and partners' company names instead
of handles. The quoted caption is cleaned first (`quotes.py`). A draft records the problems a
person must solve before publishing (crop, rights, length, du/Sie, language). Composing is
idempotent: an existing draft is kept; `refresh` re-renders only untouched ones.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jinja2 import TemplateNotFound
from sqlalchemy import and_, func, select, update

from campaign_worker.config.campaigns import Audience, Campaign, fold_hashtag
from campaign_worker.errors import CampaignWorkerError
from campaign_worker.moderation.audiences import match_audiences
from campaign_worker.publish.draft_crops import crop_new_drafts, forget_crop_files, make_draft_crops  # noqa: F401 (re-exported)
from campaign_worker.publish.limits import CHANNELS, cut, grapheme_len, image_problems
from campaign_worker.publish.problems import ADDRESS, RIGHTS, TOO_LONG, UNKNOWN_AUTHOR
from campaign_worker.publish.quotes import clean_quote
from campaign_worker.publish.rights import Blocker, RightsNotCleared, blocker, rights_row
from campaign_worker.publish.slots import upcoming
from campaign_worker.publish.templating import make_environment
from campaign_worker.store.db import insert_ignore, reading, transaction
from campaign_worker.store.models import (
    audience_override_table as override,
    campaign_post_table as cp,
    draft_table as draft,
    media_table as media,
    post_media_table as post_media,
    post_table as post,
)
from campaign_worker.timeutil import utcnow

if TYPE_CHECKING:
    from campaign_worker.privacy.removal import Removal
    from campaign_worker.home import Home
    from campaign_worker.workspace import Workspace

EXCERPT_CHARS = 280
GENERAL = "alle"  # the audience of a post that speaks to none in particular (a landscape photo)
# A draft's status in German and English ("approved" drafts are ready to post, not approved posts).
STATUS_NAMES = {"draft": ("Entwurf", "Draft"), "approved": ("Bereit", "Ready"), "discarded": ("Verworfen", "Discarded")}
STATUS_LABELS = {status: german for status, (german, _english) in STATUS_NAMES.items()}  # the CLI and the API speak German
CHANNEL_LABELS = {"instagram": "Instagram", "facebook": "Facebook", "linkedin": "LinkedIn"}


@dataclass(frozen=True)
class ComposedDraft:
    audience: str
    channel: str
    text: str
    hashtags: tuple[str, ...]
    problems: tuple[str, ...]
    link: str | None = None
    alt_text: str | None = None
    language: str = "de"  # "en" for English posts: English copy for international staff


def excerpt(caption: str, limit: int = EXCERPT_CHARS) -> str:
    """The caption's words without hashtags, mentions, links and link phrases, in one paragraph."""
    text = clean_quote(caption).text
    return cut(text, limit) if text else ""


def spelled(campaign: Campaign, tag: str) -> str:
    """A folded tag in the campaign's readable spelling („meinherztraegtkrone“ → „MeinHerzTraegtKrone“)."""
    for spelling in campaign.drafts.hashtag_spellings:
        if fold_hashtag(spelling) == tag:
            return spelling.lstrip("#")
    return tag[:1].upper() + tag[1:]


def draft_hashtags(campaign: Campaign, channel: str) -> tuple[str, ...]:
    tags = [*campaign.hashtags, *(fold_hashtag(t) for t in campaign.drafts.extra_hashtags)]
    limit = campaign.drafts.max_hashtags if channel == "instagram" else min(campaign.drafts.max_hashtags, 3)
    return tuple(spelled(campaign, t) for t in dict.fromkeys(tags))[:limit]


def general_audience(campaign: Campaign) -> Audience:
    first = campaign.audiences[0]
    return Audience(key=GENERAL, label="Alle Zielgruppen", label_en="All audiences", tone="Sie",
                    cta_text="Mehr erfahren", cta_url=first.cta_url)


def alt_text(caption: str, accessibility: str | None = None, language: str = "de") -> str:
    """A first alt text for the picture: Instagram's own description, else the caption's opening (in its language)."""
    if accessibility:
        return cut(accessibility.strip(), 250)
    text = clean_quote(caption).text
    if language == "en":
        return cut(f"Photo: {text}", 250) if text else "Photo from the community (add a description)"
    return cut(f"Foto: {text}", 250) if text else "Foto aus der Community (Beschreibung ergänzen)"


class Composer:
    """Renders drafts for one campaign; templates are loaded once."""

    def __init__(self, home: Home, campaign: Campaign):
        self.campaign = campaign
        self.env = make_environment(home, campaign.language, campaign.tz)
        self.partner_names = {a.lower(): p.name for p in campaign.partners for a in p.accounts}

    def _template(self, audience: Audience, language: str = "de"):
        """The audience's template in the draft's language (English ones under `drafts/en/`), else the default."""
        folder = "drafts/en" if language == "en" else "drafts"
        try:
            return self.env.get_template(f"{folder}/{audience.key}.txt.j2")
        except TemplateNotFound:
            return self.env.get_template(f"{folder}/default.txt.j2")

    def credit(self, author: str | None, channel: str) -> str | None:
        if not author:
            return None
        partner = self.partner_names.get(author.lower())
        if channel == "instagram":
            return f"@{author}"
        return partner or f"{author} (Instagram)"

    def compose(self, audience: Audience, channel: str, caption: str, author: str | None,
                trusted: bool, image: tuple[int | None, int | None] = (None, None), variant: int = 0,
                accessibility: str | None = None) -> ComposedDraft:
        limits = CHANNELS[channel]
        tags = draft_hashtags(self.campaign, channel)
        tag_line = " ".join(f"#{t}" for t in tags)
        credit = self.credit(author, channel)
        du = audience.tone == "du"
        link = audience.cta_url
        quote = clean_quote(caption)
        # An English post gets English copy for international staff (when the campaign writes German).
        language = "en" if quote.language == "en" and self.campaign.language == "de" else self.campaign.language
        template = self._template(audience, language)
        body_for = lambda text: template.render(  # noqa: E731
            campaign=self.campaign, audience=audience, channel=channel, du=du, excerpt=text, author=author,
            credit=credit, variant=variant, link=None if channel == "instagram" else link,
            link_in_bio=channel == "instagram" and bool(link),
        ).strip()
        full = cut(quote.text, EXCERPT_CHARS) if quote.text else ""
        body = body_for(full)
        room = limits.max_chars - grapheme_len(tag_line) - 2
        if grapheme_len(body) > room and full:
            # Shorten only the quoted caption; the call to action stays whole.
            overflow = grapheme_len(body) - room
            body = body_for(cut(full, max(20, grapheme_len(full) - overflow - 1)))
        body = re.sub(r"\n{3,}", "\n\n", body)
        text = f"{body}\n\n{tag_line}" if tag_line else body
        problems = list(image_problems(channel, *image))
        if grapheme_len(text) > limits.max_chars:
            problems.append(TOO_LONG.text(length=grapheme_len(text), limit=limits.max_chars))
        if quote.address and quote.address != audience.tone and language != "en":
            problems.append(ADDRESS.text(quote=quote.address, draft=audience.tone))
        if not trusted:
            problems.append(RIGHTS.text(who=credit or UNKNOWN_AUTHOR))
        return ComposedDraft(audience.key, channel, text, tags, tuple(problems), link, alt_text(caption, accessibility, language),
                             language)


def _approved_posts(connection, campaign: Campaign) -> list[dict]:
    query = (
        select(post.c.id, post.c.caption, post.c.author_username, cp.c.audiences, cp.c.posted_at)
        .join(cp, cp.c.post_id == post.c.id)
        .where(cp.c.campaign == campaign.slug, cp.c.state == "approved")
        .order_by(cp.c.posted_at, post.c.id)
    )
    rows = [dict(r._mapping) for r in connection.execute(query)]
    first_images = {
        r.post_id: (r.width, r.height)
        for r in connection.execute(
            select(post_media.c.post_id, media.c.width, media.c.height)
            .join(media, media.c.sha256 == post_media.c.media_sha256)
            .join(cp, and_(cp.c.post_id == post_media.c.post_id, cp.c.campaign == campaign.slug, cp.c.state == "approved"))
            .where(post_media.c.position == 0)
        )
    }
    overrides = {r.post_id: r.audiences for r in connection.execute(
        select(override.c.post_id, override.c.audiences).where(override.c.campaign == campaign.slug))}
    for row in rows:
        row["image"] = first_images.get(row["id"], (None, None))
        row["override"] = overrides.get(row["id"])
    return rows


def post_audiences(campaign: Campaign, row: dict) -> list[str]:
    """A post's audiences, primary first: a manager's override, else the stored, else the matched ones."""
    keys = {a.key for a in campaign.audiences}
    chosen = row.get("override") or row.get("audiences") or [m.key for m in match_audiences(campaign, row.get("caption") or "")]
    return [k for k in chosen if k in keys]


def compose_campaign(ws: Workspace, campaign: Campaign, *, refresh: bool = False, audiences: str = "primary",
                     should_stop: Callable[[], bool] = lambda: False, post_ids: set[int] | None = None,
                     crops: bool = True) -> dict[str, int]:
    """Drafts for the campaign's approved posts (or only `post_ids`) with their crops; counts of what was done.

    Where a manager chose a post's audiences, untouched drafts for audiences outside the choice
    are removed (with their crops); edited or decided drafts always stay.
    """
    if audiences not in ("primary", "all"):
        raise CampaignWorkerError(f"--audiences {audiences!r}: primary oder all / use primary or all")
    composer = Composer(ws.home, campaign)
    trusted_accounts = campaign.partner_accounts | {a.lower() for a in campaign.own_accounts}
    with reading(ws.engine) as connection:
        posts = _approved_posts(connection, campaign)
        if post_ids is not None:
            posts = [row for row in posts if row["id"] in post_ids]
        existing, focal = {}, {}
        for r in connection.execute(select(draft.c.post_id, draft.c.audience, draft.c.channel, draft.c.status, draft.c.edited_by,
                                           draft.c.id, draft.c.focal_x, draft.c.focal_y).where(draft.c.campaign == campaign.slug)):
            existing[(r.post_id, r.audience, r.channel)] = (r.status, r.edited_by, r.id)
            focal[r.post_id] = {"focal_x": r.focal_x, "focal_y": r.focal_y}  # the picture's point: new drafts keep it
    untouched = {target for target, (status, edited_by, _id) in existing.items() if (status, edited_by) == ("draft", None)}
    counts = {"posts": len(posts), "created": 0, "refreshed": 0, "kept": 0, "removed": 0, "cropped": 0}
    _prune_outside_choice(ws, campaign, posts, existing, untouched, counts)
    planned: dict[str, list] = {}
    now = utcnow()
    for start in range(0, len(posts), 200):
        if should_stop():
            break
        new_rows, refreshed = [], []
        for row in posts[start : start + 200]:
            trusted = (row["author_username"] or "").lower() in trusted_accounts
            keys = post_audiences(campaign, row) or [GENERAL]
            variant = zlib.crc32(str(row["id"]).encode())
            for key in keys if audiences == "all" else keys[:1]:
                audience = general_audience(campaign) if key == GENERAL else campaign.audience(key)
                for channel in campaign.drafts.channels:
                    target = (row["id"], key, channel)
                    if target in existing and not (refresh and target in untouched):
                        counts["kept"] += 1
                        continue
                    composed = composer.compose(audience, channel, row["caption"], row["author_username"], trusted,
                                                row["image"], variant)
                    values = {"text": composed.text, "hashtags": list(composed.hashtags), "problems": list(composed.problems),
                              "link": composed.link, "alt_text": composed.alt_text, "updated_at": now}
                    if target in existing:
                        refreshed.append((target, values))
                    else:
                        new_rows.append({"campaign": campaign.slug, "post_id": row["id"], "audience": key, "channel": channel,
                                         "status": "draft", "created_at": now, "focal_x": 0.5, "focal_y": 0.5,
                                         **focal.get(row["id"], {}), **values})
        _plan_slots(campaign, new_rows, planned, now)
        with transaction(ws.engine) as connection:
            insert_ignore(connection, draft, new_rows, ("campaign", "post_id", "audience", "channel"))
            for (post_id, key, channel), values in refreshed:
                connection.execute(update(draft).where(
                    draft.c.campaign == campaign.slug, draft.c.post_id == post_id, draft.c.audience == key,
                    draft.c.channel == channel, draft.c.status == "draft", draft.c.edited_by.is_(None)).values(**values))
        counts["created"] += len(new_rows)
        counts["refreshed"] += len(refreshed)
        if crops and new_rows:
            batch = {row["post_id"] for row in new_rows}
            with reading(ws.engine) as connection:
                ids = [r.id for r in connection.execute(select(draft.c.id).where(
                    draft.c.campaign == campaign.slug, draft.c.post_id.in_(batch)))]
            counts["cropped"] += crop_new_drafts(ws, campaign.slug, ids)
    return counts


def _prune_outside_choice(ws: Workspace, campaign: Campaign, posts: list[dict], existing: dict, untouched: set,
                          counts: dict[str, int]) -> None:
    """Remove untouched drafts of audiences a post no longer has, where a manager set (or reset) its audiences."""
    chosen = {row["id"]: set(post_audiences(campaign, row)) or {GENERAL} for row in posts if row.get("override") is not None}
    doomed = [target for target in untouched if target[0] in chosen and target[1] not in chosen[target[0]]]
    if not doomed:
        return
    ids = [existing[target][2] for target in doomed]
    with transaction(ws.engine) as connection:
        stale = connection.execute(select(draft.c.id, draft.c.crops).where(
            draft.c.id.in_(ids), draft.c.status == "draft", draft.c.edited_by.is_(None))).all()
        connection.execute(draft.delete().where(draft.c.id.in_([r.id for r in stale])))
    forget_crop_files(ws, campaign.slug, {c.get("path") for row in stale for c in row.crops or []})
    for target in doomed:
        existing.pop(target, None)
        untouched.discard(target)
    counts["removed"] += len(stale)


def _remove_crop_files(ws: Workspace, crops: list[dict] | None) -> int:
    """Delete a draft's crop files (only inside the home); returns how many went."""
    removed = 0
    root = ws.home.root.resolve()
    for crop in crops or []:
        path = (root / crop.get("path", "")).resolve()
        if root in path.parents and path.is_file():
            path.unlink()
            removed += 1
    return removed


def _plan_slots(campaign: Campaign, rows: list[dict], planned: dict[str, list], now) -> None:
    """Give new drafts the next free weekly slot of their audience; a post's channels share one."""
    slots = campaign.drafts.slots
    by_post: dict[tuple[int, str], object] = {}
    for row in rows:
        key = row["audience"] if row["audience"] in slots else "default"
        if key not in slots:
            continue
        if (row["post_id"], key) not in by_post:
            queue = planned.setdefault(key, [])
            if not queue:
                queue.extend(upcoming(slots[key], campaign.tz, now, 200))
            by_post[(row["post_id"], key)] = queue.pop(0) if queue else None
        row["slot_at"] = by_post[(row["post_id"], key)]


def compose(ws: Workspace, campaigns: list[str] | None = None, *, refresh: bool = False, audiences: str = "primary",
            should_stop: Callable[[], bool] = lambda: False, crops: bool = True) -> dict:
    """The scheduled task: drafts (with their crops) for every selected campaign."""
    return ws.for_each(campaigns, lambda c: compose_campaign(ws, c, refresh=refresh, audiences=audiences, should_stop=should_stop,
                                                             crops=crops), should_stop)


DRAFT_FIELDS = ("id", "post_id", "audience", "channel", "status", "slot_at", "text", "link", "alt_text", "hashtags", "problems")


def list_drafts(connection, campaign: str, *, audience: str | None = None, channel: str | None = None,
                status: str | None = None, limit: int = 100) -> list[dict]:
    """A campaign's drafts as plain rows (`DRAFT_FIELDS`), by post, audience and channel."""
    query = select(*(draft.c[f] for f in DRAFT_FIELDS)).where(draft.c.campaign == campaign)
    if audience:
        query = query.where(draft.c.audience == audience)
    if channel:
        query = query.where(draft.c.channel == channel)
    if status:
        query = query.where(draft.c.status == status)
    query = query.order_by(draft.c.post_id, draft.c.audience, draft.c.channel).limit(limit)
    return [dict(r._mapping) for r in connection.execute(query)]


def recent_drafts(connection, campaign: str = "", status: str = "", limit: int = 200, *, audience: str = "",
                  channel: str = "", offset: int = 0) -> list[dict]:
    """The most recently changed drafts (every column), optionally of one campaign, status, audience and channel."""
    query = select(draft).order_by(draft.c.updated_at.desc(), draft.c.id.desc()).limit(limit).offset(offset)
    for column, value in ((draft.c.campaign, campaign), (draft.c.status, status), (draft.c.audience, audience), (draft.c.channel, channel)):
        if value:
            query = query.where(column == value)
    return [dict(r._mapping) for r in connection.execute(query)]


def draft_row(connection, draft_id: int) -> dict | None:
    row = connection.execute(select(draft).where(draft.c.id == draft_id)).first()
    return dict(row._mapping) if row is not None else None


def draft_source(connection, post_id: int):
    """Caption and author of the post a draft was made from (a row), or None."""
    return connection.execute(select(post.c.caption, post.c.author_username).where(post.c.id == post_id)).first()


def status_label(status: str, language: str = "de") -> str:
    """A draft's status as the CLI, the API and every page name it."""
    german, english = STATUS_NAMES.get(status, (status, status))
    return english if language == "en" else german


def draft_blocker(ws: Workspace, connection, row: dict) -> Blocker | None:
    """Why a draft's post may not be published yet (rights, consent), or None."""
    campaign = ws.campaign(row["campaign"])
    source = draft_source(connection, row["post_id"])
    author = ((source.author_username if source else None) or "").lower()
    trusted = author in campaign.partner_accounts | {a.lower() for a in campaign.own_accounts}
    return blocker(rights_row(connection, row["campaign"], row["post_id"]), trusted)


def edit_draft(connection, draft_id: int, user: str, *, text: str | None = None, status: str | None = None,
               ws: Workspace | None = None) -> None:
    """A person's change to a draft's text or status, stamped with who and when.

    Marking a draft ready (`approved`) needs cleared picture rights (pass `ws` to check them).
    """
    values = {"text": text} if text is not None else {}
    if status == "approved" and ws is not None:
        row = draft_row(connection, draft_id)
        reason = row and draft_blocker(ws, connection, row)
        if reason:
            raise RightsNotCleared(f"Entwurf {draft_id} kann nicht bereit sein: {reason} / draft {draft_id} cannot be ready: {reason.en}")
    if status is not None:
        values["status"] = status
    connection.execute(update(draft).where(draft.c.id == draft_id).values(**values, edited_by=user, updated_at=utcnow()))


def draft_counts(connection) -> dict[str, dict[str, int]]:
    """{campaign: {status: n}} for the statuses that have drafts."""
    counts: dict[str, dict[str, int]] = {}
    for slug, status, n in connection.execute(
        select(draft.c.campaign, draft.c.status, func.count()).group_by(draft.c.campaign, draft.c.status)
    ):
        counts.setdefault(slug, {})[status] = n
    return counts


def erase_crops(ws: Workspace, removal: Removal) -> dict[str, int]:
    """Privacy eraser: delete the crop files of the drafts made from the removed posts.

    Runs before the drafts' rows go (it reads their paths); safe to run twice.
    """
    memberships = set(removal.memberships)
    whole = set(removal.post_ids)
    post_ids = sorted(whole | {post_id for _campaign, post_id in memberships})
    removed = 0
    for start in range(0, len(post_ids), 500):
        with reading(ws.engine) as connection:
            rows = connection.execute(
                select(draft.c.campaign, draft.c.post_id, draft.c.crops).where(draft.c.post_id.in_(post_ids[start:start + 500]))
            ).all()
        for row in rows:
            if row.post_id not in whole and (row.campaign, row.post_id) not in memberships:
                continue  # the post stays in this campaign
            removed += _remove_crop_files(ws, row.crops)
    return {"files": removed}


def channel_limit(channel: str) -> int:
    """The most characters (graphemes) a post on this channel takes."""
    return CHANNELS[channel].max_chars if channel in CHANNELS else max(c.max_chars for c in CHANNELS.values())


def draft_review(ws: Workspace, connection, row: dict) -> dict:
    """What the draft page shows beside the text: labels, limits, crops, rights and the request comment."""
    from campaign_worker.publish.rights import request_comment

    campaign = ws.campaign(row["campaign"])
    audience = general_audience(campaign) if row["audience"] not in {a.key for a in campaign.audiences} else campaign.audience(row["audience"])
    source = draft_source(connection, row["post_id"])
    rights = rights_row(connection, row["campaign"], row["post_id"])
    reason = draft_blocker(ws, connection, row)
    limits = CHANNELS.get(row["channel"])
    return {
        "audience_label": audience.label, "channel_label": CHANNEL_LABELS.get(row["channel"], row["channel"]),
        "max_chars": channel_limit(row["channel"]),
        "preview_chars": limits.preview_chars if limits else None, "length": grapheme_len(row["text"]),
        "crops": row["crops"] or [], "rights": rights,
        "blocker": reason,
        "request": request_comment(source.author_username if source else None, campaign.drafts.terms_url, audience.tone == "du")
        if reason and rights["status"] in ("open", "requested") else None,
    }


def crop_file(ws: Workspace, row: dict, ratio: str):
    """The stored crop of a draft for `ratio`, or None (only files the draft lists, inside the home)."""
    for crop in row["crops"] or []:
        if crop.get("ratio") == ratio:
            path = (ws.home.root / crop["path"]).resolve()
            if path.is_file() and ws.home.root.resolve() in path.parents:
                return path
    return None
