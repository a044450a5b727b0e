"""Worker settings: `config/worker.toml` (SMTP, alerts, metrics port, logging, scheduler options,
the web app's base URL for links in digests).

Looked up like every config file (the home first, then the shipped default); a missing file
means the defaults below. Secrets never live in the file: `[smtp] password_env` names the
environment variable that holds the SMTP password.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from campaign_worker.config.campaigns import read_toml, validate
from campaign_worker.home import Home

EMAIL = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SmtpSettings(Strict):
    host: str = "localhost"
    port: int = Field(default=25, ge=1, le=65535)
    sender: EMAIL = Field(default="campaign-worker@localhost", alias="from")
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password_env: str = Field(default="CAMPAIGN_WORKER_SMTP_PASSWORD", pattern=r"^[A-Z][A-Z0-9_]*$")
    timeout_seconds: float = Field(default=20, gt=0, le=300)

    def password(self) -> str | None:
        return os.environ.get(self.password_env) or None


class AlertSettings(Strict):
    enabled: bool = True
    after_failures: int = Field(default=3, ge=1, le=100, description="consecutive failures before the alert mail")
    recipients: list[EMAIL] = Field(default_factory=list)
    subject_prefix: str = Field(default="[campaign-worker]", max_length=60)


class MetricsSettings(Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9465, ge=0, le=65535, description="0 picks a free port")


class LoggingSettings(Strict):
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: str | None = Field(default=None, description="optional log file (rotated), relative to the home")
    max_bytes: int = Field(default=10_000_000, ge=10_000)
    backup_count: int = Field(default=5, ge=0, le=100)


class SchedulerSettings(Strict):
    max_workers: int = Field(default=4, ge=1, le=32)
    heartbeat_seconds: float = Field(default=15, gt=0, le=600)
    lock_ttl_seconds: float = Field(default=120, gt=0, le=3600, description="a lock older than this is stale")
    abandon_after_hours: float = Field(default=12, gt=0, description="running rows of unknown hosts older than this are abandoned")
    db_lock_timeout_seconds: float = Field(default=5, gt=0, le=120, description="how long the scheduler's own writes wait for a lock")
    record_retry_seconds: float = Field(default=300, ge=0, le=3600, description="how long a finished run keeps trying to record its end")


class WorkersSettings(Strict):
    """Scale-out workers (`campaign-worker worker`, PostgreSQL only)."""

    concurrency: int = Field(default=2, ge=1, le=64, description="jobs one worker process runs at once")
    tick_seconds: int = Field(default=60, ge=1, le=60, description="how often due slots are looked for; divides 60")
    heartbeat_seconds: float = Field(default=10, gt=0, le=300)
    stalled_after_seconds: float = Field(default=30, gt=0, le=3600, description="a worker silent this long is dead; its jobs run again elsewhere")

    @field_validator("tick_seconds")
    @classmethod
    def _divides_a_minute(cls, value: int) -> int:
        if 60 % value:
            raise ValueError("muss 60 teilen (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60) / must divide 60")
        return value


class RetentionSettings(Strict):
    ledger_keep_days: int = Field(default=90, ge=1)
    ledger_keep_per_job: int = Field(default=50, ge=1)


class WebSettings(Strict):
    base_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
                          description="where readers reach the web app; links in digests point there")

    def link(self, path: str) -> str:
        """`path` (starting with '/') under the base URL."""
        return self.base_url.rstrip("/") + path


class WorkerSettings(Strict):
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    workers: WorkersSettings = Field(default_factory=WorkersSettings)
    web: WebSettings = Field(default_factory=WebSettings)


def settings_file(home: Home) -> Path | None:
    return home.find("config", "worker.toml")


def parse_settings(path: Path) -> WorkerSettings:
    return validate(WorkerSettings, read_toml(path), path)


def load_settings(home: Home) -> WorkerSettings:
    path = settings_file(home)
    return parse_settings(path) if path else WorkerSettings()
