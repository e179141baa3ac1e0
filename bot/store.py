"""The upload log: every upload the bot starts, its state, and what it takes to answer the member later.

`UploadStore` is the interface the rest of the bot uses; `SQLiteUploadStore` is the embedded backend.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import aiosqlite

T = TypeVar("T")
R = TypeVar("R")

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
#: The error kind of a file that was never sent (not audio enough, too large...); its detail is the sentence.
SKIPPED = "skipped"


@dataclass(slots=True)
class UploadRecord:
    """One source of one interaction. Several records share an interaction when a message had several files."""

    interaction_id: int
    application_id: int
    interaction_token: str
    token_expires_at: float
    user_id: int
    guild_id: int | None
    channel_id: int | None
    locale: str
    source_kind: str
    label: str
    position: int = 0
    batch_size: int = 1
    state: str = PENDING
    clip_id: str | None = None
    task_id: str | None = None
    error_kind: str | None = None
    error_detail: str | None = None
    callback_token: str | None = None
    delivered: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    id: int | None = None

    @property
    def key(self) -> int:
        """The row id; only records that came out of the store have one."""
        if self.id is None:
            raise ValueError("this upload record was never stored")
        return self.id

    @property
    def finished(self) -> bool:
        return self.state != PENDING


class StoreUnavailable(Exception):
    """The upload log cannot be opened (a bad path, no permission, a newer schema)."""


class UploadStore(Protocol):
    async def add(self, record: UploadRecord) -> UploadRecord: ...
    async def finish(
        self, upload_id: int, *, clip_id: str | None = None, error_kind: str | None = None, detail: str = ""
    ) -> bool:
        """Mark a pending upload succeeded (clip_id) or failed (error_kind); False if it was not pending."""
        ...

    async def set_task(self, upload_id: int, task_id: str) -> None: ...
    async def mark_delivered(self, interaction_id: int) -> None: ...
    async def get(self, upload_id: int) -> UploadRecord | None: ...
    async def by_interaction(self, interaction_id: int) -> list[UploadRecord]: ...
    async def pending(self) -> list[UploadRecord]: ...
    async def undelivered(self) -> list[UploadRecord]: ...
    async def history(self, user_id: int, *, limit: int, offset: int = 0) -> list[UploadRecord]: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


# Each entry moves the schema one version up; `PRAGMA user_version` records how far a file has come.
MIGRATIONS: Sequence[str] = (
    # 1: the upload log of the sync-only bot.
    """
    CREATE TABLE uploads (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        interaction_id INTEGER NOT NULL,
        application_id INTEGER NOT NULL,
        interaction_token TEXT NOT NULL,
        token_expires_at REAL NOT NULL,
        user_id INTEGER NOT NULL,
        guild_id INTEGER,
        channel_id INTEGER,
        source_kind TEXT NOT NULL,
        label TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
        clip_id TEXT,
        error_kind TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX uploads_by_user ON uploads (user_id, id DESC);
    """,
    # 2: callback mode, several files per interaction, localized late answers.
    """
    ALTER TABLE uploads ADD COLUMN task_id TEXT;
    ALTER TABLE uploads ADD COLUMN callback_token TEXT;
    ALTER TABLE uploads ADD COLUMN error_detail TEXT;
    ALTER TABLE uploads ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE uploads ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE uploads ADD COLUMN batch_size INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE uploads ADD COLUMN locale TEXT NOT NULL DEFAULT 'en-US';
    UPDATE uploads SET delivered = 1 WHERE state != 'pending';
    CREATE INDEX uploads_by_interaction ON uploads (interaction_id, position);
    CREATE INDEX uploads_pending ON uploads (state) WHERE state = 'pending';
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_COLUMNS = tuple(f.name for f in dataclasses.fields(UploadRecord))


#: SQLite's limit on parameters in one statement (32766) over the widest row written in batches.
MAX_BATCH = 32766 // len(_COLUMNS)


def _placeholders(rows: int, width: int) -> str:
    """`(?, ?), (?, ?)` for rows=2, width=2: the VALUES of a multi-row statement."""
    one = "(" + ", ".join("?" * width) + ")"
    return ", ".join([one] * rows)


class Batched(Generic[T, R]):
    """Calls made in one turn of the event loop run together: `run` gets all their items and returns
    one result per item, in order."""

    def __init__(self, run: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self._run = run
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if len(self._waiting) == 1:
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        if self._waiting:
            asyncio.get_running_loop().call_soon(self._flush)
        task = asyncio.ensure_future(self._settle(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _settle(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _record(row: aiosqlite.Row) -> UploadRecord:
    values: dict[str, Any] = {name: row[name] for name in _COLUMNS}
    values["delivered"] = bool(values["delivered"])
    return UploadRecord(**values)


class SQLiteUploadStore:
    """The upload log in one SQLite file (WAL mode), through aiosqlite's worker thread."""

    def __init__(self, db: aiosqlite.Connection, clock: Any = time.time) -> None:
        self._db = db
        self._clock = clock
        self._inserts = Batched(self._insert_many)
        self._finishes = Batched(self._finish_many)
        self._task_ids = Batched(self._set_task_many)
        self._deliveries = Batched(self._deliver_many)
        self._gets = Batched(self._get_many)

    @classmethod
    async def open(cls, path: Path) -> SQLiteUploadStore:
        try:
            return await cls._open(path)
        except (OSError, sqlite3.Error, RuntimeError) as exc:
            raise StoreUnavailable(f"cannot open the upload log at {path}: {exc}") from exc

    @classmethod
    async def _open(cls, path: Path) -> SQLiteUploadStore:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: each write is its own transaction, one trip to aiosqlite's thread instead of two.
        db = await aiosqlite.connect(path, isolation_level=None)
        db.row_factory = aiosqlite.Row
        try:
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA busy_timeout = 5000")
            await migrate(db)
        except BaseException:
            await db.close()
            raise
        return cls(db)

    async def add(self, record: UploadRecord) -> UploadRecord:
        now = self._clock()
        record = dataclasses.replace(record, created_at=now, updated_at=now)
        record.id = await self._inserts(record)
        return record

    async def finish(
        self, upload_id: int, *, clip_id: str | None = None, error_kind: str | None = None, detail: str = ""
    ) -> bool:
        state = SUCCEEDED if clip_id else FAILED
        row = (upload_id, state, clip_id, None if clip_id else error_kind, detail or None, self._clock())
        return await self._finishes(row)

    async def set_task(self, upload_id: int, task_id: str) -> None:
        await self._task_ids((upload_id, task_id, self._clock()))

    async def mark_delivered(self, interaction_id: int) -> None:
        await self._deliveries(interaction_id)

    # Writes made in the same turn of the event loop go to the worker thread as one statement: under a
    # burst that is one trip (and one WAL commit) for many uploads instead of one each.

    async def _insert_many(self, records: list[UploadRecord]) -> list[int]:
        names = [n for n in _COLUMNS if n != "id"]
        row = f"({', '.join('?' for _ in names)})"
        rows = await self._db.execute_fetchall(
            f"INSERT INTO uploads ({', '.join(names)}) VALUES {', '.join(row for _ in records)}"  # noqa: S608
            " RETURNING id, interaction_id, position",
            [getattr(r, n) for r in records for n in names],
        )
        ids = {(int(r[1]), int(r[2])): int(r[0]) for r in rows}
        return [ids[(r.interaction_id, r.position)] for r in records]

    async def _finish_many(self, rows: list[tuple[Any, ...]]) -> list[bool]:
        first = {row[0]: i for i, row in reversed(list(enumerate(rows)))}  # a duplicate in one batch loses
        unique = [rows[i] for i in sorted(first.values())]
        changed = await self._db.execute_fetchall(
            f"WITH v(id, state, clip_id, kind, detail, at) AS (VALUES {_placeholders(len(unique), 6)})"  # noqa: S608
            " UPDATE uploads SET state = v.state, clip_id = v.clip_id, error_kind = v.kind,"
            " error_detail = v.detail, updated_at = v.at FROM v"
            " WHERE uploads.id = v.id AND uploads.state = 'pending' RETURNING uploads.id",
            [value for row in unique for value in row],
        )
        done = {int(r[0]) for r in changed}
        return [row[0] in done and first[row[0]] == i for i, row in enumerate(rows)]

    async def _set_task_many(self, rows: list[tuple[int, str, float]]) -> list[None]:
        await self._db.execute_fetchall(
            f"WITH v(id, task_id, at) AS (VALUES {_placeholders(len(rows), 3)})"  # noqa: S608
            " UPDATE uploads SET task_id = v.task_id, updated_at = v.at FROM v WHERE uploads.id = v.id",
            [value for row in rows for value in row],
        )
        return [None] * len(rows)

    async def _deliver_many(self, interaction_ids: list[int]) -> list[None]:
        await self._db.execute_fetchall(
            f"UPDATE uploads SET delivered = 1 WHERE interaction_id IN ({', '.join('?' * len(interaction_ids))})"  # noqa: S608
            " AND state != 'pending'",
            interaction_ids,
        )
        return [None] * len(interaction_ids)

    async def _select(self, where: str, params: Sequence[Any] = ()) -> list[UploadRecord]:
        rows = await self._db.execute_fetchall(f"SELECT * FROM uploads WHERE {where}", params)  # noqa: S608
        return [_record(row) for row in rows]

    async def get(self, upload_id: int) -> UploadRecord | None:
        return await self._gets(upload_id)

    async def _get_many(self, ids: list[int]) -> list[UploadRecord | None]:
        found = {r.key: r for r in await self._select(f"id IN ({', '.join('?' * len(ids))})", ids)}
        # Each caller gets its own copy: callers update their record in place.
        return [dataclasses.replace(found[i]) if i in found else None for i in ids]

    async def by_interaction(self, interaction_id: int) -> list[UploadRecord]:
        return await self._select("interaction_id = ? ORDER BY position", (interaction_id,))

    async def pending(self) -> list[UploadRecord]:
        return await self._select("state = 'pending' ORDER BY id")

    async def undelivered(self) -> list[UploadRecord]:
        return await self._select("delivered = 0 AND state != 'pending' ORDER BY id")

    async def history(self, user_id: int, *, limit: int, offset: int = 0) -> list[UploadRecord]:
        return await self._select("user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?", (user_id, limit, offset))

    async def ping(self) -> bool:
        try:
            return bool(await self._db.execute_fetchall("SELECT 1"))
        except (aiosqlite.Error, ValueError):
            return False

    async def close(self) -> None:
        await self._db.close()


async def migrate(db: aiosqlite.Connection) -> int:
    """Bring the schema up to SCHEMA_VERSION, one transaction per step; return the version reached."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"the database is at schema version {version}, newer than this bot ({SCHEMA_VERSION})"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        statements = [s.strip() for s in script.split(";") if s.strip()]
        await db.execute("BEGIN")
        try:
            for statement in statements:
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
    return SCHEMA_VERSION
