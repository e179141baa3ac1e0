"""Follow-ups in the same SQLite file as the upload log (sharing its aiosqlite connection)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite

from bot.storage.followups.store import SQLFollowUpStore
from bot.storage.rows import Row

_PLACEHOLDER = re.compile(r"\$(\d+)")


class SQLiteRunner:
    """Runs the shared statements on SQLite: `$1` read as `?1`. Each statement is atomic and one
    connection runs them one at a time, so `serialized` needs no lock: every step the store takes
    in several statements tolerates another step between them (a pending row changes only once)."""

    skip_locked = ""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._sql: dict[str, str] = {}

    def _own(self, sql: str) -> str:
        own = self._sql.get(sql)
        if own is None:
            own = self._sql[sql] = _PLACEHOLDER.sub(r"?\1", sql)
        return own

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._db.execute_fetchall(self._own(sql), args))

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._db.execute(self._own(sql), args) as cursor:
            return int(cursor.rowcount)

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self._db.executemany(self._own(sql), args)

    @asynccontextmanager
    async def serialized(self, *locks: tuple[int, str]) -> AsyncIterator[SQLiteRunner]:
        yield self


class SQLiteFollowUpStore(SQLFollowUpStore):
    """The domain's `FollowUpStore` in SQLite."""

    def __init__(self, db: aiosqlite.Connection, clock: Callable[[], float] = time.time) -> None:
        super().__init__(SQLiteRunner(db), clock)
