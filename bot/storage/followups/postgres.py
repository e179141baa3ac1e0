"""Follow-ups in the same PostgreSQL database as the upload log (sharing its pool).

Steps that must not interleave between instances: reserving takes advisory locks on the server's budget
and on the member (in that order) for its transaction, so two instances never both pass the budget or the
cooldown; settling changes only a pending row; due polls and unseen results are claimed with
`FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import asyncpg

from bot.domain.errors import ErrorKind
from bot.domain.followups.records import FollowUpRecord, FollowUpState, Song
from bot.storage.postgres import changed_rows
from bot.storage.rows import (
    FOLLOW_UP_INSERTED,
    SONG_FIELDS,
    follow_up_record,
    follow_up_values,
    ms,
    seconds,
)
from bot.storage.rows import song as song_from_row

#: Advisory lock classes (the first key of the two-key form): a server's daily budget, a member's cooldown.
_BUDGET_LOCK = 0x6675
_MEMBER_LOCK = 0x6676


class PostgresFollowUpStore:
    """The domain's `FollowUpStore` in PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], float] = time.time) -> None:
        self._pool = pool
        self._clock = clock

    async def reserve(
        self, record: FollowUpRecord, *, day: str, daily_budget: int, cooldown_since: float
    ) -> FollowUpRecord | None:
        now = self._clock()
        values = follow_up_values(record)
        values += [
            record.budget_guild, day, ms(record.token_expires_at), ms(now), ms(now), ms(record.next_poll_at)
        ]  # fmt: skip
        width = len(FOLLOW_UP_INSERTED)
        placeholders = ", ".join(f"${i}" for i in range(1, width + 1))
        async with self._pool.acquire() as conn, conn.transaction():
            # Budget first, then member: every reserve takes them in this order, so none waits in a cycle.
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2)), pg_advisory_xact_lock($3, hashtext($4))",
                _BUDGET_LOCK,
                f"{record.budget_guild}:{day}",
                _MEMBER_LOCK,
                str(record.user_id),
            )
            new_id = await conn.fetchval(
                f"INSERT INTO follow_ups ({', '.join(FOLLOW_UP_INSERTED)}) SELECT {placeholders}"  # noqa: S608
                f" WHERE (${width + 1}::int = 0 OR (SELECT COALESCE(SUM(credits), 0) FROM follow_ups"
                f"   WHERE budget_guild = ${width + 2} AND budget_day = ${width + 3}) + ${width + 4} <= ${width + 1})"
                f" AND NOT EXISTS (SELECT 1 FROM follow_ups WHERE user_id = ${width + 5} AND created_ms >= ${width + 6}"
                "   AND (state = 'pending' OR task_id IS NOT NULL))"
                " RETURNING id",
                *values,
                daily_budget,
                record.budget_guild,
                day,
                record.credits,
                record.user_id,
                ms(cooldown_since),
            )
        if new_id is None:
            return None
        return await self.get(int(new_id))

    async def spent(self, budget_guild: int, day: str) -> int:
        value = await self._pool.fetchval(
            "SELECT COALESCE(SUM(credits), 0) FROM follow_ups WHERE budget_guild = $1 AND budget_day = $2",
            budget_guild,
            day,
        )
        return int(value)

    async def spent_by_guild(self, day: str) -> dict[int, int]:
        rows = await self._pool.fetch(
            "SELECT budget_guild, SUM(credits) AS spent FROM follow_ups WHERE budget_day = $1"
            " GROUP BY budget_guild ORDER BY budget_guild",
            day,
        )
        return {int(r["budget_guild"]): int(r["spent"]) for r in rows}

    async def last_started(self, user_id: int) -> float | None:
        value = await self._pool.fetchval(
            "SELECT MAX(created_ms) FROM follow_ups WHERE user_id = $1"
            " AND (state = 'pending' OR task_id IS NOT NULL)",
            user_id,
        )
        return None if value is None else seconds(int(value))

    async def set_task(self, follow_up_id: int, task_id: str, next_poll_at: float) -> None:
        await self._pool.execute(
            "UPDATE follow_ups SET task_id = $1, next_poll_ms = $2, updated_ms = $3 WHERE id = $4 AND state = 'pending'",
            task_id,
            ms(next_poll_at),
            ms(self._clock()),
            follow_up_id,
        )

    async def finish(
        self,
        follow_up_id: int,
        *,
        state: FollowUpState,
        songs: Sequence[Song] = (),
        error_kind: ErrorKind | None = None,
        detail: str = "",
        refund: bool = False,
    ) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            pending = await conn.fetchval(
                "SELECT id FROM follow_ups WHERE id = $1 AND state = 'pending' FOR UPDATE", follow_up_id
            )
            if pending is None:
                return False
            if songs:
                await conn.executemany(
                    f"INSERT INTO follow_up_songs (follow_up_id, {', '.join(SONG_FIELDS)})"  # noqa: S608
                    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (follow_up_id, position) DO NOTHING",
                    [
                        (follow_up_id, position, s.clip_id, s.title, s.duration, s.audio_url, s.tags)
                        for position, s in enumerate(songs)
                    ],
                )
            await conn.execute(
                "UPDATE follow_ups SET state = $1, error_kind = $2, error_detail = $3,"
                " credits = CASE WHEN $4 THEN 0 ELSE credits END, updated_ms = $5 WHERE id = $6",
                state.value,
                error_kind.value if error_kind else None,
                detail or None,
                refund,
                ms(self._clock()),
                follow_up_id,
            )
        return True

    async def claim_due(self, now: float, *, next_poll_at: float, limit: int) -> list[FollowUpRecord]:
        rows = await self._pool.fetch(
            "UPDATE follow_ups SET next_poll_ms = $1 WHERE id IN (SELECT id FROM follow_ups"
            " WHERE state = 'pending' AND next_poll_ms <= $2 ORDER BY next_poll_ms, id LIMIT $3"
            " FOR UPDATE SKIP LOCKED) RETURNING *",
            ms(next_poll_at),
            ms(now),
            limit,
        )
        return sorted((follow_up_record(r) for r in rows), key=lambda r: r.key)

    async def get(self, follow_up_id: int) -> FollowUpRecord | None:
        row = await self._pool.fetchrow("SELECT * FROM follow_ups WHERE id = $1", follow_up_id)
        if row is None:
            return None
        songs = await self._pool.fetch(
            "SELECT * FROM follow_up_songs WHERE follow_up_id = $1 ORDER BY position", follow_up_id
        )
        return follow_up_record(row, [song_from_row(s) for s in songs])

    async def song(self, song_id: int) -> tuple[Song, FollowUpRecord] | None:
        row = await self._pool.fetchrow("SELECT * FROM follow_up_songs WHERE id = $1", song_id)
        if row is None:
            return None
        made_by = await self.get(int(row["follow_up_id"]))
        if made_by is None or made_by.state is not FollowUpState.SUCCEEDED:
            return None
        return song_from_row(row), made_by

    async def mark_delivered(self, follow_up_id: int) -> None:
        await self._pool.execute(
            "UPDATE follow_ups SET delivered = TRUE WHERE id = $1 AND state != 'pending'", follow_up_id
        )

    async def claim_undelivered(
        self, *, settled_before: float, now: float, until: float
    ) -> list[FollowUpRecord]:
        rows = await self._pool.fetch(
            "UPDATE follow_ups SET retry_ms = $1 WHERE id IN (SELECT id FROM follow_ups WHERE NOT delivered"
            " AND state != 'pending' AND updated_ms <= $2 AND retry_ms <= $3 FOR UPDATE SKIP LOCKED)"
            " RETURNING id",
            ms(until),
            ms(settled_before),
            ms(now),
        )
        found = [await self.get(int(r["id"])) for r in sorted(rows, key=lambda r: int(r["id"]))]
        return [r for r in found if r is not None]

    async def prune(self, finished_before: float) -> int:
        cutoff = ms(finished_before)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM webhook_deliveries WHERE received_ms < $1", cutoff)
            await conn.execute(
                "DELETE FROM follow_up_songs WHERE follow_up_id IN (SELECT id FROM follow_ups"
                " WHERE state != 'pending' AND updated_ms < $1)",
                cutoff,
            )
            status = await conn.execute(
                "DELETE FROM follow_ups WHERE state != 'pending' AND updated_ms < $1", cutoff
            )
        return changed_rows(status)

    async def erase_spent_secrets(self, now: float) -> int:
        status = await self._pool.execute(
            "UPDATE follow_ups SET"
            " interaction_token = CASE WHEN token_expires_ms <= $1 OR delivered THEN ''"
            " ELSE interaction_token END,"
            " callback_token = CASE WHEN state = 'pending' THEN callback_token END"
            " WHERE (interaction_token <> '' AND (token_expires_ms <= $1 OR delivered))"
            " OR (callback_token IS NOT NULL AND state <> 'pending')",
            ms(now),
        )
        return changed_rows(status)

    async def forget_member(self, user_id: int, *, keep_day: str) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM follow_up_songs WHERE follow_up_id IN (SELECT id FROM follow_ups"
                " WHERE user_id = $1 AND state != 'pending')",
                user_id,
            )
            stripped = await conn.execute(
                "UPDATE follow_ups SET source_label = '', source_clip_id = '', error_detail = NULL,"
                " interaction_token = '' WHERE user_id = $1 AND state != 'pending' AND budget_day = $2",
                user_id,
                keep_day,
            )
            deleted = await conn.execute(
                "DELETE FROM follow_ups WHERE user_id = $1 AND state != 'pending' AND budget_day != $2",
                user_id,
                keep_day,
            )
        return changed_rows(stripped) + changed_rows(deleted)

    async def first_delivery(self, webhook_id: str, now: float) -> bool:
        taken = await self._pool.fetchval(
            "INSERT INTO webhook_deliveries (webhook_id, received_ms) VALUES ($1, $2)"
            " ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id",
            webhook_id,
            ms(now),
        )
        return taken is not None

    async def forget_delivery(self, webhook_id: str) -> None:
        await self._pool.execute("DELETE FROM webhook_deliveries WHERE webhook_id = $1", webhook_id)

    async def raise_alert(self, name: str, now: float) -> bool:
        raised = await self._pool.fetchval(
            "INSERT INTO owner_alerts (name, raised_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name",
            name,
            ms(now),
        )
        return raised is not None

    async def clear_alert(self, name: str) -> None:
        await self._pool.execute("DELETE FROM owner_alerts WHERE name = $1", name)
