"""DATABASE_URL: which backend, and where."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage import StoreUnavailable, open_store
from bot.storage.urls import describe, sqlite_path


def test_sqlite_path_relative() -> None:
    path = sqlite_path("sqlite:///data/musicbot.db")
    assert path == Path("data/musicbot.db")
    assert not path.is_absolute()


def test_sqlite_path_absolute() -> None:
    path = sqlite_path("sqlite:////abs/path.db")
    assert path == Path("/abs/path.db")
    assert path.is_absolute()


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://rel.db", "postgres://h/db", "", "data.db"])
def test_sqlite_path_rejects(url: str) -> None:
    with pytest.raises(ValueError, match="sqlite:///"):
        sqlite_path(url)


def test_describe_names_the_backend_and_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert describe("sqlite:///data/musicbot.db") == f"sqlite {tmp_path / 'data' / 'musicbot.db'}"
    assert describe("sqlite:////abs/path.db") == "sqlite /abs/path.db"


def test_describe_never_shows_a_user_or_password() -> None:
    shown = describe("postgresql://bot:hunter2@db.example.com:5432/music")
    assert shown == "postgresql db.example.com:5432/music"


async def test_open_store_refuses_a_url_it_has_no_backend_for() -> None:
    with pytest.raises(StoreUnavailable, match="DATABASE_URL"):
        await open_store("mysql://db.example.com/music")


async def test_open_store_opens_sqlite(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'x' / 'bot.db'}")
    try:
        assert await store.ping()
    finally:
        await store.close()
    assert (tmp_path / "x" / "bot.db").exists()
