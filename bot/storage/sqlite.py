"""The upload log in one SQLite file (WAL mode), through aiosqlite's worker thread."""

from __future__ import annotations

import copy
import fcntl
import functools
import hashlib
import itertools
import json
import os
import pwd
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import aiosqlite

from bot.domain.errors import ErrorKind
from bot.domain.pace import Pace
from bot.domain.ports import AlreadyRecorded
from bot.domain.records import PendingBrief, UploadRecord, UploadState
from bot.storage.batching import Batched
from bot.storage.departed import forget_departed
from bot.storage.errors import StoreUnavailable
from bot.storage.migrations import migrations
from bot.storage.paces import keep_pace, paces_since
from bot.storage.rows import PENDING_BRIEFS, UPLOAD_INSERTED, Row, upload_record, upload_values

#: The most parameters one batched statement takes (SQLite allows 32766): 16 uploads recorded at once (25
#: columns each), 64 settled. The connection keeps up to 128 statements it prepared (one per batch size,
#: see `_padded`), and a statement's memory grows with its placeholders: with up to 1,024 rows a
#: statement, a burst of 200 went in statements of 256 rows (6,400 placeholders), and the store's thread
#: held 0.8-0.9 MiB more at the burst's peak than before it; 0.3 MiB with this cap. A burst's writes take
#: a few more statements in turn, at no measurable cost in instructions (README, "Last results"); a
#: longer burst's, no more memory.
MAX_PARAMETERS = 400


#: The parameters of each row of the batched settling (id, state, clip_id, kind, detail, at) and task id
#: (id, task_id, at) statements.
_SETTLED = 6
_TASK_ID = 3


def max_rows(width: int) -> int:
    """The most rows of `width` parameters one batched statement takes: a power of two (see `_padded`)."""
    return 1 << (MAX_PARAMETERS // width).bit_length() - 1


#: How long the mark that an answer was shown waits for the marks of other answers, to go in one
#: statement. A crash inside it leaves the answer unmarked: the restart shows it again by editing the
#: same message with the same words (its token is minutes from expiring), so no member sees it twice.
DELIVERED_WINDOW = 0.05
#: How long each other write of the upload path (record, settle, task id) waits for others of its kind.
#: A burst's uploads then go many to a statement (see MAX_PARAMETERS) and a trip through the store's
#: thread, and each trip costs the event loop as well as the thread (benchmarks/floor.py, when this came:
#: 0.24 -> 0.06 statements and about 0.17 ms of CPU less per upload). An upload alone answers up to 40 ms
#: later (its record and its settlement each wait), against MusicAPI's seconds. Nothing is lost to a
#: crash inside the window: a record not yet written was not sent, a settlement not yet written was not
#: shown.
WRITE_WINDOW = 0.02


@functools.cache  # a few sizes (see `_padded`)
def _placeholders(rows: int, width: int) -> str:
    """`(?, ?), (?, ?)` for rows=2, width=2: the VALUES of a multi-row statement."""
    one = "(" + ", ".join("?" * width) + ")"
    return ", ".join([one] * rows)


def _padded(rows: Sequence[Sequence[Any]], width: int) -> tuple[int, list[Any]]:
    """The rows of a batched statement as its parameters, made up with rows of NULLs (which match and
    insert nothing) to the next power of two, and that number of rows. A statement text per batch size
    had SQLite prepare one for nearly every batch, and keep up to 128 of them, hundreds of placeholders
    each (8.5 MiB for batches of 1 to 64 rows; 2.2 MiB in seven sizes)."""
    count = 1 << (len(rows) - 1).bit_length()
    values = list(itertools.chain.from_iterable(rows))
    values += [None] * ((count - len(rows)) * width)
    return count, values


def current_user() -> str:
    """Who the bot runs as, for a message about a file or folder it cannot read or write."""
    uid = os.geteuid()
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _writable_folder(folder: Path) -> None:
    """Make the upload log's folder if needed; StoreUnavailable naming the folder and the bot's user when
    it cannot be made or written (a volume owned by another user, a read-only mount)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise StoreUnavailable(
            f"cannot create the data folder {folder.resolve()}: the bot runs as user {current_user()}, who may not "
            "create it (create it, and give it to that user)"
        ) from None
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        raise StoreUnavailable(
            f"cannot write the data folder {folder.resolve()}: the bot runs as user {current_user()}, who may not "
            f"write there (chown or chmod it for that user)"
        )


#: A statement only a SQLite with its JSON functions runs (built in since 3.38; RETURNING, which the
#: store also needs, came in 3.35, and most builds between had JSON1 compiled in).
JSON_PROBE = "SELECT value FROM json_each('[]')"


def _bind_nulls_directly() -> None:
    """Bind None (NULL) and booleans without sqlite3's search for a way to adapt them.

    Python 3.11's sqlite3 binds only exact ints, floats and strings as they are; for anything else,
    None included, it looks for `__adapt__` on its protocol class, which raises and formats an
    AttributeError it then drops. A sync upload binds some 28 NULLs (its row's empty columns, and the
    rows that pad a batch): 34,000 instructions an upload, 0.8 % of them. A registered adapter is found
    first: for None one that returns None in C (an empty dict's `get`), for a boolean `int`, which is what
    sqlite3 would bind in the end. (Process-wide, as sqlite3's adapters are; nothing else here uses them.)
    """
    sqlite3.register_adapter(type(None), cast(Callable[[None], None], {}.get))
    sqlite3.register_adapter(bool, int)


async def _check_json(db: aiosqlite.Connection) -> None:
    """The day's spend reads its batches with `json_each`: a SQLite without it is named at startup
    rather than failing the first upload."""
    try:
        await db.execute(JSON_PROBE)
    except sqlite3.OperationalError:
        raise RuntimeError(
            f"this Python's SQLite ({sqlite3.sqlite_version}) has no JSON functions: the bot needs SQLite "
            "3.38 or later, or a build with JSON1"
        ) from None


_PLACEHOLDER = re.compile(r"\$(\d+)")


def _numbered(match: re.Match[str]) -> str:
    return "?" + match[1]


class SQLiteRunner:
    """Runs the shared statements on SQLite: `$1` read as `?1`. Each statement is atomic and one
    connection runs them one at a time, so `serialized` needs no lock: every step the store takes
    in several statements tolerates another step between them (a pending row changes only once)."""

    skip_locked = ""
    json_values = "json_each({})"

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._sql: dict[str, str] = {}

    def _own(self, sql: str) -> str:
        own = self._sql.get(sql)
        if own is None:
            own = self._sql[sql] = _PLACEHOLDER.sub(_numbered, sql)
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


class SQLiteUploadStore:
    """The upload log in one SQLite file. Writes of one kind made within a few milliseconds (WRITE_WINDOW,
    DELIVERED_WINDOW), and lookups made in the same turn of the event loop, go to the worker thread as one
    statement: under a burst that is one trip (and one WAL commit) for many."""

    def __init__(
        self, db: aiosqlite.Connection, clock: Callable[[], float] = time.time, path: Path | None = None
    ) -> None:
        self._db = db
        self._path = path
        self._names: dict[str, int] = {}  # instance name -> the open file holding its lock
        self._clock = clock
        self._inserts = Batched(
            self._insert_many, max_batch=max_rows(len(UPLOAD_INSERTED)), window=WRITE_WINDOW
        )
        self._finishes = Batched(self._finish_many, max_batch=max_rows(_SETTLED), window=WRITE_WINDOW)
        self._task_ids = Batched(self._set_task_many, max_batch=max_rows(_TASK_ID), window=WRITE_WINDOW)
        # Answers are shown one by one as Discord takes each edit, rarely two in one turn of the event
        # loop: their marks wait a moment for one another (see DELIVERED_WINDOW).
        self._deliveries = Batched(self._deliver_many, max_batch=max_rows(1), window=DELIVERED_WINDOW)
        self._gets = Batched(self._get_many, max_batch=max_rows(1))
        self._runner = SQLiteRunner(db)

    @classmethod
    async def open(cls, path: Path) -> SQLiteUploadStore:
        try:
            return await cls._open(path)
        except (OSError, sqlite3.Error, RuntimeError) as exc:
            raise StoreUnavailable(f"cannot open the upload log at {path}: {exc}") from exc

    @classmethod
    async def _open(cls, path: Path) -> SQLiteUploadStore:
        if str(path) != ":memory:":
            _writable_folder(path.parent)
        _bind_nulls_directly()
        # Autocommit: each write is its own transaction, one trip to aiosqlite's thread instead of two.
        db = await aiosqlite.connect(path, isolation_level=None)
        db.row_factory = aiosqlite.Row
        try:
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA busy_timeout = 5000")
            await _check_json(db)
            await migrate(db)
        except BaseException:
            await db.close()
            raise
        return cls(db, path=None if str(path) == ":memory:" else path)

    async def add(self, record: UploadRecord) -> UploadRecord:
        record.created_at = record.updated_at = self._clock()
        record.id = await self._inserts(record)
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
        return await self._finishes((upload_id, state.value, clip_id, kind, detail or None, self._clock()))

    async def set_task(self, upload_id: int, task_id: str) -> None:
        await self._task_ids((upload_id, task_id, self._clock()))

    async def mark_delivered(self, interaction_id: int) -> None:
        await self._deliveries(interaction_id)

    # The upload path's statements (see `UploadService` for why each is needed): one INSERT per
    # recorded upload, one UPDATE when it is settled (and, in callback mode, one for its task id), one
    # UPDATE once its answer is shown; each a multi-row statement for every call made within its window
    # (WRITE_WINDOW, DELIVERED_WINDOW), one trip to aiosqlite's thread. A check made when an upload is
    # recorded (a unique column) belongs in this INSERT rather than in a statement of its own.
    async def _insert_many(self, records: list[UploadRecord]) -> list[int | None]:
        """Ids of the new rows; None for an interaction's upload recorded before (in this batch too)."""
        names = UPLOAD_INSERTED
        count, values = _padded([upload_values(r) for r in records], len(names))
        # The padding's rows have no interaction_id (column1): they are left out.
        rows = await self._db.execute_fetchall(
            f"INSERT INTO uploads ({', '.join(names)}) SELECT * FROM (VALUES {_placeholders(count, len(names))})"  # noqa: S608
            " WHERE column1 IS NOT NULL"
            " ON CONFLICT (interaction_id, position) DO NOTHING RETURNING id, interaction_id, position",
            values,
        )
        ids = {(int(r[1]), int(r[2])): int(r[0]) for r in rows}
        return [ids.pop((r.interaction_id, r.position), None) for r in records]

    async def _finish_many(self, rows: list[tuple[Any, ...]]) -> list[bool]:
        first = {row[0]: i for i, row in reversed(list(enumerate(rows)))}  # a duplicate in one batch loses
        unique = [rows[i] for i in sorted(first.values())]
        count, values = _padded(unique, _SETTLED)
        changed = await self._db.execute_fetchall(
            f"WITH v(id, state, clip_id, kind, detail, at) AS (VALUES {_placeholders(count, _SETTLED)})"  # noqa: S608
            " UPDATE uploads SET state = v.state, clip_id = v.clip_id, error_kind = v.kind,"
            " error_detail = v.detail, updated_at = v.at FROM v"
            " WHERE uploads.id = v.id AND uploads.state = 'pending' RETURNING uploads.id",
            values,
        )
        done = {int(r[0]) for r in changed}
        return [row[0] in done and first[row[0]] == i for i, row in enumerate(rows)]

    async def _set_task_many(self, rows: list[tuple[int, str, float]]) -> list[None]:
        count, values = _padded(rows, _TASK_ID)
        await self._db.execute_fetchall(
            f"WITH v(id, task_id, at) AS (VALUES {_placeholders(count, _TASK_ID)})"  # noqa: S608
            " UPDATE uploads SET task_id = v.task_id, updated_at = v.at FROM v WHERE uploads.id = v.id",
            values,
        )
        return [None] * len(rows)

    async def _deliver_many(self, interaction_ids: list[int]) -> list[None]:
        count, values = _padded([(i,) for i in interaction_ids], 1)
        await self._db.execute_fetchall(
            f"UPDATE uploads SET delivered = 1 WHERE interaction_id IN ({', '.join('?' * count)})"  # noqa: S608
            " AND state != 'pending'",
            values,
        )
        return [None] * len(interaction_ids)

    async def _select(self, where: str, params: Sequence[Any] = ()) -> list[UploadRecord]:
        rows = await self._db.execute_fetchall(f"SELECT * FROM uploads WHERE {where}", params)  # noqa: S608
        return [upload_record(row) for row in rows]

    async def get(self, upload_id: int) -> UploadRecord | None:
        return await self._gets(upload_id)

    async def _get_many(self, ids: list[int]) -> list[UploadRecord | None]:
        count, values = _padded([(i,) for i in ids], 1)
        found = {r.key: r for r in await self._select(f"id IN ({', '.join('?' * count)})", values)}
        # Each caller gets its own copy: callers update their record in place.
        return [copy.copy(found[i]) if i in found else None for i in ids]

    async def by_interaction(self, interaction_id: int) -> list[UploadRecord]:
        return await self._select("interaction_id = ? ORDER BY position", (interaction_id,))

    async def pending(self) -> list[UploadRecord]:
        return await self._select("state = 'pending' ORDER BY id")

    async def pending_briefs(self) -> list[PendingBrief]:
        rows = await self._db.execute_fetchall(PENDING_BRIEFS)
        return [PendingBrief(*row) for row in rows]

    async def pending_count(self, user_id: int, *, other_than: str) -> int:
        rows = await self._db.execute_fetchall(
            "SELECT count(*) FROM uploads WHERE user_id = ? AND state = 'pending' AND instance != ?",
            (user_id, other_than),
        )
        return int(next(iter(rows))[0])

    async def claim_polls(self, upload_ids: Sequence[int], *, now: float, until: float) -> set[int]:
        if not upload_ids:
            return set()
        # The ids as one JSON array: one statement text for any number of them (SQLite keeps each text it
        # prepared), and no limit on how many.
        rows = await self._db.execute_fetchall(
            "UPDATE uploads SET next_poll_at = ? WHERE id IN (SELECT value FROM json_each(?))"
            " AND state = 'pending' AND next_poll_at <= ? RETURNING id",
            (until, json.dumps([int(i) for i in upload_ids]), now),
        )
        return {int(row[0]) for row in rows}

    async def claim_undelivered(self, *, settled_before: float, now: float, until: float) -> list[int]:
        rows = await self._db.execute_fetchall(
            "UPDATE uploads SET retry_at = ? WHERE delivered = 0 AND state != 'pending' AND updated_at <= ?"
            " AND retry_at <= ? RETURNING id, interaction_id",
            (until, settled_before, now),
        )
        return list(dict.fromkeys(int(row[1]) for row in sorted(rows, key=lambda r: int(r[0]))))

    async def heartbeat(
        self,
        instance: str,
        *,
        now: float,
        seen_since: float,
        hold: Callable[[dict[str, int]], int],
        pace: Pace | None = None,
    ) -> dict[str, int]:
        # The write lock from the first statement on: another process's heartbeat waits for this one. Other
        # writes of this process made meanwhile join the transaction, so it always ends in COMMIT (never
        # a rollback that would take them back).
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            rows = await self._db.execute_fetchall(
                "SELECT name, holding FROM instances WHERE seen_at >= ? AND name != ? ORDER BY name",
                (seen_since, instance),
            )
            others = {str(row[0]): int(row[1]) for row in rows}
            await self._db.execute(
                "INSERT INTO instances (name, seen_at, holding) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at, holding = excluded.holding",
                (instance, now, hold(others)),
            )
            if pace is not None:
                await keep_pace(self._runner, instance, pace)
        finally:
            await self._db.execute("COMMIT")
        return others

    async def paces(self, *, measured_since: float) -> list[Pace]:
        return await paces_since(self._runner, measured_since)

    async def hold_name(self, instance: str) -> bool:
        # An exclusive lock on a file beside the database: the system lets it go when the process ends.
        if self._path is None or instance in self._names:
            return True
        digest = hashlib.sha256(instance.encode()).hexdigest()[:16]
        lock_path = self._path.with_name(f"{self._path.name}.{digest}.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._names[instance] = fd
        return True

    async def leave(self, instance: str, *, pace: Pace | None = None) -> None:
        if pace is not None:
            await keep_pace(self._runner, instance, pace)
        await self._db.execute("DELETE FROM instances WHERE name = ?", (instance,))

    async def forget_departed(self, before: float) -> int:
        return await forget_departed(self._runner, before)

    async def history(self, user_id: int, *, limit: int, offset: int = 0) -> list[UploadRecord]:
        return await self._select("user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?", (user_id, limit, offset))

    async def prune(self, finished_before: float) -> int:
        return await self._changed(
            "DELETE FROM uploads WHERE state <> 'pending' AND updated_at < ? AND NOT EXISTS ("
            " SELECT 1 FROM uploads AS other WHERE other.interaction_id = uploads.interaction_id"
            " AND (other.state = 'pending' OR other.updated_at >= ?))",
            (finished_before, finished_before),
        )

    async def erase_spent_secrets(self, now: float) -> int:
        # The first condition is implied by the second; it lets SQLite read only uploads_holding_secrets.
        return await self._changed(
            "UPDATE uploads SET"
            " interaction_token = CASE WHEN token_expires_at <= ? OR delivered = 1 THEN ''"
            " ELSE interaction_token END,"
            " callback_token = CASE WHEN state = 'pending' THEN callback_token END"
            " WHERE (interaction_token <> '' OR callback_token IS NOT NULL)"
            " AND ((interaction_token <> '' AND (token_expires_at <= ? OR delivered = 1))"
            " OR (callback_token IS NOT NULL AND state <> 'pending'))",
            (now, now),
        )

    async def forget_member(self, user_id: int) -> int:
        return await self._changed(
            "DELETE FROM uploads WHERE user_id = ? AND interaction_id NOT IN ("
            " SELECT interaction_id FROM uploads WHERE user_id = ? AND state = 'pending')",
            (user_id, user_id),
        )

    async def _changed(self, sql: str, params: Sequence[Any]) -> int:
        """Run one writing statement; return how many rows it changed."""
        async with self._db.execute(sql, params) as cursor:
            return int(cursor.rowcount)

    @property
    def runner(self) -> SQLiteRunner:
        """Runs the statements of the other tables in the same file (follow-ups, the day's spend) on the
        same connection."""
        return self._runner

    async def ping(self) -> bool:
        try:
            return bool(await self._db.execute_fetchall("SELECT 1"))
        except (aiosqlite.Error, ValueError):
            return False

    async def close(self) -> None:
        for batched in (self._inserts, self._finishes, self._task_ids, self._deliveries, self._gets):
            await batched.drain()  # nothing a caller waits on is left behind
        await self._db.close()
        for fd in self._names.values():
            os.close(fd)  # and with it the lock
        self._names.clear()


async def migrate(db: aiosqlite.Connection) -> int:
    """Bring the schema up to the newest migration, one transaction per file; return the version reached.

    `PRAGMA user_version` records how far a file has come. Each file runs as one script inside its own
    transaction, so a failing step leaves the schema where it was.
    """
    steps = migrations("sqlite")
    newest = len(steps)
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    if version > newest:
        raise RuntimeError(f"the database is at schema version {version}, newer than this bot ({newest})")
    for step in steps[version:]:
        try:
            await db.executescript(f"BEGIN;\n{step.sql}\n;PRAGMA user_version = {step.version};\nCOMMIT;")
        except BaseException:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise
    return newest
