"""A workspace: one home, its campaigns and its (migrated) database, opened once per command."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from campaign_worker.config.campaigns import Campaign, ConfigError, load_campaigns
from campaign_worker.store.db import make_engine
from campaign_worker.home import Home, resolve_home
from campaign_worker.store.migrate import upgrade

if TYPE_CHECKING:
    from campaign_worker.media.store import MediaStore


@dataclass
class Workspace:
    home: Home
    engine: Engine
    campaigns: dict[str, Campaign] = field(default_factory=dict)

    @classmethod
    def open(cls, home: Home | str | None = None, *, migrate: bool = True, database_url: str | None = None) -> "Workspace":
        if not isinstance(home, Home):
            home = resolve_home(home)
        home.ensure_dirs()
        engine = make_engine(database_url or home.database_url)
        if migrate:
            upgrade(engine)
        return cls(home=home, engine=engine, campaigns=load_campaigns(home))

    def campaign(self, slug: str) -> Campaign:
        try:
            return self.campaigns[slug]
        except KeyError:
            known = ", ".join(sorted(self.campaigns)) or "keine / none"
            raise ConfigError(
                f"config/campaigns/{slug}.toml",
                [f"unbekannte Kampagne / unknown campaign {slug!r}; vorhanden / known: {known}"],
            ) from None

    def selected(self, slugs: list[str] | tuple[str, ...] | None) -> list[Campaign]:
        """The named campaigns, or all of them when none are named."""
        if not slugs:
            return [self.campaigns[s] for s in sorted(self.campaigns)]
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
