"""Where uploads are kept. `open_store(url)` picks the backend from DATABASE_URL."""

from __future__ import annotations

from bot.domain.followups.ports import FollowUpStore
from bot.domain.ports import UploadStore
from bot.domain.spending import SpendLedger
from bot.storage.errors import StoreUnavailable
from bot.storage.followups.sqlite import SQLiteFollowUpStore
from bot.storage.spend import PostgresSpendLedger, SQLiteSpendLedger
from bot.storage.sqlite import SQLiteUploadStore
from bot.storage.urls import check, is_postgres, sqlite_path

__all__ = ["StoreUnavailable", "follow_up_store", "open_store", "spend_ledger"]


async def open_store(url: str) -> UploadStore:
    """Open (and migrate) the store DATABASE_URL names; raise StoreUnavailable when it cannot be used."""
    try:
        check(url)
    except ValueError as exc:
        raise StoreUnavailable(f"DATABASE_URL {exc}") from None
    if is_postgres(url):
        from bot.storage.postgres import PostgresUploadStore  # asyncpg is imported only when used

        return await PostgresUploadStore.open(url)
    return await SQLiteUploadStore.open(sqlite_path(url))


def follow_up_store(store: UploadStore) -> FollowUpStore:
    """The follow-ups kept beside `store`'s uploads, in the same database."""
    if isinstance(store, SQLiteUploadStore):
        return SQLiteFollowUpStore(store.connection)
    from bot.storage.postgres import PostgresUploadStore

    if isinstance(store, PostgresUploadStore):
        from bot.storage.followups.postgres import PostgresFollowUpStore

        return PostgresFollowUpStore(store.pool)
    raise StoreUnavailable(f"no follow-up store for {type(store).__name__}")


def spend_ledger(store: UploadStore) -> SpendLedger:
    """The whole bot's daily spend, kept beside `store`'s uploads, in the same database."""
    if isinstance(store, SQLiteUploadStore):
        return SQLiteSpendLedger(store.connection)
    from bot.storage.postgres import PostgresUploadStore

    if isinstance(store, PostgresUploadStore):
        return PostgresSpendLedger(store.pool)
    raise StoreUnavailable(f"no spend ledger for {type(store).__name__}")
