"""Server-side sessions of the web UI: a signed-in browser is a row in `web_session`.

The cookie carries a random token; the database keeps only its SHA-256, the account and the
expiry. A session is valid while its row exists and has not expired, so deleting rows ends
sessions at once: logout ends one, a password change or the removal of an account all of
that account's.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine

from campaign_worker.store.db import reading, transaction
from campaign_worker.store.models import web_session_table as web_session
from campaign_worker.timeutil import utcnow

TOKEN_BYTES = 32
LIFETIME = timedelta(hours=12)  # also the cookie's max age
MAX_TOKEN_CHARS = 100


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def open_session(engine: Engine, user_id: int, lifetime: timedelta = LIFETIME) -> str:
    """A new session for the account; returns the token for the cookie. Expired sessions are dropped."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    with transaction(engine) as connection:
        connection.execute(delete(web_session).where(web_session.c.expires_at < now))
        connection.execute(web_session.insert().values(token_hash=_hash(token), user_id=user_id, created_at=now,
                                                       expires_at=now + lifetime))
    return token


def session_user(engine: Engine, token: object) -> int | None:
    """The account id of a valid session token, or None (unknown, ended or expired)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    with reading(engine) as connection:
        row = connection.execute(
            select(web_session.c.user_id).where(web_session.c.token_hash == _hash(token), web_session.c.expires_at > utcnow())
        ).first()
    return row.user_id if row else None


def end_session(engine: Engine, token: object) -> None:
    """End one session (logout); unknown tokens are ignored."""
    if isinstance(token, str) and token and len(token) <= MAX_TOKEN_CHARS:
        with transaction(engine) as connection:
            connection.execute(delete(web_session).where(web_session.c.token_hash == _hash(token)))


def end_user_sessions(connection: Connection, user_id: int) -> int:
    """End every session of an account inside the caller's transaction; returns how many."""
    return connection.execute(delete(web_session).where(web_session.c.user_id == user_id)).rowcount or 0
