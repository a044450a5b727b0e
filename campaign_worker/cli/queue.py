"""CLI commands `queue list|show|approve|reject|later|undo`: the moderation queue by hand."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import List, Optional

import typer

from campaign_worker.cli.common import UserError, command_hint, console, err_console, print_json, state


def state_word(key: str | None) -> str:
    """A queue state as the German word the web queue shows („offen“), not its key."""
    from campaign_worker.moderation.queue import STATE_LABELS

    return STATE_LABELS["de"].get(key or "", key or "–")


queue_app = typer.Typer(help="Moderationsliste / moderation queue.", no_args_is_help=True)

UserOpt = typer.Option(None, "--user", help="Wer entscheidet (für das Protokoll); Standard: Login-Name.")


def _parse_day(value: Optional[str], option: str) -> Optional[datetime]:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0)).astimezone()
    except ValueError:
        raise UserError(f"{option}: Datum als JJJJ-MM-TT erwartet / expected YYYY-MM-DD, got {value!r}") from None


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


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
    after: Optional[int] = typer.Option(None, "--after", help="Weiter nach diesem Beitrag (Nr.) / continue after this post."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Beiträge der Moderationsliste zeigen, neueste zuerst, seitenweise / list queue entries, newest first, by page."""
    from rich.table import Table

    from campaign_worker.moderation.queue import STATES, QueueFilter, list_entries, position_of
    from campaign_worker.store.db import reading

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    if state_ != "all" and state_ not in STATES:
        raise UserError(f"--state: einer von {', '.join(STATES)} oder all")
    flt = QueueFilter(campaign=c.slug, state=None if state_ == "all" else state_, hashtag=hashtag, author=author, rule=rule,
                      source=source, audience=audience, since=_parse_day(since, "--since"), until=_parse_day(until, "--until"), text=search)
    with reading(ws.engine) as connection:
        start = None
        if after is not None:
            start = position_of(connection, c.slug, after)
            if start is None:
                raise UserError(f"--after: Beitrag {after} gehört nicht zur Kampagne {c.slug} / "
                                f"post {after} is not in campaign {c.slug}")
        rows = list_entries(connection, flt, limit=limit + 1, after=start)
    more = len(rows) > limit
    rows = rows[:limit]
    hint = None
    if more:
        next_page = command_hint(ctx, f"queue list -c {c.slug} --state {state_} --after {rows[-1]['post_id']}"
                                      + ("" if limit == 50 else f" --limit {limit}"))
        hint = (f"{limit} Einträge gezeigt, es gibt weitere. Nächste Seite / {limit} entries shown, there are more. "
                f"Next page:\n  {next_page}")
    if as_json:
        print_json([{k: _plain(v) for k, v in r.items()} for r in rows])
        if hint:
            err_console.print(hint, markup=False, highlight=False)
        return
    table = Table("Nr.", "Zeit", "Von", "Zustand", "Regel", "Text", show_lines=False)
    for r in rows:
        table.add_row(str(r["post_id"]), r["posted_at"].astimezone(c.tz).strftime("%d.%m.%Y %H:%M"), "@" + (r["author_username"] or "–"),
                      state_word(r["state"]), r["rule"] or "", (r["caption"] or "").replace("\n", " ")[:70])
    console.print(table)
    if hint:
        console.print(hint, markup=False, highlight=False)
    elif not rows:
        console.print(f"Keine Einträge / no entries ({state_}).", markup=False)


@queue_app.command("show")
def queue_show(ctx: typer.Context, post: str = typer.Argument(...), campaign: str = typer.Option(..., "--campaign", "-c"),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """Einen Beitrag mit Verlauf zeigen / show a post and its audit trail."""
    from campaign_worker.moderation.queue import entry, find_post_id, history
    from campaign_worker.store.db import reading

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    with reading(ws.engine) as connection:
        post_id = find_post_id(connection, post)
        row = entry(connection, c.slug, post_id)
        if row is None:
            raise UserError(f"Beitrag {post} ist nicht in der Kampagne {c.slug}")
        events = history(connection, c.slug, post_id)
    if as_json:
        print_json({"post_id": post_id, "state": row["state"], "author": row["author_username"], "caption": row["caption"],
                    "rule": row["rule"], "reason_de": row["reason_de"], "reason_en": row["reason_en"], "evidence": row["evidence"],
                    "audiences": row["audiences"], "events": [{k: _plain(v) for k, v in e.items()} for e in events]})
        return
    console.print(f"Beitrag {post_id} · @{row['author_username'] or '–'} · {row['posted_at'].astimezone(c.tz):%d.%m.%Y %H:%M} · {state_word(row['state'])}", markup=False)
    console.print(row["caption"], markup=False, highlight=False)
    if row["reason_de"]:
        console.print(f"Grund: {row['reason_de']} {row['evidence'] or ''}", markup=False)
    for e in events:
        console.print(f"  #{e['id']} {e['at'].astimezone(c.tz):%d.%m.%Y %H:%M} {e['actor']}: {state_word(e['from_state'])} → {state_word(e['to_state'])}"
                      f"{' – ' + e['reason_de'] if e['reason_de'] else ''}", markup=False)


def _decide(ctx: typer.Context, posts: List[str], campaign: str, to_state: str, reason: Optional[str], user: Optional[str]) -> None:
    import getpass

    from campaign_worker.moderation.queue import decide, find_post_id
    from campaign_worker.store.db import transaction

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    with transaction(ws.engine) as connection:
        ids = [find_post_id(connection, p) for p in posts]
        changes = decide(connection, c.slug, ids, to_state, user or getpass.getuser(), reason)
    console.print(f"{len(changes)} {'Beitrag' if len(changes) == 1 else 'Beiträge'} → {state_word(to_state)}" + (f" ({len(ids) - len(changes)} unverändert)" if len(ids) > len(changes) else ""))


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
    import getpass

    from campaign_worker.moderation.queue import find_post_id, undo
    from campaign_worker.store.db import transaction

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    with transaction(ws.engine) as connection:
        post_id = find_post_id(connection, post)
        change = undo(connection, c.slug, post_id, user or getpass.getuser())
    console.print(f"Beitrag {post_id}: {state_word(change.from_state)} → {state_word(change.to_state)}")


def register(app: typer.Typer) -> None:
    app.add_typer(queue_app, name="queue")
