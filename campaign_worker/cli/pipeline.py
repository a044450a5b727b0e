"""CLI commands for the pipeline: import, moderate, queue, drafts, digest, stats and the demo."""

from __future__ import annotations

import csv
import getpass
import io
import json
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import select

from campaign_worker.cli.common import UserError, console, err_console, state
from campaign_worker.store.db import reading, transaction
from campaign_worker.store.models import CampaignPost, Draft, Post
from campaign_worker.post import MAX_CAPTION_CHARS

queue_app = typer.Typer(help="Moderationsliste / moderation queue.", no_args_is_help=True)
drafts_app = typer.Typer(help="Entwürfe / drafts.", no_args_is_help=True)
digest_app = typer.Typer(help="Wochenüberblick / weekly digest.", no_args_is_help=True)

CampaignOpt = typer.Option(None, "--campaign", "-c", help="Kampagne (mehrfach möglich; ohne: alle) / campaign slug.")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console, transient=True,
                    disable=not err_console.is_terminal)


def _tracker(progress: Progress, description: str):
    task = progress.add_task(description, total=None)
    return lambda done, total: progress.update(task, completed=done, total=total)


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def resolve_post_id(ws, campaign: str, ref: str) -> int:
    """A post given as its number, `platform:id` or a bare shortcode."""
    if ref.isdigit():
        return int(ref)
    platform, _, external = ref.rpartition(":")
    query = select(Post.id).where(Post.external_id == external)
    if platform:
        query = query.where(Post.platform == platform)
    with reading(ws.engine) as connection:
        ids = connection.execute(query).scalars().all()
    if len(ids) != 1:
        raise UserError(f"Beitrag {ref!r} nicht gefunden (Nummer, Shortcode oder plattform:id) / post not found")
    return ids[0]


# --- import and moderation -------------------------------------------------------------

def import_archive_cmd(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Ordner, den instaloader geschrieben hat / folder written by instaloader."),
    campaign: str = typer.Option(..., "--campaign", "-c", help="Kampagne / campaign slug."),
    source_id: str = typer.Option("archive", "--source-id", help="Name der Quelle in der Datenbank / source name."),
) -> None:
    """Einen instaloader-Download-Ordner importieren (idempotent) / import an instaloader folder."""
    from campaign_worker.sources.storing import import_archive

    ws = state(ctx).workspace()
    ws.campaign(campaign)
    if not path.is_dir():
        raise UserError(f"Ordner nicht gefunden / folder not found: {path}")
    with _progress() as progress:
        summary = import_archive(ws, campaign, path, source_id=source_id, on_progress=_tracker(progress, "Bilder"))
    _print_import(campaign, summary)


def _print_import(campaign: str, summary) -> None:
    console.print(
        f"{campaign}: {summary.posts_new} neue Beiträge, {summary.posts_seen} schon bekannt, "
        f"{summary.media_ok} Bilder gespeichert, {summary.media_rejected} abgelehnt, {summary.media_failed} fehlgeschlagen"
    )
    for problem in summary.problems[:20]:
        err_console.print(f"  ! {problem}", markup=False)
    if len(summary.problems) > 20:
        err_console.print(f"  … und {len(summary.problems) - 20} weitere Probleme")


def moderate_cmd(
    ctx: typer.Context,
    campaign: Optional[List[str]] = CampaignOpt,
    recheck: bool = typer.Option(False, "--recheck", help="Auch von Regeln entschiedene Beiträge neu prüfen (nie menschliche Entscheidungen)."),
    explain: Optional[str] = typer.Option(None, "--explain", help="Urteil jeder Regel für einen Beitrag zeigen / explain one post."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Nur prüfen, nichts speichern / store nothing."),
    input_file: Optional[Path] = typer.Option(None, "--input", help="JSON Lines mit id, caption, author[, hashtags, image] (für --dry-run)."),
    language: str = typer.Option("de", "--lang", help="de oder en."),
) -> None:
    """Automatische Regeln anwenden / run the moderation rules."""
    ws = state(ctx).workspace()
    if dry_run or input_file:
        if not (dry_run and input_file and campaign and len(campaign) == 1):
            raise UserError("--dry-run braucht --input DATEI und genau eine --campaign / needs --input FILE and one --campaign")
        _dry_run(ws, campaign[0], input_file)
        return
    if explain:
        if not campaign or len(campaign) != 1:
            raise UserError("--explain braucht genau eine --campaign / needs exactly one --campaign")
        from campaign_worker.moderation.job import evaluate_post
        from campaign_worker.moderation.explain import format_outcome

        c = ws.campaign(campaign[0])
        post_id = resolve_post_id(ws, c.slug, explain)
        try:
            _, outcome = evaluate_post(ws, c, post_id)
        except LookupError as exc:
            raise UserError(str(exc)) from None
        console.print(format_outcome(outcome, language), markup=False, highlight=False)
        return
    from campaign_worker.moderation.job import moderate

    result = moderate(ws, campaign, recheck=recheck)
    for slug, counts in result["campaigns"].items():
        console.print(f"{slug}: {counts['evaluated']} geprüft – {counts['approved']} freigegeben, {counts['rejected']} abgelehnt, "
                      f"{counts['pending']} zur Prüfung")


def _dry_run(ws, slug: str, input_file: Path) -> None:
    from campaign_worker.moderation.engine import Moderator
    from campaign_worker.moderation.explain import outcome_json
    from campaign_worker.moderation.verdict import Candidate
    from campaign_worker.post import clean_text, extract_hashtags
    from campaign_worker.timeutil import as_utc

    c = ws.campaign(slug)
    moderator = Moderator(c, ws.home)
    try:
        lines = input_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{input_file}: nicht lesbar / cannot read: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or "id" not in item:
                raise ValueError("ein JSON-Objekt mit 'id' erwartet / expected an object with 'id'")
            caption = clean_text(item.get("caption"), MAX_CAPTION_CHARS)
            posted = item.get("posted_at")
            candidate = Candidate(
                key=str(item["id"]), caption=caption, author=(item.get("author") or None),
                hashtags=tuple(item.get("hashtags") or extract_hashtags(caption)),
                posted_at=as_utc(datetime.fromisoformat(posted)) if posted else as_utc(datetime.now()),
                image_hashes=tuple(filter(None, [item.get("image")])),
            )
        except (ValueError, TypeError) as exc:
            raise UserError(f"{input_file}, Zeile {number}: {exc}") from None
        sys.stdout.write(json.dumps(outcome_json(candidate.key, moderator.evaluate(candidate)), ensure_ascii=False) + "\n")


# --- queue -------------------------------------------------------------------------------

def _parse_day(value: Optional[str], option: str) -> Optional[datetime]:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0)).astimezone()
    except ValueError:
        raise UserError(f"{option}: Datum als JJJJ-MM-TT erwartet / expected YYYY-MM-DD, got {value!r}") from None


@queue_app.command("list")
def queue_list(
    ctx: typer.Context,
    campaign: str = typer.Option(..., "--campaign", "-c"),
    state_: str = typer.Option("pending", "--state", help="new|pending|approved|rejected|later|all"),
    hashtag: Optional[str] = typer.Option(None, "--hashtag"),
    author: Optional[str] = typer.Option(None, "--author"),
    rule: Optional[str] = typer.Option(None, "--rule"),
    source: Optional[str] = typer.Option(None, "--source"),
    audience: Optional[str] = typer.Option(None, "--audience"),
    since: Optional[str] = typer.Option(None, "--since", help="JJJJ-MM-TT"),
    until: Optional[str] = typer.Option(None, "--until", help="JJJJ-MM-TT (exklusiv)"),
    search: Optional[str] = typer.Option(None, "--search", help="Text in der Bildunterschrift."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Beiträge der Moderationsliste zeigen / list queue entries."""
    from campaign_worker.moderation.queue import STATES, QueueFilter, list_entries

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    if state_ != "all" and state_ not in STATES:
        raise UserError(f"--state: einer von {', '.join(STATES)} oder all")
    flt = QueueFilter(campaign=c.slug, state=None if state_ == "all" else state_, hashtag=hashtag, author=author, rule=rule,
                      source=source, audience=audience, since=_parse_day(since, "--since"), until=_parse_day(until, "--until"), text=search)
    with reading(ws.engine) as connection:
        rows = list_entries(connection, flt, limit=limit)
    if as_json:
        _print_json([{k: rows_value(v) for k, v in r.items()} for r in rows])
        return
    table = Table("Nr.", "Zeit", "Von", "Zustand", "Regel", "Text", show_lines=False)
    for r in rows:
        table.add_row(str(r["post_id"]), r["posted_at"].astimezone(c.tz).strftime("%d.%m.%Y %H:%M"), "@" + (r["author_username"] or "–"),
                      r["state"], r["rule"] or "", (r["caption"] or "").replace("\n", " ")[:70])
    console.print(table)


def rows_value(value):
    return value.isoformat() if isinstance(value, datetime) else value


@queue_app.command("show")
def queue_show(ctx: typer.Context, post: str = typer.Argument(...), campaign: str = typer.Option(..., "--campaign", "-c"),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """Einen Beitrag mit Verlauf zeigen / show a post and its audit trail."""
    from campaign_worker.moderation.queue import history

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    post_id = resolve_post_id(ws, c.slug, post)
    with reading(ws.engine) as connection:
        cp_row = connection.execute(select(CampaignPost.__table__).where(
            CampaignPost.campaign == c.slug, CampaignPost.post_id == post_id)).first()
        if cp_row is None:
            raise UserError(f"Beitrag {post} ist nicht in der Kampagne {c.slug}")
        post_row = connection.execute(select(Post.__table__).where(Post.id == post_id)).one()
        events = history(connection, c.slug, post_id)
    if as_json:
        _print_json({"post_id": post_id, "state": cp_row.state, "author": post_row.author_username, "caption": post_row.caption,
                     "rule": cp_row.rule, "reason_de": cp_row.reason_de, "reason_en": cp_row.reason_en, "evidence": cp_row.evidence,
                     "audiences": cp_row.audiences, "events": [{k: rows_value(v) for k, v in e.items()} for e in events]})
        return
    console.print(f"Beitrag {post_id} · @{post_row.author_username or '–'} · {post_row.posted_at.astimezone(c.tz):%d.%m.%Y %H:%M} · {cp_row.state}", markup=False)
    console.print(post_row.caption, markup=False, highlight=False)
    if cp_row.reason_de:
        console.print(f"Grund: {cp_row.reason_de} {cp_row.evidence or ''}", markup=False)
    for e in events:
        console.print(f"  #{e['id']} {e['at'].astimezone(c.tz):%d.%m.%Y %H:%M} {e['actor']}: {e['from_state']} → {e['to_state']}"
                      f"{' – ' + e['reason_de'] if e['reason_de'] else ''}", markup=False)


def _decide(ctx: typer.Context, posts: List[str], campaign: str, to_state: str, reason: Optional[str], user: Optional[str]) -> None:
    from campaign_worker.moderation.queue import QueueError, decide

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    ids = [resolve_post_id(ws, c.slug, p) for p in posts]
    try:
        with transaction(ws.engine) as connection:
            changes = decide(connection, c.slug, ids, to_state, user or getpass.getuser(), reason)
    except QueueError as exc:
        raise UserError(str(exc)) from None
    console.print(f"{len(changes)} Beiträge → {to_state}" + (f" ({len(ids) - len(changes)} unverändert)" if len(ids) > len(changes) else ""))


UserOpt = typer.Option(None, "--user", help="Wer entscheidet (für das Protokoll); Standard: Login-Name.")


@queue_app.command("approve")
def queue_approve(ctx: typer.Context, posts: List[str] = typer.Argument(...), campaign: str = typer.Option(..., "--campaign", "-c"),
                  reason: Optional[str] = typer.Option(None, "--reason"), user: Optional[str] = UserOpt) -> None:
    """Freigeben / approve."""
    _decide(ctx, posts, campaign, "approved", reason, user)


@queue_app.command("reject")
def queue_reject(ctx: typer.Context, posts: List[str] = typer.Argument(...), campaign: str = typer.Option(..., "--campaign", "-c"),
                 reason: Optional[str] = typer.Option(None, "--reason"), user: Optional[str] = UserOpt) -> None:
    """Ablehnen / reject."""
    _decide(ctx, posts, campaign, "rejected", reason, user)


@queue_app.command("later")
def queue_later(ctx: typer.Context, posts: List[str] = typer.Argument(...), campaign: str = typer.Option(..., "--campaign", "-c"),
                reason: Optional[str] = typer.Option(None, "--reason"), user: Optional[str] = UserOpt) -> None:
    """Für später merken / save for later."""
    _decide(ctx, posts, campaign, "later", reason, user)


@queue_app.command("undo")
def queue_undo(ctx: typer.Context, post: str = typer.Argument(...), campaign: str = typer.Option(..., "--campaign", "-c"),
               user: Optional[str] = UserOpt) -> None:
    """Letzte Änderung rückgängig machen / undo the last change."""
    from campaign_worker.moderation.queue import QueueError, undo

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    post_id = resolve_post_id(ws, c.slug, post)
    try:
        with transaction(ws.engine) as connection:
            change = undo(connection, c.slug, post_id, user or getpass.getuser())
    except QueueError as exc:
        raise UserError(str(exc)) from None
    console.print(f"Beitrag {post_id}: {change.from_state} → {change.to_state}")


# --- drafts and digest -------------------------------------------------------------------

@drafts_app.command("compose")
def drafts_compose(ctx: typer.Context, campaign: Optional[List[str]] = CampaignOpt,
                   refresh: bool = typer.Option(False, "--refresh", help="Unbearbeitete Entwürfe neu erzeugen (nach Vorlagenänderung).")) -> None:
    """Entwürfe aus freigegebenen Beiträgen erzeugen / compose drafts."""
    from campaign_worker.publish.drafts import compose

    result = compose(state(ctx).workspace(), campaign, refresh=refresh)
    for slug, counts in result["campaigns"].items():
        console.print(f"{slug}: {counts['created']} neue Entwürfe, {counts['refreshed']} aktualisiert, {counts['kept']} unverändert "
                      f"({counts['posts']} freigegebene Beiträge)")


@drafts_app.command("list")
def drafts_list(
    ctx: typer.Context,
    campaign: str = typer.Option(..., "--campaign", "-c"),
    audience: Optional[str] = typer.Option(None, "--audience"),
    channel: Optional[str] = typer.Option(None, "--channel"),
    status: Optional[str] = typer.Option(None, "--status", help="draft|approved|discarded"),
    output: str = typer.Option("table", "--format", help="table|json|csv"),
    limit: int = typer.Option(100, "--limit", min=1, max=100_000),
) -> None:
    """Entwürfe zeigen oder exportieren / list or export drafts."""
    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    if output not in ("table", "json", "csv"):
        raise UserError("--format: table, json oder csv")
    query = select(Draft).where(Draft.campaign == c.slug).order_by(Draft.post_id, Draft.audience, Draft.channel).limit(limit)
    if audience:
        query = query.where(Draft.audience == audience)
    if channel:
        query = query.where(Draft.channel == channel)
    if status:
        query = query.where(Draft.status == status)
    from sqlmodel import Session

    with Session(ws.engine) as session:
        drafts = session.exec(query).all()
    fields = ("id", "post_id", "audience", "channel", "status", "text", "hashtags", "problems")
    rows = [{f: getattr(d, f) for f in fields} for d in drafts]
    if output == "json":
        _print_json(rows)
    elif output == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "hashtags": " ".join(row["hashtags"]), "problems": " | ".join(row["problems"])})
        sys.stdout.write(buffer.getvalue())
    else:
        table = Table("Nr.", "Beitrag", "Zielgruppe", "Kanal", "Status", "Anfang", "Hinweise")
        for r in rows:
            table.add_row(str(r["id"]), str(r["post_id"]), r["audience"], r["channel"], r["status"], r["text"].split("\n")[0][:50],
                          str(len(r["problems"])))
        console.print(table)


@digest_app.command("render")
def digest_render(
    ctx: typer.Context,
    campaign: Optional[List[str]] = CampaignOpt,
    week: Optional[str] = typer.Option(None, "--week", help="Ein Tag der Woche, JJJJ-MM-TT; ohne: letzte volle Woche."),
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
                raise UserError(f"--week: Datum als JJJJ-MM-TT erwartet, nicht {week!r}") from None
        else:
            weeks = [last_complete_week(c, utcnow())]
        for monday in weeks:
            rendered = render_week(ws, c, monday)
            console.print(f"{c.slug} {rendered.week_start:%d.%m.%Y}: {rendered.counts['collected']} Beiträge → {rendered.html_path}", markup=False)


@digest_app.command("send")
def digest_send(
    ctx: typer.Context,
    campaign: str = typer.Option(..., "--campaign", "-c"),
    week: Optional[str] = typer.Option(None, "--week", help="Ein Tag der Woche, JJJJ-MM-TT; ohne: letzte volle Woche."),
) -> None:
    """Wochenüberblick per E-Mail an die Empfänger der Kampagne senden / mail the digest (SMTP from worker.toml)."""
    from campaign_worker.publish.digest import last_complete_week, render_week, send_week
    from campaign_worker.publish.mailer import MailError
    from campaign_worker.timeutil import utcnow

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    if not c.digest.recipients:
        raise UserError(f"Kampagne {c.slug}: keine Empfänger in [digest] recipients / no recipients configured")
    try:
        monday = date.fromisoformat(week) if week else last_complete_week(c, utcnow())
    except ValueError:
        raise UserError(f"--week: Datum als JJJJ-MM-TT erwartet, nicht {week!r}") from None
    render_week(ws, c, monday)
    try:
        sent = send_week(ws, c, monday)
    except MailError as exc:
        raise UserError(str(exc)) from None
    console.print(f"{c.slug}: Wochenüberblick ab {monday:%d.%m.%Y} an {sent} Empfänger gesendet")


def stats_cmd(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Zahlen je Kampagne und Zustand / counts per campaign and state."""
    from campaign_worker.stats import collect_stats

    data = collect_stats(state(ctx).workspace())
    if as_json:
        _print_json(data)
    else:
        _print_stats(data)


def _print_stats(data: dict) -> None:
    table = Table("Kampagne", "Beiträge", "neu", "offen", "freigegeben", "abgelehnt", "später", "Entwürfe", "Überblicke")
    for slug, c in data["campaigns"].items():
        s = c["states"]
        table.add_row(slug, str(c["posts"]), *(str(s.get(k, 0)) for k in ("new", "pending", "approved", "rejected", "later")),
                      str(sum(c["drafts"].values())), str(c["digests"]))
    console.print(table)
    console.print(f"Beiträge gesamt: {data['posts']} · Bilder: {data['media']['ok']} ok, {data['media']['rejected']} abgelehnt")


def demo_cmd(ctx: typer.Context) -> None:
    """Die ganze Pipeline mit den mitgelieferten Beispieldaten / the whole pipeline on the bundled sample."""
    from campaign_worker.pipeline import run_demo

    ws = state(ctx).workspace()
    with _progress() as progress:
        report = run_demo(ws, on_progress=_tracker(progress, "Bilder"))
    for slug, summary in report.imports.items():
        _print_import(slug, summary)
    console.print(f"Moderation: {report.moderation.get('approved', 0)} freigegeben, {report.moderation.get('rejected', 0)} abgelehnt, "
                  f"{report.moderation.get('pending', 0)} zur Prüfung")
    console.print(f"Entwürfe: {report.drafts.get('created', 0)} neu, {report.drafts.get('kept', 0)} schon vorhanden")
    console.print("Wochenüberblicke:")
    for rendered in report.digests:
        console.print(f"  {rendered.campaign} Woche ab {rendered.week_start:%d.%m.%Y}: {rendered.html_path}", markup=False)
    from campaign_worker.stats import collect_stats

    _print_stats(collect_stats(ws))
    console.print(f"Datenbank: {ws.home.database_url}", markup=False)
    home = f"--home {ws.home.root}"
    console.print(f"Weiter / next:\n  campaign-worker {home} queue list --campaign siegen\n"
                  f"  campaign-worker {home} users add maria --role moderator && campaign-worker {home} serve", markup=False)


def register(app: typer.Typer) -> None:
    app.command("import-archive")(import_archive_cmd)
    app.command("moderate")(moderate_cmd)
    app.command("stats")(stats_cmd)
    app.command("demo")(demo_cmd)
    app.add_typer(queue_app, name="queue")
    app.add_typer(drafts_app, name="drafts")
    app.add_typer(digest_app, name="digest")
