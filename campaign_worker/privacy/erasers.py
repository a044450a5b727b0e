"""Hooks through which other rooms remove (or export) what they derived from posts.

Crops, public walls, static exports and rights records live in rooms of their own. Each adds
itself here, so that erasure and retention reach its files and pages too:

    register_eraser("crops", "campaign_worker.media.crops:erase_posts", when="before")
    register_eraser("walls", "campaign_worker.walls.render:rebuild_after_removal", when="after")
    register_exporter("rights", "campaign_worker.rights.records:export_posts")

A target is a callable or a text reference "module:function", imported when first used, so a
room at any layer can be named here without an import cycle. Add the line at the end of this
module (or call `register_*` from the room itself, if it is imported before privacy runs).

- An eraser is called as `eraser(ws, removal) -> dict[str, int]` with a `Removal` (post ids,
  (campaign, post id) memberships, media hashes, digest weeks; never a handle or a text).
  "before" erasers run while the post rows still exist (delete your own files and rows);
  "after" erasers run once they are gone (re-render pages). Both must be idempotent: an
  interrupted erasure calls them again with the same removal.
- An exporter is called as `exporter(ws, post_ids) -> dict | list` and its result goes into
  the access export's JSON under its name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from campaign_worker.privacy.removal import Removal
    from campaign_worker.workspace import Workspace

Target = Callable[..., Any] | str
When = Literal["before", "after"]

ERASERS: dict[str, tuple[When, Target]] = {}
EXPORTERS: dict[str, Target] = {}


def register_eraser(name: str, target: Target, *, when: When = "before") -> None:
    if when not in ("before", "after"):
        raise ValueError("when must be 'before' or 'after'")
    ERASERS[name] = (when, target)


def register_exporter(name: str, target: Target) -> None:
    EXPORTERS[name] = target


def resolve(target: Target) -> Callable[..., Any]:
    if callable(target):
        return target
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def run_erasers(ws: Workspace, removal: Removal, when: When) -> dict[str, int]:
    """Call every eraser registered for `when`; their counts prefixed with their name."""
    counts: dict[str, int] = {}
    for name, (moment, target) in sorted(ERASERS.items()):
        if moment != when:
            continue
        for key, value in (resolve(target)(ws, removal) or {}).items():
            if isinstance(value, int):
                counts[f"{name}_{key}"] = counts.get(f"{name}_{key}", 0) + value
    return counts


def run_exporters(ws: Workspace, post_ids: list[int]) -> dict[str, Any]:
    return {name: resolve(target)(ws, post_ids) for name, target in sorted(EXPORTERS.items())}


# Static wall exports in the campaign's web space are written again without the removed posts.
register_eraser("wall_exports", "campaign_worker.publish.wall:refresh_exports", when="after")
# Crops of drafts live as files next to the database; they go while the drafts' rows still say where.
register_eraser("crops", "campaign_worker.publish.drafts:erase_crops", when="before")
