"""Commands of the web UI: `serve` and `users add|list|passwd|remove`.

Passwords are read from a hidden prompt or, for scripts, from standard input
(`--password-stdin`); never from the command line, where they would end up in shell histories
and process lists. `serve` runs only the web app: the scheduler is a process of its own.
"""

from __future__ import annotations

import ipaddress
import sys

import typer

from campaign_worker.cli.common import console, err_console, state

users_app = typer.Typer(help="Konten der Weboberfläche / web UI accounts.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Passwort / password", hide_input=True, confirmation_prompt=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_cmd(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Adresse / address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port."),
    secure_cookies: bool = typer.Option(False, "--secure-cookies", help="Cookies nur über HTTPS / cookies over HTTPS only (behind a TLS proxy)."),
) -> None:
    """Weboberfläche starten (ohne Scheduler) / run the web UI (never a scheduler)."""
    import uvicorn

    from campaign_worker.web import create_app
    from campaign_worker.web.users import list_users

    workspace = state(ctx).workspace()
    if not list_users(workspace.engine):
        err_console.print("Hinweis / note: noch kein Konto / no account yet: campaign-worker users add NAME --role admin")
    if not _is_loopback(host) and not secure_cookies:
        err_console.print("Warnung / warning: öffentliche Adresse ohne --secure-cookies; nur hinter HTTPS betreiben / "
                          "listening beyond this machine: put it behind HTTPS and pass --secure-cookies")
    application = create_app(workspace, secure_cookies=secure_cookies)
    console.print(f"http://{host}:{port}/  (Strg+C / Ctrl+C beendet / stops)")
    # One process: the login throttle lives in memory, and no scheduler may run here.
    uvicorn.run(application, host=host, port=port, workers=1, log_level="warning", proxy_headers=False, server_header=False)


PasswordStdinOpt = typer.Option(False, "--password-stdin", help="Passwort von stdin lesen / read the password from stdin.")


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Benutzername / user name (a–z, 0–9, . _ -)."),
    role: str = typer.Option("viewer", "--role", help="admin | moderator | viewer"),
    language: str = typer.Option("de", "--language", help="de | en"),
    password_stdin: bool = PasswordStdinOpt,
) -> None:
    """Konto anlegen / add an account."""
    from campaign_worker.web.users import add_user

    engine = state(ctx).workspace().engine
    password = _read_password(password_stdin)
    account = add_user(engine, username, password, role, language)
    console.print(f"Konto angelegt / account added: {account.username} ({account.role})")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Konten auflisten / list accounts."""
    from campaign_worker.web.users import list_users

    for account in list_users(state(ctx).workspace().engine):
        active = "" if account.active else "  (inaktiv / inactive)"
        console.print(f"{account.username}\t{account.role}\t{account.language}{active}", markup=False, highlight=False)


@users_app.command("passwd")
def users_passwd(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    password_stdin: bool = PasswordStdinOpt,
) -> None:
    """Passwort ändern (beendet Sitzungen) / change a password (ends its sessions)."""
    from campaign_worker.web.users import set_password

    engine = state(ctx).workspace().engine
    password = _read_password(password_stdin)
    set_password(engine, username, password)
    console.print(f"Passwort geändert / password changed: {username.strip().lower()}")


@users_app.command("remove")
def users_remove(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """Konto entfernen / remove an account."""
    from campaign_worker.web.users import remove_user

    remove_user(state(ctx).workspace().engine, username)
    console.print(f"Konto entfernt / account removed: {username.strip().lower()}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
    app.add_typer(users_app, name="users")
