"""The suppression list: people who asked to be erased, so collection skips them from then on.

Only a keyed hash is stored (HMAC-SHA256 over "platform:handle" and "*:handle", handle
lower-cased), never the handle. The key lives in `data/privacy.key`, apart from the database
(whoever has a copy of the database alone cannot test handles against it); keep it in the
backup together with the database, or suppressed people are no longer recognised.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from campaign_worker.errors import CampaignWorkerError
from campaign_worker.home import Home
from campaign_worker.post import ParsedPost
from campaign_worker.store.db import insert_ignore, reading
from campaign_worker.store.models import suppressed_author_table as suppressed
from campaign_worker.timeutil import utcnow

KEY_FILE = "privacy.key"


class SuppressionKeyError(CampaignWorkerError):
    """The key of the suppression list is damaged; the message says how to recover."""
ANY_PLATFORM = "*"


def privacy_key(home: Home) -> bytes:
    """The home's secret key for subject hashes; made (mode 600) on first use."""
    path = Path(home.data_dir) / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read_key(path)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return bytes.fromhex(key)


def _read_key(path: Path) -> bytes:
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (ValueError, UnicodeDecodeError):
        key = b""
    if len(key) < 16:
        raise SuppressionKeyError(
            f"{path}: kein gültiger Schlüssel (64 Hex-Zeichen); aus der Sicherung zurückholen, sonst erkennt die "
            f"Sperrliste niemanden / not a valid key (64 hex characters): restore it from the backup")
    return key


def normal_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


def subject_key(key: bytes, handle: str, platform: str | None = None) -> str:
    """The keyed hash of a person on one platform, or on every platform when `platform` is None."""
    message = f"{(platform or ANY_PLATFORM).lower()}:{normal_handle(handle)}".encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def suppress(connection: Connection, key: bytes, handle: str, platform: str | None = None) -> str:
    """Put a person on the list (idempotent); returns their subject hash."""
    subject = subject_key(key, handle, platform)
    insert_ignore(connection, suppressed, [{"subject": subject, "created_at": utcnow()}], ("subject",))
    return subject


def suppressed_subjects(connection: Connection, subjects: Iterable[str]) -> set[str]:
    wanted = list(set(subjects))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(connection.execute(select(suppressed.c.subject).where(suppressed.c.subject.in_(wanted[start:start + 500]))).scalars())
    return found


def without_suppressed(engine: Engine, home: Home, posts: Sequence[ParsedPost]) -> list[ParsedPost]:
    """`posts` less those whose author is on the suppression list (for their platform or all)."""
    people = {(p.platform, normal_handle(p.author_username)) for p in posts if p.author_username}
    if not people:
        return list(posts)
    with reading(engine) as connection:
        # An empty list needs no key: a home nobody erased from never creates one (and a
        # read-only home can still import nothing new without failing here).
        if connection.execute(select(suppressed.c.subject).limit(1)).first() is None:
            return list(posts)
        key = privacy_key(home)
        subjects = {person: (subject_key(key, person[1], person[0]), subject_key(key, person[1])) for person in people}
        hit = suppressed_subjects(connection, [s for pair in subjects.values() for s in pair])
    if not hit:
        return list(posts)
    blocked = {person for person, pair in subjects.items() if pair[0] in hit or pair[1] in hit}
    return [p for p in posts if not (p.author_username and (p.platform, normal_handle(p.author_username)) in blocked)]
