"""Follow-ups in the same PostgreSQL database as the upload log (sharing its pool)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from bot.storage.followups.store import SQLFollowUpStore
from bot.storage.postgres import changed_rows
from bot.storage.rows import Row


class PostgresRunner:
    """Runs the shared statements on PostgreSQL, on the pool or on one connection in a transaction."""

    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, target: Any) -> None:
        self._target = target  # an asyncpg Pool or Connection: both run statements alike

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._target.fetch(sql, *args))

    async def execute(self, sql: str, *args: Any) -> int:
        return changed_rows(await self._target.execute(sql, *args))

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self._target.executemany(sql, args)

    @asynccontextmanager
    async def serialized(self, *locks: tuple[int, str]) -> AsyncIterator[PostgresRunner]:
        """One connection in a transaction, holding advisory locks on `locks` until it commits."""
        pool = self._target
        async with pool.acquire() as conn, conn.transaction():
            for lock_class, key in locks:
                await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", lock_class, key)
            yield PostgresRunner(conn)


class PostgresFollowUpStore(SQLFollowUpStore):
    """The domain's `FollowUpStore` in PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], float] = time.time) -> None:
        super().__init__(PostgresRunner(pool), clock)
