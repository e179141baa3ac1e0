"""The whole bot's daily spend (the domain's `SpendLedger`), each statement written once for either
backend's `Runner`. Reservations made in one turn of the event loop (a burst of uploads) are taken
together, in one statement per day: it inserts the day's row or adds to it the longest run of them, in
order, that keeps the total within the ceiling, so two instances (or two tasks) never both pass it, and a
burst costs one statement, not one per upload."""

from __future__ import annotations

import json
from itertools import accumulate, groupby

from bot.storage.batching import Batched
from bot.storage.runner import Runner

#: Reservations taken in one statement at most.
MAX_BATCH = 200

#: Insert the day's row or add to it, in one atomic step: `{fresh}` is what a new row takes, `{grant}`
#: what an existing one takes, both read from its credits before the change; a row comes back, with what
#: was added, when anything was. `$1` is the day, `$2` the ceiling (0: none), `$3` the running sums of
#: the reservations, rising, as one JSON array: one statement text whatever their number, which each
#: backend prepares once (a text per number, each sum a branch of a CASE, had SQLite parse a statement
#: of up to 400 branches for nearly every burst).
_RESERVE = (
    "INSERT INTO daily_spend (day, credits, last_added) SELECT CAST($1 AS TEXT), {fresh}, {fresh}"
    " WHERE {fresh} > 0 ON CONFLICT (day) DO UPDATE SET credits = daily_spend.credits + {grant},"
    " last_added = {grant} WHERE {grant} > 0 RETURNING last_added"
)
RELEASE = (
    "UPDATE daily_spend SET credits = CASE WHEN credits > $2 THEN credits - $2 ELSE 0 END WHERE day = $1"
)
SPENT = "SELECT credits FROM daily_spend WHERE day = $1"

Ask = tuple[str, int, int]  # day, credits, ceiling


def _largest_within(json_values: str, before: str) -> str:
    """SQL for the largest of the running sums (`$3`) that `before` plus it keeps within the ceiling
    (`$2`; 0: any); 0 when none does."""
    ceiling = "CAST($2 AS BIGINT)"
    total = "CAST(value AS BIGINT)"
    return (
        f"(SELECT COALESCE(MAX({total}), 0) FROM {json_values.format('$3')}"  # noqa: S608
        f" WHERE {ceiling} = 0 OR {before}{total} <= {ceiling})"
    )


def reserve_sql(json_values: str) -> str:
    """The reservations' statement for a backend (its `Runner.json_values`)."""
    return _RESERVE.format(
        fresh=_largest_within(json_values, ""), grant=_largest_within(json_values, "daily_spend.credits + ")
    )


def _granted(totals: list[int], added: int | None) -> list[bool]:
    """Which reservations of a group the statement took: those whose running sum it added."""
    taken = totals.index(added) + 1 if added in totals else 0
    return [n < taken for n in range(len(totals))]


class SQLSpendLedger:
    """The domain's `SpendLedger` on either backend's `Runner`: reservations of one turn grouped by day
    and ceiling, one statement each."""

    def __init__(self, db: Runner) -> None:
        self._db = db
        self._reserve = reserve_sql(db.json_values)
        self._reservations = Batched(self._reserve_many, max_batch=MAX_BATCH)

    async def reserve_spend(self, day: str, credits: int, ceiling: int) -> bool:
        if credits <= 0:
            return True  # nothing to count
        return await self._reservations((day, credits, ceiling))

    async def release_spend(self, day: str, credits: int) -> None:
        await self._db.execute(RELEASE, day, credits)

    async def spend_of(self, day: str) -> int:
        rows = await self._db.fetch(SPENT, day)
        return int(rows[0]["credits"]) if rows else 0

    async def _reserve_many(self, asks: list[Ask]) -> list[bool]:
        results: dict[int, bool] = {}
        indexed = sorted(enumerate(asks), key=lambda item: (item[1][0], item[1][2], item[0]))
        for (day, ceiling), group in groupby(indexed, key=lambda item: (item[1][0], item[1][2])):
            members = list(group)
            totals = list(accumulate(ask[1] for _, ask in members))
            rows = await self._db.fetch(self._reserve, day, ceiling, json.dumps(totals))
            added = _granted(totals, int(rows[0]["last_added"]) if rows else None)
            for (n, _), ok in zip(members, added, strict=True):
                results[n] = ok
        return [results[n] for n in range(len(asks))]
