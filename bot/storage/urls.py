"""DATABASE_URL: which backend, and where."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def check(url: str) -> None:
    """Raise ValueError when DATABASE_URL names no backend the bot has."""
    if is_postgres(url):
        credentials = url.split("://", 1)[1].rpartition("@")[0]
        if any(mark in credentials for mark in "/?#"):
            raise ValueError(
                "must not have / ? or # in its user name or password: percent-encode them (%2F %3F %23), "
                "or choose a password of letters and digits"
            )
        parts = urlsplit(url)
        if not parts.hostname or not parts.path.strip("/"):
            raise ValueError("must name a host and a database, like postgresql://bot:secret@db:5432/musicbot")
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
        except ValueError:
            raise ValueError("must have a port number after the host, like db:5432") from None
        return
    sqlite_path(url)


def sqlite_path(url: str) -> Path:
    """`sqlite:///rel/path.db` is relative to the working directory, `sqlite:////abs.db` absolute."""
    if not url.startswith(SQLITE_PREFIX) or len(url) == len(SQLITE_PREFIX):
        raise ValueError(
            "must look like sqlite:///data/musicbot.db or postgresql://user:password@host/database"
        )
    return Path(url[len(SQLITE_PREFIX) :])


def describe(url: str) -> str:
    """DATABASE_URL as the log may show it: the backend and where its data is, never a user or password."""
    if url.startswith(SQLITE_PREFIX):
        return f"sqlite {sqlite_path(url).absolute()}"
    parts = urlsplit(url)
    where = parts.hostname or ""
    if parts.port is not None:
        where += f":{parts.port}"
    return f"{parts.scheme} {where}{parts.path}"
