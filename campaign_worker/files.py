"""Atomic file writes, with a full or read-only disk named as such, and leftover temp files removed.

A file is written to a temporary `.tmp-*` file in its own folder and renamed over the target,
so readers see the old or the new file, never a half-written one. When the disk is full or
mounted read-only, the temporary file is removed and `DiskError` says which folder and what to
do (the CLI prints it and exits with code 2). Temporary files a killed process left behind
are removed by `remove_leftovers` when a command that writes there starts.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
import time
from pathlib import Path

from campaign_worker.errors import CampaignWorkerError

log = logging.getLogger(__name__)

TEMP_PREFIX = ".tmp-"
LEFTOVER_AGE_SECONDS = 600  # younger temp files may belong to a write in progress elsewhere

_REASONS = {
    errno.ENOSPC: ("Kein Platz mehr auf dem Datenträger", "no space left on the disk", "Platz schaffen"),
    errno.EDQUOT: ("Speicherkontingent erschöpft", "disk quota exceeded", "Kontingent erhöhen oder Platz schaffen"),
    errno.EROFS: ("Datenträger ist schreibgeschützt eingehängt", "the file system is mounted read-only", "beschreibbar einhängen"),
}


class DiskError(CampaignWorkerError):
    """A file could not be written because the disk is full or read-only; nothing was half-written."""

    def __init__(self, path: Path, exc: OSError):
        de, en, fix = _REASONS[exc.errno]
        self.path = path
        self.errno = exc.errno
        super().__init__(
            f"{de}: {path} wurde nicht geschrieben ({fix}, dann erneut ausführen). / "
            f"{en}: {path} was not written (fix that, then run again)."
        )


def is_disk_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _REASONS


def write_atomic(target: Path, content: bytes | str, *, mode: int | None = None) -> None:
    """Write `content` to `target` all at once or not at all; raises `DiskError` on a full or read-only disk."""
    target = Path(target)
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX, suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if is_disk_error(exc):
            raise DiskError(target, exc) from exc
        raise


def remove_leftovers(root: Path, *, older_than: float = LEFTOVER_AGE_SECONDS) -> int:
    """Remove `.tmp-*` files under `root` older than `older_than` seconds; returns how many."""
    root = Path(root)
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than
    removed = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if not name.startswith(TEMP_PREFIX):
                continue
            path = Path(folder) / name
            try:
                if path.lstat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
    if removed:
        log.info("%d verwaiste temporäre Dateien entfernt / leftover temp files removed under %s", removed, root)
    return removed
