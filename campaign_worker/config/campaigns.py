"""Campaign configuration: `config/campaigns/<slug>.toml`, validated with pydantic.

A broken file is reported as `ConfigError` (`config.toml`) naming the file, the line, the key
as written and what was expected; the CLI turns that into a message and exit code 2, never a
traceback.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from campaign_worker.home import Home
from campaign_worker.post import fold_hashtag
from campaign_worker.config.toml import ConfigError, read_toml, validate

__all__ = ["Campaign", "ConfigError", "SourceConfig", "check_campaigns", "fold_hashtag", "load_campaigns", "parse_campaign",
           "read_toml", "validate"]

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
KEY_RE = r"^[a-z][a-z0-9_]{0,31}$"
SLOT_RE = r"(?i)^\s*(mo|di|mi|do|fr|sa|so|mon|tue|wed|thu|fri|sat|sun)\.?\s+([01]?\d|2[0-3]):[0-5]\d\s*$"
HASHTAG_RE = r"^[a-z0-9_]{1,100}$"
USERNAME_RE = r"^[A-Za-z0-9._]{1,30}$"
# An account in partners, own or blocked accounts: its name, or its stable id as "id:<digits>"
# (the name can change, the id cannot; Instagram's hashtag feed names authors by id).
ACCOUNT_RE = r"^(?:[A-Za-z0-9._]{1,30}|id:[0-9]{1,30})$"


def known_zone(value: str) -> str:
    """A pydantic check: `value` names an IANA time zone."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}, e.g. 'Europe/Berlin'") from None
    return value


class Strict(BaseModel):
    # strict: `highlights = true` is not a number, `enabled = "yes"` not a switch
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Audience(Strict):
    key: str = Field(pattern=KEY_RE, description="short key, e.g. fachkraefte")
    label: str = Field(min_length=1, max_length=80)
    label_en: str | None = None
    keywords: list[str] = Field(default_factory=list)
    tone: Literal["du", "Sie"] = "Sie"
    cta_text: str = Field(default="Mehr erfahren", max_length=120)
    cta_text_en: str | None = Field(default=None, max_length=120, description="call to action of English drafts")
    cta_url: str | None = Field(default=None, pattern=r"^https://")

    @field_validator("keywords")
    @classmethod
    def _lower_keywords(cls, value: list[str]) -> list[str]:
        return [k.strip().lower() for k in value if k.strip()]


class Partner(Strict):
    name: str = Field(min_length=1, max_length=120)
    accounts: list[Annotated[str, Field(pattern=ACCOUNT_RE)]] = Field(default_factory=list)


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
    generate: int = Field(default=0, ge=0, le=100_000, description="also serve this many made-up posts per hashtag (trials, benchmarks, worker tests)")
    latency_ms: int = Field(default=0, ge=0, le=10_000, description="pause per page, as a platform's answer would take")
    session: str | None = Field(default=None, pattern=USERNAME_RE, description="the account whose request budget it shares, like an Instagram session")
    download_media: bool = True
    enabled: bool = True


# A source's settings; `type` names the class in `sources/` that collects for it (`sources.base.register`).
SourceConfig = Annotated[
    Union[ArchiveConfig, InstagramConfig, InstagramGraphConfig, MastodonConfig, MemoryConfig],
    Field(discriminator="type"),
]


TrustLevel = Literal["none", "partners", "confident", "all"]
TRUST_LEVELS: tuple[str, ...] = ("none", "partners", "confident", "all")


class ModerationSettings(Strict):
    """How a campaign moderates. `auto_approve` says how much it trusts the machine:

    - `none`: every post not rejected waits for a person;
    - `partners` (default): posts by partner and own accounts are approved when no rule objects;
    - `confident`: also a clean, on-topic post by anyone, when the model is sure it is genuine;
    - `all`: whatever no rule and no model signal objects to.

    The older keys still work: `auto_approve_all = true` means `all`, `auto_approve_partners = false`
    means `none`. `vulgar` says what a vulgar word (not an insult) does: `review` or `reject`
    (`reject` still sends it to a person when the model finds the post most likely genuine).
    """

    auto_approve: TrustLevel = "partners"
    vulgar: Literal["review", "reject"] = "review"
    blocklists: list[str] = Field(default_factory=lambda: ["de", "en"])
    allow_words: list[str] = Field(default_factory=list)
    max_hashtags: int = Field(default=20, ge=1, le=60)
    author_daily_cap: int = Field(default=5, ge=1, le=1000)
    duplicate_max_distance: int = Field(default=6, ge=0, le=32)
    languages: list[str] = Field(default_factory=list, description="empty: any language")

    @model_validator(mode="before")
    @classmethod
    def _old_trust_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not ({"auto_approve_partners", "auto_approve_all"} & set(data)):
            return data
        data = dict(data)
        partners, everyone = data.pop("auto_approve_partners", True), data.pop("auto_approve_all", False)
        if not isinstance(partners, bool) or not isinstance(everyone, bool):
            raise ValueError("auto_approve_partners / auto_approve_all must be true or false")
        level = "all" if everyone else ("partners" if partners else "none")
        if data.get("auto_approve", level) != level:
            raise ValueError(f"auto_approve = {data['auto_approve']!r} contradicts the older key auto_approve_partners/"
                             f"auto_approve_all (meaning {level!r}); keep only auto_approve")
        data["auto_approve"] = level
        return data

    @property
    def auto_approve_partners(self) -> bool:
        return self.auto_approve != "none"

    @property
    def auto_approve_all(self) -> bool:
        return self.auto_approve == "all"


# Words only a job ad uses („gesucht“, „(m/w/d)“, „we're hiring“); folded like every relevance term.
JOB_AD_WORDS = (
    "gesucht", "wir suchen", "suchen wir", "sucht ab", "suchen ab", "verstärkung", "stellenangebot*", "stellenanzeige*",
    "m/w/d", "w/m/d", "m/w/x", "bewirb", "bewerbt euch", "jetzt bewerben", "offene stelle*",
    "hiring", "looking for", "apply", "join our team",
    "open position*", "vacanc*", "job opening*",
)


class Relevance(Strict):
    """What makes a post belong to a campaign: its region's names and its themes.

    `places`, `landmarks`, `institutions` and `themes` are words or phrases (case, umlauts and
    `#` do not matter; a trailing `*` also matches longer words, e.g. `siegerl*`);
    `foreign_hashtags` are other regions' campaign tags: a post carrying one and nothing of this
    campaign's region is counted as off-topic; one naming a place of `config/moderation/places.txt`
    (towns and holiday regions elsewhere) and nothing of the region waits for a person; `nearby`
    are places next to the region that count neither for nor against it. `job_ads` are the words
    of a job ad: one that names no place of the region is not approved by `confident` trust
    (every region's employers recruit with the same words, and with the campaign's tag for
    reach); `[]` turns that off.
    """

    places: list[str] = Field(default_factory=list)
    landmarks: list[str] = Field(default_factory=list)
    institutions: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    foreign_hashtags: list[str] = Field(default_factory=list)
    nearby: list[str] = Field(default_factory=list)
    job_ads: list[str] = Field(default_factory=lambda: list(JOB_AD_WORDS))

    @property
    def region(self) -> list[str]:
        return self.places + self.landmarks + self.institutions


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
    top_posts: int = Field(default=5, ge=0, le=50, description="posts listed by engagement (likes + comments)")
    gallery: int = Field(default=24, ge=0, le=1000, description="pictures of the week shown on the page (not in the mail)")
    unsubscribe: str | None = Field(default=None, pattern=r"^(mailto:[^@\s]+@[^@\s]+|https?://\S+)$",
                                    description="List-Unsubscribe target; default: a mail to the sender")


class RetentionSettings(Strict):
    """How long posts are kept (DSGVO Art. 5 storage limitation); applied by the retention job
    and `campaign-worker privacy purge`."""

    rejected_days: int = Field(default=14, ge=1, le=3650, description="rejected posts, counted from the decision")
    undecided_days: int = Field(default=30, ge=1, le=3650, description="posts nobody decided (new, pending, later), from collection")
    campaign_end: date | None = Field(default=None, description="last day of the campaign; approved posts are kept until then")
    approved_days_after_end: int = Field(default=90, ge=0, le=3650, description="approved posts, counted from campaign_end")
HEX_COLOUR_RE = r"^#[0-9a-fA-F]{6}$"
ORIGIN_RE = r"^https?://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$"
LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MIN_CONTRAST = 4.5  # WCAG 2.x AA for normal text


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two `#rrggbb` colours (1 … 21)."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


class WallSettings(Strict):
    """The public wall (`/wall/<campaign>`): which approved posts it shows, who may embed it, its look.

    `policy`: `all` – every approved post; `partners` – approved posts of partner and own accounts;
    `rights_cleared` – those plus approved posts whose reuse rights are cleared.
    """

    enabled: bool = True
    policy: Literal["all", "partners", "rights_cleared"] = "rights_cleared"
    title: str | None = Field(default=None, max_length=160, description="heading; default: the campaign name")
    intro: str | None = Field(default=None, max_length=500)
    intro_en: str | None = Field(default=None, max_length=500)
    embed_origins: list[Annotated[str, Field(pattern=ORIGIN_RE)]] = Field(
        default_factory=list, description="sites allowed to frame the wall, e.g. https://www.siegen.de")
    max_posts: int = Field(default=60, ge=1, le=500)
    background: str = Field(default="#ffffff", pattern=HEX_COLOUR_RE)
    text: str = Field(default="#1f2328", pattern=HEX_COLOUR_RE)
    accent: str = Field(default="#0b5cad", pattern=HEX_COLOUR_RE, description="links and the heading bar")
    logo: str | None = Field(default=None, description="PNG, JPEG or WebP file, relative to the home")
    public_url: str | None = Field(default=None, pattern=r"^https://[^\s]+$",
                                   description="where `wall export` is published; feeds link there")

    @field_validator("embed_origins")
    @classmethod
    def _plain_origins(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(origin.rstrip("/").lower() for origin in value))

    @field_validator("logo")
    @classmethod
    def _logo_file(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.lower().endswith(LOGO_SUFFIXES) or value.startswith("/") or ".." in value.split("/"):
            raise ValueError("a PNG, JPEG or WebP file inside the home, e.g. 'config/logo.png'")
        return value

    @model_validator(mode="after")
    def _readable(self) -> "WallSettings":
        for name in ("text", "accent"):
            ratio = contrast_ratio(getattr(self, name), self.background)
            if ratio < MIN_CONTRAST:
                raise ValueError(f"{name} {getattr(self, name)} on background {self.background} has contrast "
                                 f"{ratio:.1f}:1; WCAG AA needs {MIN_CONTRAST}:1 (choose a darker or lighter colour)")
        return self


class Campaign(Strict):
    slug: str
    name: str = Field(min_length=1, max_length=160)
    enabled: bool = True  # false: kept, but left out of jobs and commands that do not name it
    hashtags: list[str] = Field(min_length=1)
    timezone: str = "Europe/Berlin"
    language: Literal["de", "en"] = "de"
    audiences: list[Audience] = Field(min_length=1)
    partners: list[Partner] = Field(default_factory=list)
    blocked_accounts: list[Annotated[str, Field(pattern=ACCOUNT_RE)]] = Field(default_factory=list)
    own_accounts: list[Annotated[str, Field(pattern=ACCOUNT_RE)]] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)
    relevance: Relevance = Field(default_factory=Relevance)
    drafts: DraftSettings = Field(default_factory=DraftSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    wall: WallSettings = Field(default_factory=WallSettings)

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


def parse_campaign(path: Path, text: str | None = None) -> Campaign:
    """Parse and validate one campaign file; the slug is the file name."""
    slug = path.stem
    if not SLUG_RE.match(slug):
        raise ConfigError(path, [f"file name {slug!r} is not a valid campaign slug (a-z, 0-9, - and _)"])
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(path, [f"Datei nicht lesbar / cannot read file: {exc}"]) from None
    data = read_toml(path, text)
    if "slug" in data and data["slug"] != slug:
        raise ConfigError(path, [f"slug: {data['slug']!r} differs from the file name {slug!r}; remove the key or rename the file"])
    data["slug"] = slug
    return validate(Campaign, data, path, text)


def campaign_files(home: Home) -> list[Path]:
    """The home's own campaign files; only a home without any gets the shipped example campaigns.

    The shipped campaigns (Siegen, Medizin und Pflege) are examples for `demo` and a first look:
    as soon as `config/campaigns/` of the home holds a `*.toml` file, they no longer come along.
    """
    own = sorted((home.root / "config" / "campaigns").glob("*.toml"))
    return own or home.files("config", "campaigns", "*.toml")


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
