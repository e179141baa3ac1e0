"""The whole bot's daily spend (the domain's `SpendLedger`) in either backend. Reservations made in one
turn of the event loop (a burst of uploads) are taken together, in one statement per day: it inserts the
day's row or adds to it the longest run of them, in order, that keeps the total within the ceiling, so
two instances (or two tasks) never both pass it, and a burst costs one statement, not one per upload."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate, groupby
from typing import Any

import aiosqlite

from bot.storage.batching import Batched

#: Reservations taken in one statement at most (each adds a branch to the statement's CASE).
MAX_BATCH = 200

#: Insert the day's row or add to it, in one atomic step: `{fresh}` is what a new row takes, `{grant}`
#: what an existing one takes, both read from its credits before the change; a row comes back, with what
#: was added, when anything was. SQLite and PostgreSQL share it but for the placeholder of the day.
_RESERVE = (
    "INSERT INTO daily_spend (day, credits, last_added) SELECT {day}, {fresh}, {fresh} WHERE {fresh} > 0"
    " ON CONFLICT (day) DO UPDATE SET credits = daily_spend.credits + {grant}, last_added = {grant}"
    " WHERE {grant} > 0 RETURNING last_added"
)
_RELEASE = "UPDATE daily_spend SET credits = {greatest}(credits - {credits}, 0) WHERE day = {day}"
_SPENT = "SELECT credits FROM daily_spend WHERE day = {day}"

Ask = tuple[str, int, int]  # day, credits, ceiling


def _largest_within(totals: Sequence[int], ceiling: int, before: str) -> str:
    """SQL for the largest of `totals` (running sums, rising) that `before` plus it keeps within `ceiling`;
    0 when none does. The numbers are ints of ours, written into the statement as literals."""
    if ceiling <= 0:
        return str(int(totals[-1]))
    branches = " ".join(f"WHEN {before}{int(t)} <= {int(ceiling)} THEN {int(t)}" for t in reversed(totals))
    return f"(CASE {branches} ELSE 0 END)"


def _reserve_sql(credits: Sequence[int], ceiling: int, day: str) -> tuple[str, list[int]]:
    """The statement for one day's reservations (all credits > 0), and the running sums it may add."""
    totals = list(accumulate(credits))
    sql = _RESERVE.format(
        day=day,
        fresh=_largest_within(totals, ceiling, ""),
        grant=_largest_within(totals, ceiling, "daily_spend.credits + "),
    )
    return sql, totals


def _granted(totals: list[int], added: int | None) -> list[bool]:
    """Which reservations of a group the statement took: those whose running sum it added."""
    taken = totals.index(added) + 1 if added in totals else 0
    return [n < taken for n in range(len(totals))]


class _Ledger:
    """What both backends share: reservations of one turn grouped by day and ceiling, one statement each."""

    def __init__(self) -> None:
        self._reservations = Batched(self._reserve_many, max_batch=MAX_BATCH)

    async def reserve_spend(self, day: str, credits: int, ceiling: int) -> bool:
        if credits <= 0:
            return True  # nothing to count
        return await self._reservations((day, credits, ceiling))

    async def _reserve_many(self, asks: list[Ask]) -> list[bool]:
        results: dict[int, bool] = {}
        indexed = sorted(enumerate(asks), key=lambda item: (item[1][0], item[1][2], item[0]))
        for (day, ceiling), group in groupby(indexed, key=lambda item: (item[1][0], item[1][2])):
            members = list(group)
            added = await self._run_reserve([ask[1] for _, ask in members], ceiling, day)
            for (n, _), ok in zip(members, added, strict=True):
                results[n] = ok
        return [results[n] for n in range(len(asks))]

    async def _run_reserve(self, credits: list[int], ceiling: int, day: str) -> list[bool]:
        raise NotImplementedError


class SQLiteSpendLedger(_Ledger):
    def __init__(self, db: aiosqlite.Connection) -> None:
        super().__init__()
        self._db = db

    async def _run_reserve(self, credits: list[int], ceiling: int, day: str) -> list[bool]:
        sql, totals = _reserve_sql(credits, ceiling, ":day")
        rows = list(await self._db.execute_fetchall(sql, {"day": day}))
        return _granted(totals, int(rows[0][0]) if rows else None)

    async def release_spend(self, day: str, credits: int) -> None:
        sql = _RELEASE.format(greatest="MAX", credits=":credits", day=":day")
        await self._db.execute(sql, {"day": day, "credits": credits})

    async def spend_of(self, day: str) -> int:
        rows = list(await self._db.execute_fetchall(_SPENT.format(day="?"), (day,)))
        return int(rows[0][0]) if rows else 0


class PostgresSpendLedger(_Ledger):
    def __init__(self, pool: Any) -> None:  # an asyncpg.Pool (asyncpg is imported only when used)
        super().__init__()
        self._pool = pool

    async def _run_reserve(self, credits: list[int], ceiling: int, day: str) -> list[bool]:
        sql, totals = _reserve_sql(credits, ceiling, "$1::text")
        added = await self._pool.fetchval(sql, day)
        return _granted(totals, int(added) if added is not None else None)

    async def release_spend(self, day: str, credits: int) -> None:
        sql = _RELEASE.format(greatest="GREATEST", credits="$2::bigint", day="$1")
        await self._pool.execute(sql, day, credits)

    async def spend_of(self, day: str) -> int:
        found = await self._pool.fetchval(_SPENT.format(day="$1"), day)
        return int(found) if found is not None else 0
