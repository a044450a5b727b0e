"""The embedded scheduler: jobs from `jobs/*.toml`, run by APScheduler 3 with a run ledger.

`fire` stays importable as `campaign_worker.scheduler:fire` because APScheduler stores that text
reference with every persisted job; databases made by older layouts keep working.
"""

from __future__ import annotations


def fire(name: str, **options) -> None:
    """What APScheduler calls for a stored job (see `service.fire`)."""
    from campaign_worker.scheduler.service import fire as fire_in_service

    fire_in_service(name, **options)
