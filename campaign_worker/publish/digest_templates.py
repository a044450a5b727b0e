"""Rendering the digest's templates (`templates/digest/`, overridable in the home): their words
in German and English, and the filters they format figures with (German numbers, percentages
and signed changes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from babel.numbers import format_decimal, format_percent

from campaign_worker.moderation.queue import STATE_LABELS
from campaign_worker.publish.digest_figures import LOCALES, WeekDigest
from campaign_worker.publish.templating import make_environment

if TYPE_CHECKING:
    from campaign_worker.home import Home

TEXTS = {
    "de": {
        "digest": "Wochenüberblick", "figures": "Die Woche in Zahlen", "previous": "Vorwoche", "trend": "Trend (4 Wochen)",
        "collected": "Gesammelt", "approved": "Freigegeben", "rejected": "Abgelehnt", "approval_rate": "Freigabequote",
        "new_contributors": "Neue Beitragende", "partner_share": "Anteil Partner", "likes": "Likes", "comments": "Kommentare",
        "open": "Offen", "chart": "Beiträge pro Tag nach Status und die letzten vier Wochen",
        "empty": "In dieser Woche kam kein Beitrag herein.",
        "community_share": "Community", "top_posts": "Meistbeachtete Beiträge", "engagement": "Likes + Kommentare",
        "highlights": "Empfehlungen zum Teilen", "no_highlights": "Diese Woche gibt es keinen Beitrag, den wir zum Teilen empfehlen.",
        "waiting": "wartet auf Entscheidung", "partner": "Partner", "community": "Community",
        "on_platform": "Original", "in_app": "in der Web-App", "decide": "entscheiden",
        "gallery": "Bilder der Woche", "audiences": "Zielgruppen", "no_audience": "Noch keinem Beitrag ist eine Zielgruppe zugeordnet.",
        "hashtags": "Hashtags neben dem Kampagnen-Hashtag", "no_hashtags": "Keine weiteren Hashtags.",
        "contributors": "Wer am meisten beitrug", "posts": "Beiträge", "one_post": "Beitrag", "partners": "Partner",
        "partners_active": "Aktiv", "partners_silent": "Diese Woche still", "no_partners": "Für diese Kampagne sind keine Partner eingetragen.",
        "drafts": "Entwürfe, bereit für nächste Woche", "no_drafts": "Kein Entwurf ist freigegeben.",
        "drafts_in_work": "Entwürfe in Arbeit zu Beiträgen dieser Woche", "all_drafts": "Alle freigegebenen Entwürfe",
        "pending": "Wartet auf Entscheidung", "no_pending": "Nichts offen – alle Beiträge dieser Woche sind entschieden.",
        "to_queue": "Zur Moderationsliste", "more_pending": "weitere in der Moderationsliste",
        "rejected_by_rule": "Automatisch abgelehnt", "health": "Sammeln", "no_health": "Für diese Kampagne ist noch keine Quelle gelaufen.",
        "last_success": "zuletzt erfolgreich", "never": "noch nie", "new_posts": "neue Beiträge im letzten Lauf",
        "source": "Quelle", "status": "Status", "reason": "Grund", "author": "Von", "post": "Beitrag", "unknown": "unbekannt",
        "index": "Alle Wochenüberblicke", "none_yet": "Noch keine Wochenüberblicke.", "at": "Uhr", "week_page": "Seite der Woche",
        "unsubscribe": "Abbestellen: Antworten Sie mit „abbestellen“ oder wenden Sie sich an die Kampagnenleitung.",
        "change": "Veränderung",
    },
    "en": {
        "digest": "Weekly digest", "figures": "The week in figures", "previous": "Previous week", "trend": "Trend (4 weeks)",
        "collected": "Collected", "approved": "Approved", "rejected": "Rejected", "approval_rate": "Approval rate",
        "new_contributors": "New contributors", "partner_share": "Partner share", "likes": "Likes", "comments": "Comments",
        "open": "Open", "chart": "Posts per day by state and the last four weeks",
        "empty": "No post came in this week.",
        "community_share": "Community", "top_posts": "Most engaging posts", "engagement": "likes + comments",
        "highlights": "Recommended for sharing", "no_highlights": "This week there is no post we recommend for sharing.",
        "waiting": "awaiting a decision", "partner": "Partner", "community": "Community",
        "on_platform": "original", "in_app": "in the web app", "decide": "decide",
        "gallery": "Pictures of the week", "audiences": "Audiences", "no_audience": "No post has an audience yet.",
        "hashtags": "Hashtags used with the campaign tag", "no_hashtags": "No other hashtags.",
        "contributors": "Top contributors", "posts": "posts", "one_post": "post", "partners": "Partners",
        "partners_active": "Active", "partners_silent": "Silent this week", "no_partners": "This campaign lists no partners.",
        "drafts": "Drafts ready for next week", "no_drafts": "No draft is approved.",
        "drafts_in_work": "Drafts in progress for this week's posts", "all_drafts": "All approved drafts",
        "pending": "Awaiting a decision", "no_pending": "Nothing open – every post of this week is decided.",
        "to_queue": "Open the moderation queue", "more_pending": "more in the moderation queue",
        "rejected_by_rule": "Rejected automatically", "health": "Collection", "no_health": "No source of this campaign has run yet.",
        "last_success": "last success", "never": "never", "new_posts": "new posts in the last run",
        "source": "Source", "status": "Status", "reason": "Reason", "author": "By", "post": "Post", "unknown": "unknown",
        "index": "All weekly digests", "none_yet": "No weekly digests yet.", "at": "", "week_page": "Week page",
        "unsubscribe": "To unsubscribe, reply with “unsubscribe” or contact the campaign team.",
        "change": "Change",
    },
}


def texts(language: str) -> dict[str, str]:
    return TEXTS["en" if language == "en" else "de"]


def install_filters(env, language: str) -> None:
    """`percent`, `signed` (a change: '+3', '−2', '±0', with 'Pp.' for rates) and `figure` (a value of any figure)."""
    locale = LOCALES.get(language, "de_DE")
    points = " Pp." if language != "en" else " pp"

    def percent(value) -> str:
        return "–" if value is None else format_percent(value, locale=locale)

    def signed(value, rate: bool = False) -> str:
        if value is None:
            return "–"
        text = "±0" if value == 0 else ("+" if value > 0 else "−") + format_decimal(abs(value), locale=locale)
        return text + (points if rate else "")

    def figure(value, rate: bool = False) -> str:
        if value is None:
            return "–"
        return percent(value) if rate else format_decimal(value, locale=locale)

    env.filters.update(percent=percent, signed=signed, figure=figure)


_ENVIRONMENTS: dict[tuple, object] = {}


def environment(home: Home, campaign):
    """The digest's Jinja environment for a home and a campaign's language and zone, built once
    (Jinja checks the template files' times, so an edited override is picked up)."""
    key = (tuple(home.search_path("templates")), campaign.language, campaign.timezone)
    env = _ENVIRONMENTS.get(key)
    if env is None:
        env = make_environment(home, campaign.language, campaign.tz)
        install_filters(env, campaign.language)
        _ENVIRONMENTS[key] = env
    return env


def render_template(home: Home, digest: WeekDigest, template: str, image_src: Callable[[str], str | None],
                    chart_src: str | None, **extra) -> str:
    """One digest template; `image_src(sha)` gives a thumbnail's address, `chart_src` the chart's."""
    campaign = digest.campaign
    labels = STATE_LABELS.get(campaign.language, STATE_LABELS["de"])
    return environment(home, campaign).get_template(template).render(
        d=digest, c=campaign, w=digest.week, t=texts(campaign.language), labels=labels,
        image_src=image_src, chart_src=chart_src, **extra)
