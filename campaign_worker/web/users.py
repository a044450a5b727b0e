"""Accounts of the web UI: argon2 password hashes and the three roles.

`admin` may do everything, `moderator` decides posts and edits drafts, `viewer` only reads.
Passwords are never stored or logged in clear; verifying an unknown name costs as much as a
known one, so response times do not reveal which accounts exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine

from campaign_worker.store.db import reading, transaction
from campaign_worker.store.models import user_table
from campaign_worker.web.sessions import end_user_sessions
from campaign_worker.timeutil import utcnow
from campaign_worker.errors import CampaignWorkerError

ROLES = ("admin", "moderator", "viewer")
ROLE_RANK = {"viewer": 0, "moderator": 1, "admin": 2}
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024

_hasher = PasswordHasher()
# Verified when a name is unknown, so a miss takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0000")


class AccountError(CampaignWorkerError, ValueError):
    """An account operation that cannot be done; the message says what to fix."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    language: str
    active: bool

    def may(self, role: str) -> bool:
        """True when this account has at least `role`."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def _account(row) -> Account:
    return Account(row.id, row.username, row.role, row.language, bool(row.active))


def normalise_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not USERNAME_RE.match(name):
        raise AccountError(
            f"Ungültiger Benutzername / invalid user name {username!r}: 2–64 Zeichen a–z, 0–9, . _ - / "
            "2–64 characters a–z, 0–9, . _ -"
        )
    return name


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError(f"Passwort zu kurz / password too short: mindestens / at least {MIN_PASSWORD} Zeichen / characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"Passwort zu lang / password too long: höchstens / at most {MAX_PASSWORD} Zeichen / characters")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unbekannte Rolle / unknown role {role!r}; erlaubt / allowed: {', '.join(ROLES)}")
    return role


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def add_user(engine: Engine, username: str, password: str, role: str = "viewer", language: str = "de") -> Account:
    name = normalise_username(username)
    check_role(role)
    if language not in ("de", "en"):
        raise AccountError(f"unbekannte Sprache / unknown language {language!r}; erlaubt / allowed: de, en")
    hashed = hash_password(password)
    with transaction(engine) as connection:
        if connection.execute(select(user_table.c.id).where(user_table.c.username == name)).first():
            raise AccountError(f"Benutzer / user {name!r} existiert bereits / already exists")
        connection.execute(
            user_table.insert().values(username=name, password_hash=hashed, role=role, language=language, active=True, created_at=utcnow())
        )
        row = connection.execute(select(user_table).where(user_table.c.username == name)).one()
    return _account(row)


def list_users(engine: Engine) -> list[Account]:
    with engine.connect() as connection:
        return [_account(r) for r in connection.execute(select(user_table).order_by(user_table.c.username))]


def get_user(engine: Engine, username: str) -> Account | None:
    with engine.connect() as connection:
        row = connection.execute(select(user_table).where(user_table.c.username == (username or "").strip().lower())).first()
    return _account(row) if row else None


def set_password(engine: Engine, username: str, password: str) -> None:
    name = normalise_username(username)
    hashed = hash_password(password)
    with transaction(engine) as connection:
        row = connection.execute(select(user_table.c.id).where(user_table.c.username == name)).first()
        if row is None:
            raise AccountError(f"unbekannter Benutzer / unknown user {name!r}")
        connection.execute(update(user_table).where(user_table.c.id == row.id).values(password_hash=hashed))
        end_user_sessions(connection, row.id)  # whoever knew the old password is signed out


def set_role(engine: Engine, username: str, role: str) -> None:
    name = normalise_username(username)
    check_role(role)
    with transaction(engine) as connection:
        if connection.execute(update(user_table).where(user_table.c.username == name).values(role=role)).rowcount == 0:
            raise AccountError(f"unbekannter Benutzer / unknown user {name!r}")


def remove_user(engine: Engine, username: str) -> None:
    name = normalise_username(username)
    with transaction(engine) as connection:
        row = connection.execute(select(user_table).where(user_table.c.username == name)).first()
        if row is None:
            raise AccountError(f"unbekannter Benutzer / unknown user {name!r}")
        if row.role == "admin":
            admins = connection.execute(
                select(func.count()).select_from(user_table).where(user_table.c.role == "admin", user_table.c.active.is_(True))
            ).scalar_one()
            if admins <= 1:
                raise AccountError("Der letzte Admin kann nicht entfernt werden / cannot remove the last admin")
        end_user_sessions(connection, row.id)
        connection.execute(delete(user_table).where(user_table.c.username == name))


def authenticate(engine: Engine, username: str, password: str) -> Account | None:
    """The active account for these credentials, or None (same cost either way)."""
    name = (username or "").strip().lower()[:64]
    with engine.connect() as connection:
        row = connection.execute(select(user_table).where(user_table.c.username == name)).first()
    stored = row.password_hash if row is not None and row.active else _DUMMY_HASH
    try:
        _hasher.verify(stored, (password or "")[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not row.active:
        return None
    if _hasher.check_needs_rehash(stored):
        with transaction(engine) as connection:
            connection.execute(update(user_table).where(user_table.c.id == row.id).values(password_hash=_hasher.hash(password)))
    return _account(row)


def stored_account(engine: Engine, user_id: int) -> tuple[Account, str] | None:
    """The account with this id and its password hash, or None."""
    with reading(engine) as connection:
        row = connection.execute(select(user_table).where(user_table.c.id == user_id)).first()
    return (_account(row), row.password_hash) if row is not None else None
