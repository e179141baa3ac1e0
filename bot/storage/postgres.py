"""The upload log on a PostgreSQL server (asyncpg), shared by every instance of the bot.

Claims (which instance polls an overdue task, which one retries an unshown answer) are single statements
over rows locked with `FOR UPDATE SKIP LOCKED`: two instances asking at once get disjoint rows.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import asyncpg

from bot.domain.errors import ErrorKind
from bot.domain.pace import Pace
from bot.domain.ports import AlreadyRecorded
from bot.domain.records import PendingBrief, UploadRecord, UploadState
from bot.storage.departed import forget_departed
from bot.storage.errors import StoreUnavailable
from bot.storage.migrations import migrations
from bot.storage.paces import keep_pace, paces_since
from bot.storage.rows import PENDING_BRIEFS, UPLOAD_INSERTED, Row, upload_record, upload_values

_INSERTED = UPLOAD_INSERTED
#: Serializes migrations of instances that start at once (an arbitrary, fixed advisory lock key).
_MIGRATION_LOCK = 0x6D75_7369_6362_6F74
#: Heartbeats of instances take turns under this advisory lock (each decides knowing what others hold).
_HEARTBEAT_LOCK = _MIGRATION_LOCK + 1
#: Instance names are held under this advisory lock class (one process per name).
_NAME_LOCK = 0x6E61
#: Connections each instance may hold.
POOL_SIZE = 10


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """A connection that goes back to the pool without asyncpg's reset query (`SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`): one more round trip after every
    statement, for session state the store never leaves on a pooled connection (no SET, LISTEN, cursor
    or session lock; the instance name's lock is on a connection kept out of the pool). A transaction
    left open is still rolled back on release."""

    def get_reset_query(self) -> str:
        return ""

    _get_reset_query = get_reset_query  # the same, by its name before asyncpg 0.30


def changed_rows(status: str) -> int:
    """The number of rows a statement changed, from its status (`DELETE 3`, `UPDATE 0`)."""
    return int(status.rsplit(" ", 1)[-1])


class PostgresRunner:
    """Runs the shared statements on PostgreSQL, on the pool or on one connection in a transaction."""

    skip_locked = " FOR UPDATE SKIP LOCKED"
    json_values = "jsonb_array_elements_text(CAST({} AS JSONB))"

    def __init__(self, target: Any) -> None:
        self._target = target  # an asyncpg Pool or Connection: both run statements alike

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._target.fetch(sql, *args))

    async def execute(self, sql: str, *args: Any) -> int:
        return changed_rows(await self._target.execute(sql, *args))

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self._target.executemany(sql, args)

    @contextlib.asynccontextmanager
    async def serialized(self, *locks: tuple[int, str]) -> AsyncIterator[PostgresRunner]:
        """One connection in a transaction, holding advisory locks on `locks` until it commits: all taken
        in one statement, in the order given (a select list is evaluated left to right)."""
        pool = self._target
        async with pool.acquire() as conn, conn.transaction():
            if locks:
                await conn.execute(_lock_sql(len(locks)), *(part for lock in locks for part in lock))
            yield PostgresRunner(conn)


@functools.cache
def _lock_sql(count: int) -> str:
    """One statement taking `count` two-key advisory locks, `$1, hashtext($2)` first."""
    taken = (f"pg_advisory_xact_lock(${2 * n + 1}, hashtext(${2 * n + 2}))" for n in range(count))
    return "SELECT " + ", ".join(taken)


class PostgresUploadStore:
    """The upload log in PostgreSQL: one pool of connections per instance."""

    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], float] = time.time) -> None:
        self._pool = pool
        self._clock = clock
        #: Connections holding an instance name's lock (for the life of the process).
        self._names: dict[str, asyncpg.Connection] = {}
        self._runner = PostgresRunner(pool)

    @classmethod
    async def open(cls, url: str, clock: Callable[[], float] = time.time) -> PostgresUploadStore:
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=POOL_SIZE, timeout=10, connection_class=PooledConnection
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise StoreUnavailable(f"cannot reach the PostgreSQL server: {exc}") from exc
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, RuntimeError) as exc:
            await pool.close()
            raise StoreUnavailable(f"cannot use the PostgreSQL database: {exc}") from exc
        except BaseException:
            await pool.close()
            raise
        return cls(pool, clock)

    async def add(self, record: UploadRecord) -> UploadRecord:
        record.created_at = record.updated_at = self._clock()
        placeholders = ", ".join(f"${i}" for i in range(1, len(_INSERTED) + 1))
        record.id = await self._pool.fetchval(
            f"INSERT INTO uploads ({', '.join(_INSERTED)}) VALUES ({placeholders})"  # noqa: S608
            " ON CONFLICT (interaction_id, position) DO NOTHING RETURNING id",
            *upload_values(record),
        )
        if record.id is None:
            raise AlreadyRecorded(record.interaction_id)
        return record

    async def finish(
        self,
        upload_id: int,
        *,
        clip_id: str | None = None,
        error_kind: ErrorKind | None = None,
        detail: str = "",
    ) -> bool:
        state = UploadState.SUCCEEDED if clip_id else UploadState.FAILED
        kind = None if clip_id or error_kind is None else error_kind.value
        changed = await self._pool.fetchval(
            "UPDATE uploads SET state = $2, clip_id = $3, error_kind = $4, error_detail = $5, updated_at = $6"
            " WHERE id = $1 AND state = 'pending' RETURNING id",
            upload_id,
            state.value,
            clip_id,
            kind,
            detail or None,
            self._clock(),
        )
        return changed is not None

    async def set_task(self, upload_id: int, task_id: str) -> None:
        await self._pool.execute(
            "UPDATE uploads SET task_id = $2, updated_at = $3 WHERE id = $1",
            upload_id,
            task_id,
            self._clock(),
        )

    async def mark_delivered(self, interaction_id: int) -> None:
        await self._pool.execute(
            "UPDATE uploads SET delivered = TRUE WHERE interaction_id = $1 AND state != 'pending'",
            interaction_id,
        )

    async def _select(self, where: str, *params: Any) -> list[UploadRecord]:
        rows = await self._pool.fetch(f"SELECT * FROM uploads WHERE {where}", *params)  # noqa: S608
        return [upload_record(row) for row in rows]

    async def get(self, upload_id: int) -> UploadRecord | None:
        found = await self._select("id = $1", upload_id)
        return found[0] if found else None

    async def by_interaction(self, interaction_id: int) -> list[UploadRecord]:
        return await self._select("interaction_id = $1 ORDER BY position", interaction_id)

    async def pending(self) -> list[UploadRecord]:
        return await self._select("state = 'pending' ORDER BY id")

    async def pending_briefs(self) -> list[PendingBrief]:
        return [PendingBrief(*row) for row in await self._pool.fetch(PENDING_BRIEFS)]

    async def history(self, user_id: int, *, limit: int, offset: int = 0) -> list[UploadRecord]:
        return await self._select("user_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3", user_id, limit, offset)

    async def pending_count(self, user_id: int, *, other_than: str) -> int:
        count = await self._pool.fetchval(
            "SELECT count(*) FROM uploads WHERE user_id = $1 AND state = 'pending' AND instance != $2",
            user_id,
            other_than,
        )
        return int(count)

    async def claim_polls(self, upload_ids: Sequence[int], *, now: float, until: float) -> set[int]:
        rows = await self._pool.fetch(
            "UPDATE uploads SET next_poll_at = $3 WHERE id IN ("
            " SELECT id FROM uploads WHERE id = ANY($1::bigint[]) AND state = 'pending' AND next_poll_at <= $2"
            " FOR UPDATE SKIP LOCKED) RETURNING id",
            list(upload_ids),
            now,
            until,
        )
        return {int(row["id"]) for row in rows}

    async def claim_undelivered(self, *, settled_before: float, now: float, until: float) -> list[int]:
        # An answer is a whole message: its rows are claimed together, by whoever holds the interaction's
        # advisory lock (the rows of one message never go to two instances). The outer `retry_at` check is
        # evaluated again on a row another instance has just claimed, so a late claim comes back empty.
        rows = await self._pool.fetch(
            "UPDATE uploads SET retry_at = $3 WHERE interaction_id IN ("
            " SELECT interaction_id FROM uploads WHERE NOT delivered AND state != 'pending'"
            " AND updated_at <= $1 AND retry_at <= $2 GROUP BY interaction_id"
            " HAVING pg_try_advisory_xact_lock(interaction_id))"
            " AND NOT delivered AND state != 'pending' AND retry_at <= $2"
            " RETURNING id, interaction_id",
            settled_before,
            now,
            until,
        )
        return list(dict.fromkeys(int(row["interaction_id"]) for row in sorted(rows, key=lambda r: r["id"])))

    async def heartbeat(
        self,
        instance: str,
        *,
        now: float,
        seen_since: float,
        hold: Callable[[dict[str, int]], int],
        pace: Pace | None = None,
    ) -> dict[str, int]:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _HEARTBEAT_LOCK)
            rows = await conn.fetch(
                "SELECT name, holding FROM instances WHERE seen_at >= $1 AND name != $2 ORDER BY name",
                seen_since,
                instance,
            )
            others = {str(row["name"]): int(row["holding"]) for row in rows}
            await conn.execute(
                "INSERT INTO instances (name, seen_at, holding) VALUES ($1, $2, $3)"
                " ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at, holding = excluded.holding",
                instance,
                now,
                hold(others),
            )
            if pace is not None:
                await keep_pace(PostgresRunner(conn), instance, pace)
        return others

    async def paces(self, *, measured_since: float) -> list[Pace]:
        return await paces_since(self._runner, measured_since)

    async def hold_name(self, instance: str) -> bool:
        # A session lock on a connection kept for it: the server lets it go when the connection ends.
        if instance in self._names:
            return True
        conn = await self._pool.acquire()
        if await conn.fetchval("SELECT pg_try_advisory_lock($1, hashtext($2))", _NAME_LOCK, instance):
            self._names[instance] = conn
            return True
        await self._pool.release(conn)
        return False

    async def leave(self, instance: str, *, pace: Pace | None = None) -> None:
        if pace is not None:
            await keep_pace(self._runner, instance, pace)
        await self._pool.execute("DELETE FROM instances WHERE name = $1", instance)

    async def forget_departed(self, before: float) -> int:
        return await forget_departed(self._runner, before)

    async def prune(self, finished_before: float) -> int:
        return changed_rows(
            await self._pool.execute(
                "DELETE FROM uploads WHERE state <> 'pending' AND updated_at < $1 AND NOT EXISTS ("
                " SELECT 1 FROM uploads AS other WHERE other.interaction_id = uploads.interaction_id"
                " AND (other.state = 'pending' OR other.updated_at >= $1))",
                finished_before,
            )
        )

    async def erase_spent_secrets(self, now: float) -> int:
        return changed_rows(
            await self._pool.execute(
                "UPDATE uploads SET"
                " interaction_token = CASE WHEN token_expires_at <= $1 OR delivered THEN ''"
                " ELSE interaction_token END,"
                " callback_token = CASE WHEN state = 'pending' THEN callback_token END"
                " WHERE (interaction_token <> '' OR callback_token IS NOT NULL)"
                " AND ((interaction_token <> '' AND (token_expires_at <= $1 OR delivered))"
                " OR (callback_token IS NOT NULL AND state <> 'pending'))",
                now,
            )
        )

    async def forget_member(self, user_id: int) -> int:
        return changed_rows(
            await self._pool.execute(
                "DELETE FROM uploads WHERE user_id = $1 AND interaction_id NOT IN ("
                " SELECT interaction_id FROM uploads WHERE user_id = $1 AND state = 'pending')",
                user_id,
            )
        )

    @property
    def runner(self) -> PostgresRunner:
        """Runs the statements of the other tables in the same database (follow-ups, the day's spend) on
        the same pool."""
        return self._runner

    async def ping(self) -> bool:
        try:
            return bool(await self._pool.fetchval("SELECT 1", timeout=5))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            return False

    async def close(self) -> None:
        for conn in self._names.values():
            # The names' locks (not reset on release); a connection already gone has let them go.
            with contextlib.suppress(Exception):
                await conn.execute("SELECT pg_advisory_unlock_all()")
                await self._pool.release(conn)
        self._names.clear()
        await self._pool.close()


async def migrate(conn: asyncpg.Connection) -> int:
    """Bring the schema up to the newest migration; return the version reached.

    Each file runs in its own transaction with its version recorded in `schema_version`. Instances that
    start together take turns through an advisory lock, so each step runs once.
    """
    steps = migrations("postgres")
    newest = len(steps)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        version = await conn.fetchval("SELECT max(version) FROM schema_version") or 0
        if version > newest:
            raise RuntimeError(f"the database is at schema version {version}, newer than this bot ({newest})")
        for step in steps[version:]:
            async with conn.transaction():
                await conn.execute(step.sql)
                await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", step.version)
    return newest
