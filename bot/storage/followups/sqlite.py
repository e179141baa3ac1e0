"""Follow-ups in the same SQLite file as the upload log (sharing its aiosqlite connection).

Every step that must not interleave with another instance's is one statement: reserving (budget and
cooldown checked in the INSERT itself), settling (only a pending row changes), claiming due polls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import aiosqlite

from bot.domain.errors import ErrorKind
from bot.domain.followups.records import FollowUpRecord, FollowUpState, Song
from bot.storage.rows import (
    FOLLOW_UP_INSERTED,
    SONG_FIELDS,
    follow_up_record,
    follow_up_values,
    ms,
    seconds,
)
from bot.storage.rows import song as song_from_row


class SQLiteFollowUpStore:
    """The domain's `FollowUpStore` in SQLite."""

    def __init__(self, db: aiosqlite.Connection, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def reserve(
        self, record: FollowUpRecord, *, day: str, daily_budget: int, cooldown_since: float
    ) -> FollowUpRecord | None:
        now = self._clock()
        values = follow_up_values(record)
        values += [
            record.budget_guild, day, ms(record.token_expires_at), ms(now), ms(now), ms(record.next_poll_at)
        ]  # fmt: skip
        rows = await self._db.execute_fetchall(
            f"INSERT INTO follow_ups ({', '.join(FOLLOW_UP_INSERTED)}) SELECT {', '.join('?' * len(FOLLOW_UP_INSERTED))}"  # noqa: S608
            " WHERE (? = 0 OR (SELECT COALESCE(SUM(credits), 0) FROM follow_ups"
            "   WHERE budget_guild = ? AND budget_day = ?) + ? <= ?)"
            " AND NOT EXISTS (SELECT 1 FROM follow_ups WHERE user_id = ? AND created_ms >= ?"
            "   AND (state = 'pending' OR task_id IS NOT NULL))"
            " RETURNING id",
            [
                *values,
                daily_budget, record.budget_guild, day, record.credits, daily_budget,
                record.user_id, ms(cooldown_since),
            ],
        )  # fmt: skip
        if not rows:
            return None
        return await self.get(int(next(iter(rows))[0]))

    async def spent(self, budget_guild: int, day: str) -> int:
        rows = await self._db.execute_fetchall(
            "SELECT COALESCE(SUM(credits), 0) FROM follow_ups WHERE budget_guild = ? AND budget_day = ?",
            (budget_guild, day),
        )
        return int(next(iter(rows))[0])

    async def spent_by_guild(self, day: str) -> dict[int, int]:
        rows = await self._db.execute_fetchall(
            "SELECT budget_guild, SUM(credits) FROM follow_ups WHERE budget_day = ?"
            " GROUP BY budget_guild ORDER BY budget_guild",
            (day,),
        )
        return {int(r[0]): int(r[1]) for r in rows}

    async def last_started(self, user_id: int) -> float | None:
        rows = await self._db.execute_fetchall(
            "SELECT MAX(created_ms) FROM follow_ups WHERE user_id = ?"
            " AND (state = 'pending' OR task_id IS NOT NULL)",
            (user_id,),
        )
        value = next(iter(rows))[0]
        return None if value is None else seconds(int(value))

    async def set_task(self, follow_up_id: int, task_id: str, next_poll_at: float) -> None:
        await self._db.execute(
            "UPDATE follow_ups SET task_id = ?, next_poll_ms = ?, updated_ms = ? WHERE id = ? AND state = 'pending'",
            (task_id, ms(next_poll_at), ms(self._clock()), follow_up_id),
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
        if songs:
            # Songs first, each once: a crash before the state changes leaves them for the next try.
            width = len(SONG_FIELDS) + 1
            rows = ", ".join(["(" + ", ".join("?" * width) + ")"] * len(songs))
            await self._db.execute(
                f"WITH v(follow_up_id, {', '.join(SONG_FIELDS)}) AS (VALUES {rows})"  # noqa: S608
                f" INSERT INTO follow_up_songs (follow_up_id, {', '.join(SONG_FIELDS)})"
                f" SELECT follow_up_id, {', '.join(SONG_FIELDS)} FROM v WHERE EXISTS"
                "  (SELECT 1 FROM follow_ups WHERE id = ? AND state = 'pending')"
                " ON CONFLICT (follow_up_id, position) DO NOTHING",
                [
                    *(
                        value
                        for position, s in enumerate(songs)
                        for value in (
                            follow_up_id,
                            position,
                            s.clip_id,
                            s.title,
                            s.duration,
                            s.audio_url,
                            s.tags,
                        )
                    ),
                    follow_up_id,
                ],
            )
        changed = await self._db.execute_fetchall(
            "UPDATE follow_ups SET state = ?, error_kind = ?, error_detail = ?,"
            " credits = CASE WHEN ? = 1 THEN 0 ELSE credits END, updated_ms = ?"
            " WHERE id = ? AND state = 'pending' RETURNING id",
            (
                state.value,
                error_kind.value if error_kind else None,
                detail or None,
                1 if refund else 0,
                ms(self._clock()),
                follow_up_id,
            ),
        )
        return bool(list(changed))

    async def claim_due(self, now: float, *, next_poll_at: float, limit: int) -> list[FollowUpRecord]:
        rows = await self._db.execute_fetchall(
            "UPDATE follow_ups SET next_poll_ms = ? WHERE id IN (SELECT id FROM follow_ups"
            " WHERE state = 'pending' AND next_poll_ms <= ? ORDER BY next_poll_ms, id LIMIT ?)"
            " RETURNING *",
            (ms(next_poll_at), ms(now), limit),
        )
        return sorted((follow_up_record(r) for r in rows), key=lambda r: r.key)

    async def get(self, follow_up_id: int) -> FollowUpRecord | None:
        rows = list(await self._db.execute_fetchall("SELECT * FROM follow_ups WHERE id = ?", (follow_up_id,)))
        if not rows:
            return None
        songs = await self._db.execute_fetchall(
            "SELECT * FROM follow_up_songs WHERE follow_up_id = ? ORDER BY position", (follow_up_id,)
        )
        return follow_up_record(rows[0], [song_from_row(s) for s in songs])

    async def song(self, song_id: int) -> tuple[Song, FollowUpRecord] | None:
        rows = list(await self._db.execute_fetchall("SELECT * FROM follow_up_songs WHERE id = ?", (song_id,)))
        if not rows:
            return None
        made_by = await self.get(int(rows[0]["follow_up_id"]))
        if made_by is None or made_by.state is not FollowUpState.SUCCEEDED:
            return None
        return song_from_row(rows[0]), made_by

    async def mark_delivered(self, follow_up_id: int) -> None:
        await self._db.execute(
            "UPDATE follow_ups SET delivered = 1 WHERE id = ? AND state != 'pending'", (follow_up_id,)
        )

    async def claim_undelivered(
        self, *, settled_before: float, now: float, until: float
    ) -> list[FollowUpRecord]:
        rows = await self._db.execute_fetchall(
            "UPDATE follow_ups SET retry_ms = ? WHERE delivered = 0 AND state != 'pending' AND updated_ms <= ?"
            " AND retry_ms <= ? RETURNING id",
            (ms(until), ms(settled_before), ms(now)),
        )
        found = [await self.get(int(r[0])) for r in sorted(rows, key=lambda r: int(r[0]))]
        return [r for r in found if r is not None]

    async def prune(self, finished_before: float) -> int:
        cutoff = ms(finished_before)
        await self._db.execute("DELETE FROM webhook_deliveries WHERE received_ms < ?", (cutoff,))
        await self._db.execute(
            "DELETE FROM follow_up_songs WHERE follow_up_id IN (SELECT id FROM follow_ups"
            " WHERE state != 'pending' AND updated_ms < ?)",
            (cutoff,),
        )
        async with self._db.execute(
            "DELETE FROM follow_ups WHERE state != 'pending' AND updated_ms < ?", (cutoff,)
        ) as cursor:
            return int(cursor.rowcount)

    async def erase_spent_secrets(self, now: float) -> int:
        async with self._db.execute(
            "UPDATE follow_ups SET"
            " interaction_token = CASE WHEN token_expires_ms <= ? OR delivered = 1 THEN ''"
            " ELSE interaction_token END,"
            " callback_token = CASE WHEN state = 'pending' THEN callback_token END"
            " WHERE (interaction_token <> '' AND (token_expires_ms <= ? OR delivered = 1))"
            " OR (callback_token IS NOT NULL AND state <> 'pending')",
            (ms(now), ms(now)),
        ) as cursor:
            return int(cursor.rowcount)

    async def forget_member(self, user_id: int, *, keep_day: str) -> int:
        await self._db.execute(
            "DELETE FROM follow_up_songs WHERE follow_up_id IN (SELECT id FROM follow_ups"
            " WHERE user_id = ? AND state != 'pending')",
            (user_id,),
        )
        async with self._db.execute(
            "UPDATE follow_ups SET source_label = '', source_clip_id = '', error_detail = NULL,"
            " interaction_token = '' WHERE user_id = ? AND state != 'pending' AND budget_day = ?",
            (user_id, keep_day),
        ) as cursor:
            stripped = int(cursor.rowcount)
        async with self._db.execute(
            "DELETE FROM follow_ups WHERE user_id = ? AND state != 'pending' AND budget_day != ?",
            (user_id, keep_day),
        ) as cursor:
            return stripped + int(cursor.rowcount)

    async def first_delivery(self, webhook_id: str, now: float) -> bool:
        rows = await self._db.execute_fetchall(
            "INSERT INTO webhook_deliveries (webhook_id, received_ms) VALUES (?, ?)"
            " ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id",
            (webhook_id, ms(now)),
        )
        return bool(list(rows))

    async def forget_delivery(self, webhook_id: str) -> None:
        await self._db.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", (webhook_id,))

    async def raise_alert(self, name: str, now: float) -> bool:
        rows = await self._db.execute_fetchall(
            "INSERT INTO owner_alerts (name, raised_ms) VALUES (?, ?) ON CONFLICT (name) DO NOTHING RETURNING name",
            (name, ms(now)),
        )
        return bool(list(rows))

    async def clear_alert(self, name: str) -> None:
        await self._db.execute("DELETE FROM owner_alerts WHERE name = ?", (name,))
