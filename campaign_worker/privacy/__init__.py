"""Privacy by design: retention, erasure, access and the record of processing activities.

- `retention.apply_retention` (the scheduler's "retention" task, `privacy purge`): posts are
  kept only as long as the campaign's `[retention]` settings allow;
- `erase.erase_author` (`privacy erase`, the web app's admin page): one person's data goes,
  and collection skips them from then on;
- `access.export_author` (`privacy export`): a ZIP of everything stored about a person;
- `record.write_record` (`privacy record`): the Art. 30 record from the configuration;
- `erasers`: where crops, walls and exports register what they must remove or export.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from campaign_worker.workspace import Workspace


def apply_retention(ws: Workspace, campaigns: list[str] | None = None, should_stop: Callable[[], bool] = lambda: False) -> dict:
    """The retention hook the scheduler calls (see `privacy.retention`)."""
    from campaign_worker.privacy.retention import apply_retention as run

    return run(ws, campaigns, should_stop)
