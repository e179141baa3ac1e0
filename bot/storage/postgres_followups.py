"""Follow-ups in the same PostgreSQL database as the upload log (sharing its pool).

Steps that must not interleave between instances: reserving takes advisory locks on the server's budget
and on the member (in that order) for its transaction, so two instances never both pass the budget or the
cooldown; settling changes only a pending row; due polls and unseen results are claimed with
`FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from bot.domain.errors import ErrorKind
from bot.domain.followups import ClipOrigin, FollowUpAction, FollowUpRecord, FollowUpState, Song

#: Columns written from a record; `budget_guild` and `budget_day` are added by `reserve`.
_FIELDS = (
    "user_id", "guild_id", "channel_id", "application_id", "interaction_id", "interaction_token",
    "locale", "action", "origin", "source_id", "source_clip_id", "source_label", "task_type", "model",
    "credits", "state", "task_id", "callback_token",
)  # fmt: skip
_INSERTED = (
    *_FIELDS,
    "budget_guild",
    "budget_day",
    "token_expires_ms",
    "created_ms",
    "updated_ms",
    "next_poll_ms",
)
_SONG_FIELDS = ("position", "clip_id", "title", "duration", "audio_url", "tags")


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _seconds(ms: int | None) -> float:
    return (ms or 0) / 1000


def _error_kind(value: str | None) -> ErrorKind | None:
    if value is None:
        return None
    try:
        return ErrorKind(value)
    except ValueError:
        return ErrorKind.FAILED


#: Advisory lock classes (the first key of the two-key form): a server's daily budget, a member's cooldown.
_BUDGET_LOCK = 0x6675
_MEMBER_LOCK = 0x6676


def _record(row: asyncpg.Record, songs: Sequence[Song] = ()) -> FollowUpRecord:
    return FollowUpRecord(
        id=int(row["id"]),
        user_id=int(row["user_id"]),
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        application_id=int(row["application_id"]),
        interaction_id=int(row["interaction_id"]),
        interaction_token=str(row["interaction_token"]),
        token_expires_at=_seconds(row["token_expires_ms"]),
        locale=str(row["locale"]),
        action=FollowUpAction(row["action"]),
        origin=ClipOrigin(row["origin"]),
        source_id=int(row["source_id"]),
        source_clip_id=str(row["source_clip_id"]),
        source_label=str(row["source_label"]),
        task_type=str(row["task_type"]),
        model=str(row["model"]),
        credits=int(row["credits"]),
        state=FollowUpState(row["state"]),
        task_id=row["task_id"],
        callback_token=row["callback_token"],
        error_kind=_error_kind(row["error_kind"]),
        error_detail=row["error_detail"],
        delivered=bool(row["delivered"]),
        created_at=_seconds(row["created_ms"]),
        updated_at=_seconds(row["updated_ms"]),
        next_poll_at=_seconds(row["next_poll_ms"]),
        songs=list(songs),
    )


def _song(row: asyncpg.Record) -> Song:
    return Song(
        id=int(row["id"]),
        position=int(row["position"]),
        clip_id=str(row["clip_id"]),
        title=str(row["title"]),
        duration=row["duration"],
        audio_url=row["audio_url"],
        tags=str(row["tags"]),
    )


def _count(status: str) -> int:
    """The number of rows a statement changed, from its status (`DELETE 3`, `UPDATE 0`)."""
    return int(status.rsplit(" ", 1)[-1])


class PostgresFollowUpStore:
    """The domain's `FollowUpStore` in PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], float] = time.time) -> None:
        self._pool = pool
        self._clock = clock

    async def reserve(
        self, record: FollowUpRecord, *, day: str, daily_budget: int, cooldown_since: float
    ) -> FollowUpRecord | None:
        now = self._clock()
        values: list[Any] = [
            getattr(record, name).value if name in ("action", "origin", "state") else getattr(record, name)
            for name in _FIELDS
        ]
        values += [
            record.budget_guild, day, _ms(record.token_expires_at), _ms(now), _ms(now), _ms(record.next_poll_at)
        ]  # fmt: skip
        width = len(_INSERTED)
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
                f"INSERT INTO follow_ups ({', '.join(_INSERTED)}) SELECT {placeholders}"  # noqa: S608
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
                _ms(cooldown_since),
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
        return None if value is None else _seconds(int(value))

    async def set_task(self, follow_up_id: int, task_id: str, next_poll_at: float) -> None:
        await self._pool.execute(
            "UPDATE follow_ups SET task_id = $1, next_poll_ms = $2, updated_ms = $3 WHERE id = $4",
            task_id,
            _ms(next_poll_at),
            _ms(self._clock()),
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
                    f"INSERT INTO follow_up_songs (follow_up_id, {', '.join(_SONG_FIELDS)})"  # noqa: S608
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
                _ms(self._clock()),
                follow_up_id,
            )
        return True

    async def claim_due(self, now: float, *, next_poll_at: float, limit: int) -> list[FollowUpRecord]:
        rows = await self._pool.fetch(
            "UPDATE follow_ups SET next_poll_ms = $1 WHERE id IN (SELECT id FROM follow_ups"
            " WHERE state = 'pending' AND next_poll_ms <= $2 ORDER BY next_poll_ms, id LIMIT $3"
            " FOR UPDATE SKIP LOCKED) RETURNING *",
            _ms(next_poll_at),
            _ms(now),
            limit,
        )
        return sorted((_record(r) for r in rows), key=lambda r: r.key)

    async def get(self, follow_up_id: int) -> FollowUpRecord | None:
        row = await self._pool.fetchrow("SELECT * FROM follow_ups WHERE id = $1", follow_up_id)
        if row is None:
            return None
        songs = await self._pool.fetch(
            "SELECT * FROM follow_up_songs WHERE follow_up_id = $1 ORDER BY position", follow_up_id
        )
        return _record(row, [_song(s) for s in songs])

    async def song(self, song_id: int) -> tuple[Song, FollowUpRecord] | None:
        row = await self._pool.fetchrow("SELECT * FROM follow_up_songs WHERE id = $1", song_id)
        if row is None:
            return None
        made_by = await self.get(int(row["follow_up_id"]))
        if made_by is None or made_by.state is not FollowUpState.SUCCEEDED:
            return None
        return _song(row), made_by

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
            _ms(until),
            _ms(settled_before),
            _ms(now),
        )
        found = [await self.get(int(r["id"])) for r in sorted(rows, key=lambda r: int(r["id"]))]
        return [r for r in found if r is not None]

    async def prune(self, finished_before: float) -> int:
        cutoff = _ms(finished_before)
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
        return _count(status)

    async def erase_spent_secrets(self, now: float) -> int:
        status = await self._pool.execute(
            "UPDATE follow_ups SET"
            " interaction_token = CASE WHEN token_expires_ms <= $1 OR delivered THEN ''"
            " ELSE interaction_token END,"
            " callback_token = CASE WHEN state = 'pending' THEN callback_token END"
            " WHERE (interaction_token <> '' AND (token_expires_ms <= $1 OR delivered))"
            " OR (callback_token IS NOT NULL AND state <> 'pending')",
            _ms(now),
        )
        return _count(status)

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
        return _count(stripped) + _count(deleted)

    async def first_delivery(self, webhook_id: str, now: float) -> bool:
        taken = await self._pool.fetchval(
            "INSERT INTO webhook_deliveries (webhook_id, received_ms) VALUES ($1, $2)"
            " ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id",
            webhook_id,
            _ms(now),
        )
        return taken is not None

    async def raise_alert(self, name: str, now: float) -> bool:
        raised = await self._pool.fetchval(
            "INSERT INTO owner_alerts (name, raised_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name",
            name,
            _ms(now),
        )
        return raised is not None

    async def clear_alert(self, name: str) -> None:
        await self._pool.execute("DELETE FROM owner_alerts WHERE name = $1", name)
