"""Campaign configuration: `config/campaigns/<slug>.toml`, validated with pydantic.

A broken file is reported as `ConfigError` naming the file, the key and what was expected;
the CLI turns that into a message and exit code 2, never a traceback.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from campaign_worker.home import Home
from campaign_worker.errors import CampaignWorkerError

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
KEY_RE = r"^[a-z][a-z0-9_]{0,31}$"
SLOT_RE = r"(?i)^\s*(mo|di|mi|do|fr|sa|so|mon|tue|wed|thu|fri|sat|sun)\.?\s+([01]?\d|2[0-3]):[0-5]\d\s*$"
HASHTAG_RE = r"^[a-z0-9_]{1,100}$"
USERNAME_RE = r"^[A-Za-z0-9._]{1,30}$"
UMLAUT_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})


class ConfigError(CampaignWorkerError):
    """A configuration file that cannot be used, with every problem spelled out."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = Path(path)
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))

    def render(self) -> str:
        lines = [f"Fehler in der Konfiguration / configuration error: {self.path}"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def fold_hashtag(tag: str) -> str:
    """'#MeinHerzTrägtKrone' → 'meinherztraegtkrone' (how the campaigns spell their tags)."""
    return tag.strip().lstrip("#").translate(UMLAUT_FOLD).lower()


def known_zone(value: str) -> str:
    """A pydantic check: `value` names an IANA time zone."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}, e.g. 'Europe/Berlin'") from None
    return value


def read_toml(path: Path, text: str | None = None) -> dict[str, Any]:
    """A TOML file's table, or a ConfigError saying why it cannot be read."""
    try:
        return tomllib.loads(text if text is not None else path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"not valid TOML: {exc}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"cannot read file: {exc}"]) from None


def validate(model: type[BaseModel], data: dict[str, Any], path: Path):
    """`model` built from `data`, or a ConfigError naming every bad key of `path`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, [_describe(e) for e in exc.errors()]) from None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Audience(Strict):
    key: str = Field(pattern=KEY_RE, description="short key, e.g. fachkraefte")
    label: str = Field(min_length=1, max_length=80)
    label_en: str | None = None
    keywords: list[str] = Field(default_factory=list)
    tone: Literal["du", "Sie"] = "Sie"
    cta_text: str = Field(default="Mehr erfahren", max_length=120)
    cta_url: str | None = Field(default=None, pattern=r"^https://")

    @field_validator("keywords")
    @classmethod
    def _lower_keywords(cls, value: list[str]) -> list[str]:
        return [k.strip().lower() for k in value if k.strip()]


class Partner(Strict):
    name: str = Field(min_length=1, max_length=120)
    accounts: list[Annotated[str, Field(pattern=USERNAME_RE)]] = Field(default_factory=list)


class ArchiveConfig(Strict):
    id: str = Field(pattern=KEY_RE.replace("_]", "_-]"))
    type: Literal["archive"]
    path: str = Field(description="folder written by instaloader (relative to the home)")
    enabled: bool = True


class InstagramConfig(Strict):
    id: str = Field(pattern=KEY_RE.replace("_]", "_-]"))
    type: Literal["instagram"]
    username: str = Field(pattern=USERNAME_RE, description="account whose saved session is used")
    session_file: str | None = None
    hashtags: list[str] | None = None
    max_requests_per_run: int = Field(default=60, ge=1, le=10_000)
    max_requests_per_hour: int = Field(default=200, ge=1, le=100_000)
    poll_interval_hours: float = Field(default=1, gt=0, le=168, description="keeps retries under half of it")
    fallback: str | None = Field(default=None, description="id of an instagram_graph source tried when all instaloader paths fail")
    download_media: bool = True
    enabled: bool = True


class InstagramGraphConfig(Strict):
    id: str = Field(pattern=KEY_RE.replace("_]", "_-]"))
    type: Literal["instagram_graph"]
    user_id_env: str = Field(default="IG_GRAPH_USER_ID", pattern=r"^[A-Z][A-Z0-9_]*$")
    token_env: str = Field(default="IG_GRAPH_TOKEN", pattern=r"^[A-Z][A-Z0-9_]*$")
    hashtags: list[str] | None = None
    edges: list[Literal["recent_media", "top_media"]] = Field(default_factory=lambda: ["recent_media"])
    poll_interval_hours: float = Field(default=6, gt=0, le=168)
    api_version: str = Field(default="v21.0", pattern=r"^v\d{1,3}\.\d{1,2}$")
    max_requests_per_run: int = Field(default=30, ge=1, le=10_000)
    download_media: bool = True
    enabled: bool = True


class MastodonConfig(Strict):
    id: str = Field(pattern=KEY_RE.replace("_]", "_-]"))
    type: Literal["mastodon"]
    instance: str = Field(pattern=r"^https://[A-Za-z0-9.-]+(:\d+)?/?$")
    hashtags: list[str] | None = None
    max_pages_first_run: int = Field(default=3, ge=1, le=100, description="pages of 40 read back on the first run")
    max_requests_per_run: int = Field(default=30, ge=1, le=10_000)
    poll_interval_hours: float = Field(default=1, gt=0, le=168)
    download_media: bool = True
    enabled: bool = True


class MemoryConfig(Strict):
    """Posts handed over in code (`sources.memory.feed`), served like a platform's hashtag feed."""

    id: str = Field(pattern=KEY_RE.replace("_]", "_-]"))
    type: Literal["memory"]
    hashtags: list[str] | None = None
    page_size: int = Field(default=12, ge=1, le=1000, description="posts per page; each page costs one request")
    max_requests_per_run: int = Field(default=60, ge=1, le=10_000)
    download_media: bool = True
    enabled: bool = True


# A source's settings; `type` names the class in `sources/` that collects for it (`sources.base.register`).
SourceConfig = Annotated[
    Union[ArchiveConfig, InstagramConfig, InstagramGraphConfig, MastodonConfig, MemoryConfig],
    Field(discriminator="type"),
]


class ModerationSettings(Strict):
    auto_approve_partners: bool = True
    auto_approve_all: bool = Field(default=False, description="approve what no rule objects to")
    blocklists: list[str] = Field(default_factory=lambda: ["de", "en"])
    allow_words: list[str] = Field(default_factory=list)
    max_hashtags: int = Field(default=20, ge=1, le=60)
    author_daily_cap: int = Field(default=5, ge=1, le=1000)
    duplicate_max_distance: int = Field(default=6, ge=0, le=32)
    languages: list[str] = Field(default_factory=list, description="empty: any language")


class DraftSettings(Strict):
    channels: list[Literal["instagram", "facebook", "linkedin"]] = Field(
        default_factory=lambda: ["instagram", "facebook"]
    )
    max_hashtags: int = Field(default=5, ge=0, le=30)
    extra_hashtags: list[str] = Field(default_factory=list)
    hashtag_spellings: list[str] = Field(default_factory=list, description="readable CamelCase forms, e.g. MeinHerzTraegtKrone")
    slots: dict[str, list[Annotated[str, Field(pattern=SLOT_RE)]]] = Field(
        default_factory=lambda: {"default": ["di 18:00", "do 12:00", "sa 10:00"]},
        description="weekly posting times per audience key (or default), e.g. [\"di 18:00\"]")
    terms_url: str | None = Field(default=None, pattern=r"^https://", description="the campaign's terms, linked in rights requests")


class DigestSettings(Strict):
    recipients: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = Field(default_factory=list)
    highlights: int = Field(default=6, ge=0, le=50)
    send_email: bool = Field(default=False, description="mail each new digest to the recipients (SMTP in worker.toml)")


class Campaign(Strict):
    slug: str
    name: str = Field(min_length=1, max_length=160)
    hashtags: list[str] = Field(min_length=1)
    timezone: str = "Europe/Berlin"
    language: Literal["de", "en"] = "de"
    audiences: list[Audience] = Field(min_length=1)
    partners: list[Partner] = Field(default_factory=list)
    blocked_accounts: list[Annotated[str, Field(pattern=USERNAME_RE)]] = Field(default_factory=list)
    own_accounts: list[Annotated[str, Field(pattern=USERNAME_RE)]] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)
    drafts: DraftSettings = Field(default_factory=DraftSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)

    @field_validator("hashtags")
    @classmethod
    def _fold_hashtags(cls, value: list[str]) -> list[str]:
        folded = [fold_hashtag(t) for t in value]
        for tag in folded:
            if not re.match(HASHTAG_RE, tag):
                raise ValueError(f"{tag!r} is not a hashtag (letters, digits and _ only)")
        return list(dict.fromkeys(folded))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @model_validator(mode="after")
    def _unique_keys(self) -> "Campaign":
        for what, keys in (("audience key", [a.key for a in self.audiences]), ("source id", [s.id for s in self.sources])):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            if dupes:
                raise ValueError(f"duplicate {what}: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _fallbacks_exist(self) -> "Campaign":
        graph_ids = {s.id for s in self.sources if s.type == "instagram_graph"}
        for source in self.sources:
            fallback = getattr(source, "fallback", None)
            if fallback and fallback not in graph_ids:
                raise ValueError(f"source {source.id}: fallback {fallback!r} is not an instagram_graph source of this campaign")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def partner_accounts(self) -> frozenset[str]:
        return frozenset(a.lower() for p in self.partners for a in p.accounts)

    def audience(self, key: str) -> Audience:
        for audience in self.audiences:
            if audience.key == key:
                return audience
        raise KeyError(key)


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling)"
    elif error["type"] == "missing":
        message = "required key is missing"
    value = error.get("input")
    shown = "" if error["type"] in ("missing", "extra_forbidden") or isinstance(value, dict) else f" (got {value!r:.60})"
    return f"{location or '(file)'}: {message}{shown}"


def parse_campaign(path: Path, text: str | None = None) -> Campaign:
    """Parse and validate one campaign file; the slug is the file name."""
    slug = path.stem
    if not SLUG_RE.match(slug):
        raise ConfigError(path, [f"file name {slug!r} is not a valid campaign slug (a-z, 0-9, - and _)"])
    data = read_toml(path, text)
    if "slug" in data and data["slug"] != slug:
        raise ConfigError(path, [f"slug: {data['slug']!r} differs from the file name {slug!r}; remove the key or rename the file"])
    data["slug"] = slug
    return validate(Campaign, data, path)


def campaign_files(home: Home) -> list[Path]:
    return home.files("config", "campaigns", "*.toml")


def load_campaigns(home: Home) -> dict[str, Campaign]:
    """All campaigns of a home; raises the first ConfigError (use `check_campaigns` for all)."""
    campaigns = {}
    for path in campaign_files(home):
        campaign = parse_campaign(path)
        campaigns[campaign.slug] = campaign
    return campaigns


def check_campaigns(home: Home) -> tuple[dict[str, Campaign], list[ConfigError]]:
    campaigns: dict[str, Campaign] = {}
    errors: list[ConfigError] = []
    for path in campaign_files(home):
        try:
            campaign = parse_campaign(path)
        except ConfigError as exc:
            errors.append(exc)
        else:
            campaigns[campaign.slug] = campaign
    return campaigns, errors
