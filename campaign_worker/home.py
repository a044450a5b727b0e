"""Where a project's files live, and how user files override the shipped defaults.

A *home* is a folder with (any of) `config/`, `jobs/`, `templates/` and a `data/` folder for the
database and media. Lookups try the home first and fall back to the defaults shipped with the
package, so users override one template or one list without copying the rest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

HOME_ENV = "CAMPAIGN_WORKER_HOME"
DATABASE_ENV = "CAMPAIGN_WORKER_DATABASE_URL"
OVERRIDABLE = ("config", "jobs", "templates", "sample")


def defaults_root() -> Path:
    """The shipped defaults: inside the wheel, or the checkout's top level in development."""
    packaged = Path(__file__).resolve().parent / "defaults"
    if (packaged / "config").is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def output_dir(self) -> Path:
        return self.data_dir / "output"

    @property
    def database_url(self) -> str:
        url = os.environ.get(DATABASE_ENV)
        if url:
            return url
        return f"sqlite:///{self.data_dir / 'campaign-worker.sqlite3'}"

    def search_path(self, kind: str) -> list[Path]:
        """Folders to look in for `kind` (config, jobs, templates, sample), user first."""
        if kind not in OVERRIDABLE:
            raise ValueError(f"unknown folder kind {kind!r}")
        candidates = [self.root / kind, defaults_root() / kind]
        unique: list[Path] = []
        for path in candidates:
            if path.is_dir() and path.resolve() not in [p.resolve() for p in unique]:
                unique.append(path)
        return unique

    def find(self, kind: str, relative: str) -> Path | None:
        """The first existing `kind/relative` file, user folder before defaults."""
        for folder in self.search_path(kind):
            candidate = folder / relative
            if candidate.exists():
                return candidate
        return None

    def files(self, kind: str, subdir: str, pattern: str) -> list[Path]:
        """Files matching `pattern` in `kind/subdir`; a user file hides a default of the same name."""
        by_name: dict[str, Path] = {}
        for folder in reversed(self.search_path(kind)):
            target = folder / subdir if subdir else folder
            if target.is_dir():
                for path in sorted(target.glob(pattern)):
                    by_name[path.name] = path
        return [by_name[name] for name in sorted(by_name)]

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.media_dir, self.output_dir):
            path.mkdir(parents=True, exist_ok=True)


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Home:
    """--home, then $CAMPAIGN_WORKER_HOME, then the current folder if it has config/, else the user data dir."""
    if explicit:
        return Home(Path(explicit).expanduser().resolve())
    env = os.environ.get(HOME_ENV)
    if env:
        return Home(Path(env).expanduser().resolve())
    cwd = Path.cwd()
    if (cwd / "config").is_dir():
        return Home(cwd.resolve())
    return Home(Path(platformdirs.user_data_dir("campaign-worker")))
