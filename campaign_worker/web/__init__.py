"""The moderation web UI (FastAPI, server-rendered Jinja2) and its JSON API."""

from .app import create_app

__all__ = ["create_app"]
