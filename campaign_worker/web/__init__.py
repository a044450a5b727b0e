"""The moderation web UI (FastAPI, server-rendered Jinja2) and its JSON API.

`create_app` is loaded on first use, so that `campaign_worker.web.users` (used by the CLI) does
not pull in the web stack.
"""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from campaign_worker.web.app import create_app

        return create_app
    raise AttributeError(name)
