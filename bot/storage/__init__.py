"""Where uploads are kept. `open_store(url)` picks the backend from DATABASE_URL."""

from __future__ import annotations

from bot.domain.followup_ports import FollowUpStore
from bot.domain.ports import UploadStore
from bot.storage.errors import StoreUnavailable
from bot.storage.sqlite import SQLiteUploadStore
from bot.storage.sqlite_followups import SQLiteFollowUpStore
from bot.storage.urls import sqlite_path

__all__ = ["StoreUnavailable", "follow_up_store", "open_store"]


async def open_store(url: str) -> UploadStore:
    """Open (and migrate) the store DATABASE_URL names; raise StoreUnavailable when it cannot be used."""
    try:
        path = sqlite_path(url)
    except ValueError as exc:
        raise StoreUnavailable(f"DATABASE_URL {exc}") from None
    return await SQLiteUploadStore.open(path)


def follow_up_store(store: UploadStore) -> FollowUpStore:
    """The follow-ups kept beside `store`'s uploads, in the same database."""
    if isinstance(store, SQLiteUploadStore):
        return SQLiteFollowUpStore(store.connection)
    raise StoreUnavailable(f"no follow-up store for {type(store).__name__}")
