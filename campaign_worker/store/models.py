"""The stored facts, as SQLModel tables.

Flow: `Post` (+ `PostMedia` → `Media`) is collected once per platform; `CampaignPost` is its
membership in a campaign with a moderation state; `ModerationEvent` is the append-only audit
trail of every state change; `Draft` and `Digest` (+ `DigestDelivery` per recipient) are what
the campaign produces. `JobRun`, `SchedulerLock`, `JobAlert`, `SourceState`, `AuthorName`,
`User` and `WebSession` serve operations and the web UI. `SuppressedAuthor`, `Erasure` and
`RetentionRun` are the privacy records: who must not be collected again (as a keyed hash),
erasures in progress and done, and what retention removed (counts only).

Every table lives here, so the Alembic environment sees them all by importing this module.
Queries written in SQLAlchemy Core use the table objects at the end (`post_table`, …), one
name per table for every module. The one table not declared here, `apscheduler_jobs`, belongs
to APScheduler, which creates it itself.

Schema changes go through Alembic (`campaign_worker/store/migrations`), never `create_all`.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import JSON, Boolean, Column, DateTime, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel
from campaign_worker.timeutil import utcnow


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on every database.

    SQLite keeps no offset, so values are stored as naive UTC there and made aware again
    on the way out; a naive value handed in is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _ts(**kwargs) -> Column:
    return Column(UTCDateTime(), **kwargs)


class Post(SQLModel, table=True):
    __tablename__ = "post"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_post_platform_external_id"),
        Index("ix_post_posted_at", "posted_at"),
        Index("ix_post_author", "author_username"),
        Index("ix_post_author_id", "platform", "author_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    external_id: str = Field(max_length=200)
    source_id: str | None = Field(default=None, max_length=100)
    author_username: str | None = Field(default=None, max_length=100)
    author_id: str | None = Field(default=None, max_length=100)
    caption: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    hashtags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    posted_at: datetime = Field(sa_column=_ts(nullable=False))
    permalink: str | None = Field(default=None, max_length=500)
    media_type: str = Field(default="image", max_length=16)
    like_count: int | None = None
    comment_count: int | None = None
    raw: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # What cleaning changed on the way in (`post.CHANGE_LABELS` codes; migration 0007).
    sanitised: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    collected_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class Media(SQLModel, table=True):
    """A sanitised image, stored once under its content hash."""

    __tablename__ = "media"

    sha256: str = Field(primary_key=True, max_length=64)
    status: str = Field(default="ok", max_length=16)  # ok | rejected
    reject_reason: str | None = Field(default=None, max_length=300)
    mime: str | None = Field(default=None, max_length=40)
    width: int | None = None
    height: int | None = None
    bytes: int | None = None
    path: str | None = Field(default=None, max_length=300)  # relative to the media folder
    thumb_path: str | None = Field(default=None, max_length=300)
    phash: str | None = Field(default=None, max_length=32, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class PostMedia(SQLModel, table=True):
    """The n-th picture of a post; `media_sha256` is empty until it was fetched."""

    __tablename__ = "post_media"

    post_id: int = Field(foreign_key="post.id", primary_key=True, ondelete="CASCADE")
    position: int = Field(primary_key=True)
    kind: str = Field(default="image", max_length=16)
    source_url: str | None = Field(default=None, sa_column=Column(Text))
    video_url: str | None = Field(default=None, sa_column=Column(Text))
    media_sha256: str | None = Field(default=None, foreign_key="media.sha256", max_length=64, index=True)


class CampaignPost(SQLModel, table=True):
    """A post's place in one campaign: its moderation state and the last reason."""

    __tablename__ = "campaign_post"
    __table_args__ = (
        Index("ix_campaign_post_queue", "campaign", "state", "posted_at", "post_id"),
        Index("ix_campaign_post_recent", "campaign", "posted_at", "post_id"),
    )

    campaign: str = Field(primary_key=True, max_length=64)
    post_id: int = Field(foreign_key="post.id", primary_key=True, ondelete="CASCADE")
    state: str = Field(default="new", max_length=16)  # new | pending | approved | rejected | later
    decided_by: str | None = Field(default=None, max_length=100)  # "rule:<id>" or "user:<name>"
    human: bool = False  # a person decided; rules never override that
    rule: str | None = Field(default=None, max_length=64)
    reason_de: str | None = Field(default=None, max_length=500)
    reason_en: str | None = Field(default=None, max_length=500)
    evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    audiences: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    score: float | None = None  # the model's probability that the post is genuine (0–1), from the last rule run
    posted_at: datetime = Field(sa_column=_ts(nullable=False))  # copied from post for the queue index
    added_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class ModerationEvent(SQLModel, table=True):
    """Append-only: one row per state change, by a rule or a person."""

    __tablename__ = "moderation_event"
    __table_args__ = (Index("ix_moderation_event_post", "campaign", "post_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=64)
    post_id: int = Field(foreign_key="post.id", ondelete="CASCADE")
    actor: str = Field(max_length=100)  # "rule:<id>", "user:<name>" or "system"
    from_state: str = Field(max_length=16)
    to_state: str = Field(max_length=16)
    rule: str | None = Field(default=None, max_length=64)
    reason_de: str | None = Field(default=None, max_length=500)
    reason_en: str | None = Field(default=None, max_length=500)
    evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class Draft(SQLModel, table=True):
    __tablename__ = "draft"
    __table_args__ = (
        UniqueConstraint("campaign", "post_id", "audience", "channel", name="uq_draft_target"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=64, index=True)
    post_id: int = Field(foreign_key="post.id", ondelete="CASCADE")
    audience: str = Field(max_length=32)
    channel: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    hashtags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="draft", max_length=16)  # draft | approved | discarded
    problems: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    edited_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    link: str | None = Field(default=None, max_length=500)  # Instagram: goes to the bio, not the caption
    alt_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    slot_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))  # planned time (UTC)
    crops: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    focal_x: float = Field(default=0.5)
    focal_y: float = Field(default=0.5)


class PostRights(SQLModel, table=True):
    """Whether a post's picture may be reposted: a partner's by config, others by a recorded answer."""

    __tablename__ = "post_rights"
    __table_args__ = (UniqueConstraint("campaign", "post_id", name="uq_post_rights"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=64)
    post_id: int = Field(foreign_key="post.id", ondelete="CASCADE")
    status: str = Field(default="open", max_length=16)  # open | requested | granted | declined
    people: bool = False  # recognisable people in the picture (KUG §22)
    minors: bool = False
    consent: bool = False  # recorded consent of the people shown (parents for minors)
    history: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # who did what when
    updated_by: str | None = Field(default=None, max_length=100)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class AudienceOverride(SQLModel, table=True):
    """A manager's choice of a post's audiences, which drafts follow instead of the matching."""

    __tablename__ = "audience_override"
    __table_args__ = (UniqueConstraint("campaign", "post_id", name="uq_audience_override"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=64)
    post_id: int = Field(foreign_key="post.id", ondelete="CASCADE")
    audiences: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [] = matching decides again
    set_by: str = Field(max_length=100)
    set_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    history: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))  # who set what when


class Digest(SQLModel, table=True):
    __tablename__ = "digest"
    __table_args__ = (UniqueConstraint("campaign", "week_start", name="uq_digest_week"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=64)
    week_start: date
    html_path: str = Field(max_length=500)
    text_path: str | None = Field(default=None, max_length=500)
    counts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class DigestDelivery(SQLModel, table=True):
    """One recipient's copy of one week's digest: sent once, a failure kept and retried (migration 0009)."""

    __tablename__ = "digest_delivery"
    __table_args__ = (UniqueConstraint("campaign", "week_start", "recipient", name="uq_digest_delivery"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=64)
    week_start: date
    recipient: str = Field(max_length=320)
    status: str = Field(default="failed", max_length=16)  # sent | failed
    attempts: int = 0
    message_id: str | None = Field(default=None, max_length=300)
    error: str | None = Field(default=None, sa_column=Column(Text))
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class JobRun(SQLModel, table=True):
    """The run ledger: one row per job and slot (the scheduled time it belongs to)."""

    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("job", "slot", name="uq_job_run_slot"),
        Index("ix_job_run_job_started", "job", "started_at"),
        # At most one running row per job, across processes and machines: no overlap (migration 0002).
        Index(
            "uq_job_run_one_running", "job", unique=True,
            sqlite_where=text("status = 'running'"), postgresql_where=text("status = 'running'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=100)
    slot: datetime = Field(sa_column=_ts(nullable=False))
    status: str = Field(default="running", max_length=20)  # running | ok | failed | abandoned | partial
    started_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    counts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))
    owner: str | None = Field(default=None, max_length=100)  # host:pid of the process
    kind: str = Field(default="scheduled", max_length=16)  # scheduled | catchup | recovery | manual (migration 0002)
    attempts: int = 0
    retry_of: int | None = None  # the abandoned run this one re-runs


class SchedulerLock(SQLModel, table=True):
    """One row per database: which scheduler process runs, and its last heartbeat (`scheduler.lock`)."""

    __tablename__ = "scheduler_lock"

    name: str = Field(primary_key=True, max_length=40)
    owner: str | None = Field(default=None, max_length=120)
    acquired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class JobAlert(SQLModel, table=True):
    """Per job: is an alert mail out, after how many failures (`scheduler.alerts`)."""

    __tablename__ = "job_alert"

    job: str = Field(primary_key=True, max_length=100)
    alerting: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    failures: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    alerted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    recovered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class SourceState(SQLModel, table=True):
    """Per source and hashtag: the resume cursor, the 'not before' time and the last outcome."""

    __tablename__ = "source_state"

    key: str = Field(primary_key=True, max_length=200)  # "<campaign>/<source id>/<hashtag>"
    campaign: str = Field(max_length=64)
    source_id: str = Field(max_length=100)
    cursor: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    not_before: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_status: str | None = Field(default=None, max_length=40)
    last_message: str | None = Field(default=None, sa_column=Column(Text))
    last_run_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_success_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    requests_used: int = 0
    posts_new: int = 0
    posts_seen: int = 0
    extra: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AuthorName(SQLModel, table=True):
    """The account name behind a platform's stable author id, looked up once and kept.

    Feeds that carry only the owner id (Instagram's GraphQL hashtag feed) are completed from
    here; `username` is empty when the platform said the account does not exist (any more).
    """

    __tablename__ = "author_name"

    platform: str = Field(primary_key=True, max_length=32)
    author_id: str = Field(primary_key=True, max_length=100)
    username: str | None = Field(default=None, max_length=100)
    resolved_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=300)
    role: str = Field(default="viewer", max_length=16)  # admin | moderator | viewer
    language: str = Field(default="de", max_length=5)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class SuppressedAuthor(SQLModel, table=True):
    """A person who asked to be erased: collection skips them. Only a keyed hash, never the handle."""

    __tablename__ = "suppressed_author"

    subject: str = Field(primary_key=True, max_length=64)  # HMAC-SHA256 of "platform:handle" or "*:handle"
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class Erasure(SQLModel, table=True):
    """One erasure: while it runs, its plan (ids only) so a re-run after a crash completes it;
    once done, only that it happened, when, and the counts: not who."""

    __tablename__ = "erasure"

    id: int | None = Field(default=None, primary_key=True)
    subject: str | None = Field(default=None, max_length=64, index=True)  # keyed hash while running, then cleared
    status: str = Field(default="running", max_length=16)  # running | done
    requested_by: str = Field(default="cli", max_length=100)
    plan: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    counts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    started_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class RetentionRun(SQLModel, table=True):
    """What one retention pass removed from one campaign: counts, nothing about the posts."""

    __tablename__ = "retention_run"

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    counts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    plan: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # ids while it runs, then empty
    finished_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
class WebSession(SQLModel, table=True):
    """A signed-in browser (migration 0007). The cookie carries a random token; only its
    SHA-256 is stored. Deleting the row ends the session: logout, password change, removal."""

    __tablename__ = "web_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))


# The Core table objects, for queries written in SQLAlchemy Core. Import them under a local
# name where that reads better (`from campaign_worker.store.models import post_table as post`).
post_table = Post.__table__
media_table = Media.__table__
post_media_table = PostMedia.__table__
campaign_post_table = CampaignPost.__table__
moderation_event_table = ModerationEvent.__table__
draft_table = Draft.__table__
digest_table = Digest.__table__
digest_delivery_table = DigestDelivery.__table__
post_rights_table = PostRights.__table__
audience_override_table = AudienceOverride.__table__
job_run_table = JobRun.__table__
scheduler_lock_table = SchedulerLock.__table__
job_alert_table = JobAlert.__table__
source_state_table = SourceState.__table__
user_table = User.__table__
suppressed_author_table = SuppressedAuthor.__table__
erasure_table = Erasure.__table__
retention_run_table = RetentionRun.__table__
author_name_table = AuthorName.__table__
web_session_table = WebSession.__table__
