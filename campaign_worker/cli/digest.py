"""CLI commands `digest render|send`: the weekly overview as a page and as mail."""

from __future__ import annotations

from datetime import date
from typing import List, Optional

import typer

from campaign_worker.cli.common import CampaignOpt, UserError, console, state

digest_app = typer.Typer(help="Wochenüberblick / weekly digest.", no_args_is_help=True)

WeekOpt = typer.Option(None, "--week", help="Ein Tag der Woche, JJJJ-MM-TT; ohne: letzte volle Woche.")


def _week_error(week: str) -> UserError:
    return UserError(f"--week: Datum als JJJJ-MM-TT erwartet, nicht {week!r}")


@digest_app.command("render")
def digest_render(
    ctx: typer.Context,
    campaign: Optional[List[str]] = CampaignOpt,
    week: Optional[str] = WeekOpt,
    all_weeks: bool = typer.Option(False, "--all-weeks", help="Jede Woche, in der es Beiträge gibt."),
) -> None:
    """Wochenüberblick als Seite und E-Mail-Text erzeugen / render the weekly digest."""
    from campaign_worker.publish.digest import last_complete_week, render_week, weeks_with_posts
    from campaign_worker.timeutil import utcnow

    ws = state(ctx).workspace()
    for c in ws.selected(campaign):
        if all_weeks:
            weeks = weeks_with_posts(ws, c)
        elif week:
            try:
                weeks = [date.fromisoformat(week)]
            except ValueError:
                raise _week_error(week) from None
        else:
            weeks = [last_complete_week(c, utcnow())]
        for monday in weeks:
            rendered = render_week(ws, c, monday)
            console.print(f"{c.slug} {rendered.title}: {rendered.counts['collected']} Beiträge → {rendered.html_path}", markup=False)


@digest_app.command("send")
def digest_send(
    ctx: typer.Context,
    campaign: str = typer.Option(..., "--campaign", "-c"),
    week: Optional[str] = WeekOpt,
) -> None:
    """Wochenüberblick per E-Mail an die Empfänger der Kampagne senden / mail the digest (SMTP from worker.toml)."""
    from campaign_worker.publish.digest import last_complete_week, render_week, send_week
    from campaign_worker.timeutil import utcnow

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    if not c.digest.recipients:
        raise UserError(f"Kampagne {c.slug}: keine Empfänger in [digest] recipients / no recipients configured")
    try:
        monday = date.fromisoformat(week) if week else last_complete_week(c, utcnow())
    except ValueError:
        raise _week_error(week) from None
    rendered = render_week(ws, c, monday)
    sent = send_week(ws, c, monday)
    already = len(set(c.digest.recipients)) - sent
    note = f" ({already} hatten ihn schon / already had it)" if already else ""
    console.print(f"{c.slug}: Wochenüberblick {rendered.title} an {sent} Empfänger gesendet / sent to {sent}{note}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(digest_app, name="digest")
