"""The domain's `FollowUpStore`, written once for both backends.

Each statement is written once, for either backend's `Runner` (`storage.runner`). Steps that must not
interleave with another instance's:

- reserving: the INSERT itself checks the budget and the cooldown, and records each interaction once
  (another delivery of it conflicts on the unique interaction id: `AlreadyRecorded`); on PostgreSQL it
  runs holding advisory locks on the server's budget of the day and on the member (in that order, taken
  in one statement), so that two instances never both pass the budget or the cooldown (SQLite runs one
  statement at a time); the INSERT returns the row, so nothing is read back;
- settling: only a pending row changes, its songs are written once by position; on PostgreSQL under a
  lock on the follow-up;
- claiming due polls and unseen results: one UPDATE each, skipping rows another instance has locked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.domain.errors import ErrorKind
from bot.domain.followups.records import FollowUpRecord, FollowUpState, Operation, Song
from bot.domain.ports import AlreadyRecorded
from bot.storage.rows import (
    FOLLOW_UP_INSERTED,
    SONG_FIELDS,
    follow_up_record,
    follow_up_values,
    ms,
    seconds,
    song_values,
)
from bot.storage.rows import song as song_from_row
from bot.storage.runner import Runner

_OPERATIONS = frozenset(op.value for op in Operation)
#: Lock classes (the first key of PostgreSQL's two-key advisory locks).
BUDGET_LOCK = 0x6675
MEMBER_LOCK = 0x6676
FOLLOW_UP_LOCK = 0x6677

_WIDTH = len(FOLLOW_UP_INSERTED)
RESERVE = (
    f"INSERT INTO follow_ups ({', '.join(FOLLOW_UP_INSERTED)})"  # noqa: S608
    f" SELECT {', '.join(f'${i}' for i in range(1, _WIDTH + 1))}"
    f" WHERE (CAST(${_WIDTH + 1} AS INTEGER) = 0 OR (SELECT COALESCE(SUM(credits), 0) FROM follow_ups"
    f"   WHERE budget_guild = ${_WIDTH + 2} AND budget_day = ${_WIDTH + 3}) + ${_WIDTH + 4} <= ${_WIDTH + 1})"
    f" AND NOT EXISTS (SELECT 1 FROM follow_ups WHERE user_id = ${_WIDTH + 5} AND created_ms >= ${_WIDTH + 6}"
    "   AND (state = 'pending' OR task_id IS NOT NULL))"
    " ON CONFLICT (interaction_id) DO NOTHING RETURNING *"
)
RECORDED = "SELECT 1 FROM follow_ups WHERE interaction_id = $1"
SPENT = (
    "SELECT COALESCE(SUM(credits), 0) AS spent FROM follow_ups WHERE budget_guild = $1 AND budget_day = $2"
)
SPENT_BY_GUILD = (
    "SELECT budget_guild, SUM(credits) AS spent FROM follow_ups WHERE budget_day = $1"
    " GROUP BY budget_guild ORDER BY budget_guild"
)
LAST_STARTED = (
    "SELECT MAX(created_ms) AS started FROM follow_ups WHERE user_id = $1"
    " AND (state = 'pending' OR task_id IS NOT NULL)"
)
SET_TASK = "UPDATE follow_ups SET task_id = $1, next_poll_ms = $2, updated_ms = $3 WHERE id = $4 AND state = 'pending'"
INSERT_SONG = (
    f"INSERT INTO follow_up_songs (follow_up_id, {', '.join(SONG_FIELDS)})"  # noqa: S608
    f" SELECT {', '.join(f'${i}' for i in range(1, len(SONG_FIELDS) + 2))}"
    "  WHERE EXISTS (SELECT 1 FROM follow_ups WHERE id = $1 AND state = 'pending')"
    " ON CONFLICT (follow_up_id, position) DO NOTHING"
)
FINISH = (
    "UPDATE follow_ups SET state = $1, error_kind = $2, error_detail = $3,"
    " credits = CASE WHEN $4 THEN 0 ELSE credits END, updated_ms = $5, result = $7"
    " WHERE id = $6 AND state = 'pending' RETURNING id"
)
CLAIM_DUE = (
    "UPDATE follow_ups SET next_poll_ms = $1 WHERE id IN (SELECT id FROM follow_ups"
    " WHERE state = 'pending' AND next_poll_ms <= $2 ORDER BY next_poll_ms, id LIMIT $3{skip_locked})"
    " RETURNING *"
)
GET = "SELECT * FROM follow_ups WHERE id = $1"
SONGS_OF = "SELECT * FROM follow_up_songs WHERE follow_up_id = $1 ORDER BY position"
SONG = "SELECT * FROM follow_up_songs WHERE id = $1"
RECENT_SONGS = (
    "SELECT s.*, f.action AS made_by FROM follow_up_songs AS s JOIN follow_ups AS f ON f.id = s.follow_up_id"
    " WHERE f.user_id = $1 AND f.state = 'succeeded' ORDER BY s.id DESC LIMIT $2"
)
MARK_DELIVERED = "UPDATE follow_ups SET delivered = TRUE WHERE id = $1 AND state != 'pending'"
CLAIM_UNDELIVERED = (
    "UPDATE follow_ups SET retry_ms = $1 WHERE id IN (SELECT id FROM follow_ups WHERE NOT delivered"
    " AND state != 'pending' AND updated_ms <= $2 AND retry_ms <= $3{skip_locked}) RETURNING id"
)
PRUNE_DELIVERIES = "DELETE FROM webhook_deliveries WHERE received_ms < $1"
PRUNE_SONGS = (
    "DELETE FROM follow_up_songs WHERE follow_up_id IN (SELECT id FROM follow_ups"
    " WHERE state != 'pending' AND updated_ms < $1)"
)
PRUNE = "DELETE FROM follow_ups WHERE state != 'pending' AND updated_ms < $1"
ERASE_SPENT_SECRETS = (
    "UPDATE follow_ups SET"
    " interaction_token = CASE WHEN token_expires_ms <= $1 OR delivered THEN '' ELSE interaction_token END,"
    " callback_token = CASE WHEN state = 'pending' THEN callback_token END"
    " WHERE (interaction_token <> '' AND (token_expires_ms <= $1 OR delivered))"
    " OR (callback_token IS NOT NULL AND state <> 'pending')"
)
FORGET_SONGS = (
    "DELETE FROM follow_up_songs WHERE follow_up_id IN (SELECT id FROM follow_ups"
    " WHERE user_id = $1 AND state != 'pending')"
)
STRIP_TODAYS = (
    "UPDATE follow_ups SET source_label = '', source_clip_id = '', error_detail = NULL,"
    " interaction_token = '' WHERE user_id = $1 AND state != 'pending' AND budget_day = $2"
)
FORGET = "DELETE FROM follow_ups WHERE user_id = $1 AND state != 'pending' AND budget_day != $2"
FIRST_DELIVERY = (
    "INSERT INTO webhook_deliveries (webhook_id, received_ms) VALUES ($1, $2)"
    " ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id"
)
FORGET_DELIVERY = "DELETE FROM webhook_deliveries WHERE webhook_id = $1"
RAISE_ALERT = (
    "INSERT INTO owner_alerts (name, raised_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name"
)
CLEAR_ALERT = "DELETE FROM owner_alerts WHERE name = $1"


class SQLFollowUpStore:
    """The domain's `FollowUpStore` on either backend's `Runner`."""

    def __init__(self, db: Runner, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def reserve(
        self, record: FollowUpRecord, *, day: str, daily_budget: int, cooldown_since: float
    ) -> FollowUpRecord | None:
        """The one place a follow-up's credits are reserved against the server's daily budget."""
        now = self._clock()
        values = follow_up_values(record)
        values += [
            record.budget_guild, day, ms(record.token_expires_at), ms(now), ms(now), ms(record.next_poll_at)
        ]  # fmt: skip
        # Budget first, then member: every reserve takes them in this order, so none waits in a cycle.
        locks = ((BUDGET_LOCK, f"{record.budget_guild}:{day}"), (MEMBER_LOCK, str(record.user_id)))
        async with self._db.serialized(*locks) as db:
            rows = await db.fetch(
                RESERVE,
                *values,
                daily_budget,
                record.budget_guild,
                day,
                record.credits,
                record.user_id,
                ms(cooldown_since),
            )
        if not rows:
            # Refused, or recorded before by another delivery of the same interaction: only then look.
            if await self._db.fetch(RECORDED, record.interaction_id):
                raise AlreadyRecorded(record.interaction_id)
            return None
        return follow_up_record(rows[0])  # a new follow-up: no songs yet

    async def spent(self, budget_guild: int, day: str) -> int:
        (row,) = await self._db.fetch(SPENT, budget_guild, day)
        return int(row["spent"])

    async def spent_by_guild(self, day: str) -> dict[int, int]:
        return {int(r["budget_guild"]): int(r["spent"]) for r in await self._db.fetch(SPENT_BY_GUILD, day)}

    async def last_started(self, user_id: int) -> float | None:
        (row,) = await self._db.fetch(LAST_STARTED, user_id)
        return None if row["started"] is None else seconds(int(row["started"]))

    async def set_task(self, follow_up_id: int, task_id: str, next_poll_at: float) -> None:
        await self._db.execute(SET_TASK, task_id, ms(next_poll_at), ms(self._clock()), follow_up_id)

    async def finish(
        self,
        follow_up_id: int,
        *,
        state: FollowUpState,
        songs: Sequence[Song] = (),
        result: Mapping[str, Any] | None = None,
        error_kind: ErrorKind | None = None,
        detail: str = "",
        refund: bool = False,
    ) -> bool:
        async with self._db.serialized((FOLLOW_UP_LOCK, str(follow_up_id))) as db:
            if songs:
                # Songs first, each once: a crash before the state changes leaves them for the next try.
                await db.executemany(
                    INSERT_SONG,
                    [song_values(follow_up_id, position, s) for position, s in enumerate(songs)],
                )
            changed = await db.fetch(
                FINISH,
                state.value,
                error_kind.value if error_kind else None,
                detail or None,
                refund,
                ms(self._clock()),
                follow_up_id,
                json.dumps(result) if result is not None else None,
            )
        return bool(changed)

    async def claim_due(self, now: float, *, next_poll_at: float, limit: int) -> list[FollowUpRecord]:
        sql = CLAIM_DUE.format(skip_locked=self._db.skip_locked)
        rows = await self._db.fetch(sql, ms(next_poll_at), ms(now), limit)
        return sorted((follow_up_record(r) for r in rows), key=lambda r: r.key)

    async def get(self, follow_up_id: int) -> FollowUpRecord | None:
        rows = await self._db.fetch(GET, follow_up_id)
        if not rows:
            return None
        songs = await self._db.fetch(SONGS_OF, follow_up_id)
        return follow_up_record(rows[0], [song_from_row(s) for s in songs])

    async def song(self, song_id: int) -> tuple[Song, FollowUpRecord] | None:
        rows = await self._db.fetch(SONG, song_id)
        if not rows:
            return None
        made_by = await self.get(int(rows[0]["follow_up_id"]))
        if made_by is None or made_by.state is not FollowUpState.SUCCEEDED:
            return None
        return song_from_row(rows[0]), made_by

    async def recent_songs(self, user_id: int, *, limit: int) -> list[tuple[Song, Operation]]:
        rows = await self._db.fetch(RECENT_SONGS, user_id, limit)
        return [(song_from_row(r), Operation(r["made_by"])) for r in rows if r["made_by"] in _OPERATIONS]

    async def mark_delivered(self, follow_up_id: int) -> None:
        await self._db.execute(MARK_DELIVERED, follow_up_id)

    async def claim_undelivered(
        self, *, settled_before: float, now: float, until: float
    ) -> list[FollowUpRecord]:
        sql = CLAIM_UNDELIVERED.format(skip_locked=self._db.skip_locked)
        rows = await self._db.fetch(sql, ms(until), ms(settled_before), ms(now))
        found = [await self.get(int(r["id"])) for r in sorted(rows, key=lambda r: int(r["id"]))]
        return [r for r in found if r is not None]

    async def prune(self, finished_before: float) -> int:
        cutoff = ms(finished_before)
        async with self._db.serialized() as db:
            await db.execute(PRUNE_DELIVERIES, cutoff)
            await db.execute(PRUNE_SONGS, cutoff)
            return await db.execute(PRUNE, cutoff)

    async def erase_spent_secrets(self, now: float) -> int:
        return await self._db.execute(ERASE_SPENT_SECRETS, ms(now))

    async def forget_member(self, user_id: int, *, keep_day: str) -> int:
        async with self._db.serialized() as db:
            await db.execute(FORGET_SONGS, user_id)
            stripped = await db.execute(STRIP_TODAYS, user_id, keep_day)
            return stripped + await db.execute(FORGET, user_id, keep_day)

    async def first_delivery(self, webhook_id: str, now: float) -> bool:
        return bool(await self._db.fetch(FIRST_DELIVERY, webhook_id, ms(now)))

    async def forget_delivery(self, webhook_id: str) -> None:
        await self._db.execute(FORGET_DELIVERY, webhook_id)

    async def raise_alert(self, name: str, now: float) -> bool:
        return bool(await self._db.fetch(RAISE_ALERT, name, ms(now)))

    async def clear_alert(self, name: str) -> None:
        await self._db.execute(CLEAR_ALERT, name)
