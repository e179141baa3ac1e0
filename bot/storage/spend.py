"""The whole bot's daily spend (the domain's `SpendLedger`), one statement per step in either backend:
reserving inserts the day's row or adds to it only while the total stays within the ceiling, so two
instances (or two tasks) never both pass it."""

from __future__ import annotations

from typing import Any

import aiosqlite

#: Insert the day's row, or add to it, only within the ceiling ($3 = 0: no ceiling); a row comes back
#: when the credits were added. SQLite and PostgreSQL share it but for the placeholders.
_RESERVE = (
    "INSERT INTO daily_spend (day, credits) SELECT {day}, {credits} WHERE {ceiling} = 0 OR {credits} <= {ceiling}"
    " ON CONFLICT (day) DO UPDATE SET credits = daily_spend.credits + excluded.credits"
    " WHERE {ceiling} = 0 OR daily_spend.credits + excluded.credits <= {ceiling}"
    " RETURNING credits"
)
_RELEASE = "UPDATE daily_spend SET credits = {greatest}(credits - {credits}, 0) WHERE day = {day}"
_SPENT = "SELECT credits FROM daily_spend WHERE day = {day}"


class SQLiteSpendLedger:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def reserve_spend(self, day: str, credits: int, ceiling: int) -> bool:
        sql = _RESERVE.format(day=":day", credits=":credits", ceiling=":ceiling")
        rows = await self._db.execute_fetchall(sql, {"day": day, "credits": credits, "ceiling": ceiling})
        return bool(list(rows))

    async def release_spend(self, day: str, credits: int) -> None:
        sql = _RELEASE.format(greatest="MAX", credits=":credits", day=":day")
        await self._db.execute(sql, {"day": day, "credits": credits})

    async def spend_of(self, day: str) -> int:
        rows = list(await self._db.execute_fetchall(_SPENT.format(day="?"), (day,)))
        return int(rows[0][0]) if rows else 0


class PostgresSpendLedger:
    def __init__(self, pool: Any) -> None:  # an asyncpg.Pool (asyncpg is imported only when used)
        self._pool = pool

    async def reserve_spend(self, day: str, credits: int, ceiling: int) -> bool:
        sql = _RESERVE.format(day="$1::text", credits="$2::bigint", ceiling="$3::bigint")
        return await self._pool.fetchval(sql, day, credits, ceiling) is not None

    async def release_spend(self, day: str, credits: int) -> None:
        sql = _RELEASE.format(greatest="GREATEST", credits="$2::bigint", day="$1")
        await self._pool.execute(sql, day, credits)

    async def spend_of(self, day: str) -> int:
        found = await self._pool.fetchval(_SPENT.format(day="$1"), day)
        return int(found) if found is not None else 0
