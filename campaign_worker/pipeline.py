"""The whole pipeline in one call: import the campaigns' archive sources, moderate, compose
drafts and render every week's digest. Used by `campaign-worker demo`; safe to repeat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from campaign_worker.publish.digest import RenderedDigest, render_week, weeks_with_posts
from campaign_worker.publish.drafts import compose
from campaign_worker.moderation.job import moderate
from campaign_worker.sources.archive import import_archive, resolve_archive_path
from campaign_worker.sources.collect import record_import
from campaign_worker.store.ingest import PostCounts

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace


@dataclass
class DemoReport:
    imports: dict[str, PostCounts] = field(default_factory=dict)
    moderation: dict = field(default_factory=dict)
    drafts: dict = field(default_factory=dict)
    digests: list[RenderedDigest] = field(default_factory=list)


def run_demo(ws: Workspace, on_progress: Callable[[int, int], None] | None = None) -> DemoReport:
    report = DemoReport()
    for campaign in ws.selected(None):
        for source in campaign.sources:
            # Enabled archives, and the bundled sample, which only the demo imports.
            if source.type == "archive" and (source.enabled or Path(source.path).parts[:1] == ("sample",)):
                folder = resolve_archive_path(ws, source.path)
                counts = import_archive(ws, campaign.slug, folder, source_id=source.id, on_progress=on_progress)
                report.imports[f"{campaign.slug}/{source.id}"] = counts
                record_import(ws, campaign, source, counts)
    report.moderation = moderate(ws)
    report.drafts = compose(ws)
    for campaign in ws.selected(None):
        for monday in weeks_with_posts(ws, campaign):
            report.digests.append(render_week(ws, campaign, monday))
    return report
