"""A workspace: one home, its campaigns and its (migrated) database, opened once per command.

A campaign file that cannot be used does not stop the others: it is kept aside in `broken`
(its `ConfigError`), every command and job works with the campaigns that load, and whoever
names the broken campaign gets its error. The CLI warns about broken files, the web app shows
them on its health page, `config check` fails on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from campaign_worker.config.campaigns import Campaign, ConfigError, check_campaigns
from campaign_worker.store.db import make_engine, sqlite_read_only
from campaign_worker.home import Home, resolve_home
from campaign_worker.store.migrate import require_current, upgrade

if TYPE_CHECKING:
    from campaign_worker.media.store import MediaStore


@dataclass
class Workspace:
    home: Home
    engine: Engine
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    broken: dict[str, ConfigError] = field(default_factory=dict)  # slug (file name) → why it cannot be used

    @classmethod
    def open(cls, home: Home | str | None = None, *, migrate: bool = True, database_url: str | None = None) -> "Workspace":
        if not isinstance(home, Home):
            home = resolve_home(home)
        url = database_url or home.database_url
        read_only = sqlite_read_only(url)  # a read-only home: read commands work, nothing is migrated
        if not read_only:
            home.ensure_dirs()
        engine = make_engine(url, read_only=read_only)
        if read_only:
            require_current(engine)
        elif migrate:
            upgrade(engine)
        campaigns, errors = check_campaigns(home)
        return cls(home=home, engine=engine, campaigns=campaigns, broken={e.path.stem: e for e in errors})

    def campaign(self, slug: str) -> Campaign:
        try:
            return self.campaigns[slug]
        except KeyError:
            if slug in self.broken:
                raise self.broken[slug] from None
            known = ", ".join(sorted(self.campaigns)) or "keine / none"
            raise ConfigError(
                f"config/campaigns/{slug}.toml",
                [f"unbekannte Kampagne / unknown campaign {slug!r}; vorhanden / known: {known}"],
            ) from None

    def selected(self, slugs: list[str] | tuple[str, ...] | None) -> list[Campaign]:
        """The named campaigns, or all enabled ones when none are named."""
        if not slugs:
            return [self.campaigns[s] for s in sorted(self.campaigns) if self.campaigns[s].enabled]
        return [self.campaign(s) for s in slugs]

    def for_each(
        self,
        slugs: list[str] | tuple[str, ...] | None,
        work: Callable[[Campaign], dict],
        should_stop: Callable[[], bool] = lambda: False,
    ) -> dict:
        """Run `work(campaign)` for each selected campaign; its counts summed and per campaign."""
        total: dict[str, int] = {}
        per_campaign: dict[str, dict] = {}
        for campaign in self.selected(slugs):
            if should_stop():
                break
            result = work(campaign)
            per_campaign[campaign.slug] = result
            for key, value in result.items():
                if isinstance(value, int):
                    total[key] = total.get(key, 0) + value
        return {**total, "campaigns": per_campaign}

    @cached_property
    def media(self) -> MediaStore:
        # Imported on first use: Pillow is heavy and most commands never touch a picture.
        from campaign_worker.media.store import MediaStore

        return MediaStore(self.home.media_dir)

    def close(self) -> None:
        self.engine.dispose()
