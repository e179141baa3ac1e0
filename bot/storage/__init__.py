"""Where uploads are kept. `open_store(url)` picks the backend from DATABASE_URL; the follow-ups and the
day's spend live beside the uploads, in the same database (`follow_up_store`, `spend_ledger`)."""

from __future__ import annotations

from bot.domain.followups.ports import FollowUpStore
from bot.domain.ports import UploadStore
from bot.domain.spending import SpendLedger
from bot.storage.errors import StoreUnavailable
from bot.storage.followups.store import SQLFollowUpStore
from bot.storage.runner import Runner
from bot.storage.spend import SQLSpendLedger
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
    return SQLFollowUpStore(_runner(store))


def spend_ledger(store: UploadStore) -> SpendLedger:
    """The whole bot's daily spend, kept beside `store`'s uploads, in the same database."""
    return SQLSpendLedger(_runner(store))


def _runner(store: UploadStore) -> Runner:
    """How the tables beside `store`'s uploads run their statements: on its connection, or its pool."""
    if isinstance(store, SQLiteUploadStore):
        return store.runner
    from bot.storage.postgres import PostgresUploadStore

    if isinstance(store, PostgresUploadStore):
        return store.runner
    raise StoreUnavailable(f"no other tables beside {type(store).__name__}")
