"""DATABASE_URL: which backend, and where."""

from __future__ import annotations

from pathlib import Path

SQLITE_PREFIX = "sqlite:///"


def sqlite_path(url: str) -> Path:
    """`sqlite:///rel/path.db` is relative to the working directory, `sqlite:////abs.db` absolute."""
    if not url.startswith(SQLITE_PREFIX) or len(url) == len(SQLITE_PREFIX):
        raise ValueError("must look like sqlite:///data/musicbot.db")
    return Path(url[len(SQLITE_PREFIX) :])
