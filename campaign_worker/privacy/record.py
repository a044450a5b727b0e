"""The record of processing activities (DSGVO Art. 30), generated from the configuration.

`write_record(ws, target)` renders `privacy/verarbeitungsverzeichnis.md.j2` (overridable in
the home's `templates/`) with what the configuration says: each campaign's hashtags, sources,
retention periods, digest recipients (as a count), and where data is stored (database kind,
never its credentials). The operator fills in what no configuration knows (controller, legal
basis, processor contracts): the template marks those places.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from campaign_worker.publish.templating import make_environment
from campaign_worker.timeutil import BERLIN, utcnow

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

SOURCE_LABELS = {
    "archive": "instaloader-Ordner (Import von Dateien)",
    "instagram": "Instagram (Hashtag-Seiten, angemeldete Sitzung)",
    "instagram_graph": "Instagram Graph API (Hashtag-Suche)",
    "mastodon": "Mastodon (öffentliche Hashtag-Timeline)",
    "memory": "im Programm übergebene Beiträge",
}


def render_record(ws: Workspace) -> str:
    env = make_environment(ws.home, "de", BERLIN)
    database = "PostgreSQL" if ws.engine.url.get_backend_name() == "postgresql" else "SQLite (Datei im Ordner data/)"
    return env.get_template("privacy/verarbeitungsverzeichnis.md.j2").render(
        campaigns=[ws.campaigns[s] for s in sorted(ws.campaigns)], source_labels=SOURCE_LABELS,
        database=database, today=utcnow().astimezone(BERLIN).date(),
    )


def write_record(ws: Workspace, target: Path | str | None = None) -> Path:
    """Write the record (default: `docs/verarbeitungsverzeichnis.md` in the home); returns the path."""
    target = Path(target) if target else ws.home.root / "docs" / "verarbeitungsverzeichnis.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".record-", suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(render_record(ws))
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    return target
