"""Where uploads are kept. `open_store(url)` picks the backend from DATABASE_URL."""

from __future__ import annotations

from bot.domain.ports import UploadStore
from bot.storage.errors import StoreUnavailable
from bot.storage.sqlite import SQLiteUploadStore
from bot.storage.urls import sqlite_path

__all__ = ["StoreUnavailable", "open_store"]


async def open_store(url: str) -> UploadStore:
    """Open (and migrate) the store DATABASE_URL names; raise StoreUnavailable when it cannot be used."""
    try:
        path = sqlite_path(url)
    except ValueError as exc:
        raise StoreUnavailable(f"DATABASE_URL {exc}") from None
    return await SQLiteUploadStore.open(path)
