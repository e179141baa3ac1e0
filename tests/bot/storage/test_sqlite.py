"""The upload log on its own: batched writes keep each caller's answer."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Iterable
from pathlib import Path
from typing import TypeVar

import aiosqlite
import pytest

from bot.domain.errors import ErrorKind
from bot.domain.ports import AlreadyRecorded
from bot.domain.records import SourceKind, UploadRecord
from bot.storage import sqlite as sqlite_module
from bot.storage.errors import StoreUnavailable
from bot.storage.sqlite import MAX_PARAMETERS, SQLiteUploadStore, max_rows

T = TypeVar("T")


def record(interaction_id: int, position: int = 0, user_id: int = 7) -> UploadRecord:
    return UploadRecord(
        interaction_id=interaction_id, application_id=1, interaction_token="t", token_expires_at=time.time(),
        user_id=user_id, guild_id=None, channel_id=None, locale="en-US", source_kind=SourceKind.LINK,
        label=f"a.example.com/{interaction_id}-{position}.mp3", position=position,
    )  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteUploadStore]:
    opened = await SQLiteUploadStore.open(tmp_path / "log.db")
    yield opened
    await opened.close()


async def test_a_failed_batch_fails_each_caller(store: SQLiteUploadStore) -> None:
    await store.close()
    with pytest.raises(ValueError, match=r"closed|no active connection"):
        await store.add(record(1))


async def test_an_error_kind_this_bot_does_not_know_reads_as_failed(
    store: SQLiteUploadStore, tmp_path: Path
) -> None:
    """A row written by a newer bot (an error kind added later) still reads, as a plain failure."""
    added = await store.add(record(5))
    async with aiosqlite.connect(tmp_path / "log.db") as db:
        await db.execute(
            "UPDATE uploads SET state = 'failed', error_kind = 'from_the_future' WHERE id = ?", (added.key,)
        )
        await db.commit()
    got = await store.get(added.key)
    assert got is not None and got.error_kind is ErrorKind.FAILED


async def test_marks_of_answers_shown_moments_apart_share_one_statement(store: SQLiteUploadStore) -> None:
    """Answers are shown one by one as Discord takes each edit: their marks, made in turns of the event
    loop a few milliseconds apart, wait for one another and go in one UPDATE."""
    added = [await store.add(record(n)) for n in range(1, 6)]
    for upload in added:
        await store.finish(upload.key, clip_id=f"clip-{upload.key}")
    statements: list[str] = []
    await store._db.set_trace_callback(statements.append)

    async def shown_after(delay: float, interaction_id: int) -> None:
        await asyncio.sleep(delay)
        await store.mark_delivered(interaction_id)

    await asyncio.gather(*(shown_after(n * 0.005, upload.interaction_id) for n, upload in enumerate(added)))
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1
    for upload in added:
        (shown,) = await store.by_interaction(upload.interaction_id)
        assert shown.delivered


async def test_a_mark_waiting_for_others_is_written_when_the_store_closes(tmp_path: Path) -> None:
    store = await SQLiteUploadStore.open(tmp_path / "log.db")
    upload = await store.add(record(9))
    await store.finish(upload.key, clip_id="clip")
    marking = asyncio.create_task(store.mark_delivered(9))
    await asyncio.sleep(0)  # the mark waits for others to share its statement
    await store.close()
    await marking
    reopened = await SQLiteUploadStore.open(tmp_path / "log.db")
    try:
        (again,) = await reopened.by_interaction(9)
    finally:
        await reopened.close()
    assert again.delivered


async def test_batches_of_any_size_share_a_few_statement_texts_and_keep_each_answer(
    store: SQLiteUploadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each batched write is one of a statement per power of two (the rows made up with NULL rows),
    so SQLite prepares and keeps a few rather than one per batch size; the made-up rows change nothing."""
    texts: list[str] = []
    run = store._db.execute_fetchall

    def recording(sql: str, parameters: object = None) -> object:
        texts.append(sql)
        return run(sql, parameters)

    monkeypatch.setattr(store._db, "execute_fetchall", recording)
    next_id = iter(range(1000, 2000))
    for size in (1, 2, 3, 5, 6, 7, 9):
        records = [record(next(next_id)) for _ in range(size)]
        again = dataclasses.replace(records[0])  # recorded in the same batch: it is refused
        added = await asyncio.gather(
            *(store.add(r) for r in records), store.add(again), return_exceptions=True
        )
        assert isinstance(added[-1], AlreadyRecorded)
        ids = [a.key for a in added[:-1] if isinstance(a, UploadRecord)]
        assert len(ids) == size
        finished = await asyncio.gather(*(store.finish(i, clip_id=f"clip-{i}") for i in ids))
        assert all(finished)
        await asyncio.gather(*(store.mark_delivered(r.interaction_id) for r in records))
        got = await asyncio.gather(*(store.get(i) for i in ids))
        assert [g.clip_id if g else None for g in got] == [f"clip-{i}" for i in ids]
        assert all(g is not None and g.delivered for g in got)
    inserts = {t for t in texts if t.startswith("INSERT")}
    assert len(inserts) == 4  # rows of 2, 4, 8, 16 (each batch holds the refused one too)
    assert len({t for t in texts if t.startswith("WITH")}) == 5  # settled in batches of 1, 2, 4, 8, 16


async def test_a_burst_larger_than_a_statement_takes_goes_in_several_each_within_the_parameters_cap(
    store: SQLiteUploadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prepared statement's memory grows with its placeholders, and the connection keeps each it
    prepared: a burst's writes go in several statements of at most MAX_PARAMETERS, every answer kept."""
    statements: list[tuple[str, int]] = []
    run = store._db.execute_fetchall

    def recording(sql: str, parameters: object = None) -> object:
        statements.append((sql.split(" ", 1)[0], sql.count("?")))
        return run(sql, parameters)

    monkeypatch.setattr(store._db, "execute_fetchall", recording)
    burst = max_rows(1) + 5  # more than any kind of write takes in one statement

    async def each(calls: Iterable[Awaitable[T]]) -> list[T]:
        return await asyncio.wait_for(asyncio.gather(*calls), 10)  # a batch left waiting fails, not hangs

    added = await each(store.add(record(3000 + i)) for i in range(burst))
    await each(store.set_task(a.key, f"task-{a.key}") for a in added)
    finished = await each(store.finish(a.key, clip_id=f"clip-{a.key}") for a in added)
    await each(store.mark_delivered(a.interaction_id) for a in added)
    got = await each(store.get(a.key) for a in added)
    assert len({a.key for a in added}) == burst and all(finished)
    assert [(g.task_id, g.clip_id) if g else None for g in got] == [
        (f"task-{a.key}", f"clip-{a.key}") for a in added
    ]
    assert all(g is not None and g.delivered for g in got)
    assert max(count for _, count in statements) <= MAX_PARAMETERS
    # Each kind of write went in several statements: none ran past its cap.
    kinds = collections.Counter(kind for kind, _ in statements)
    assert kinds["INSERT"] >= 2 and kinds["WITH"] >= 4 and kinds["UPDATE"] >= 2 and kinds["SELECT"] >= 2, (
        kinds
    )


async def test_a_sqlite_without_json_functions_is_named_at_startup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "JSON_PROBE", "SELECT value FROM no_such_json_each('[]')")
    with pytest.raises(StoreUnavailable, match=r"has no JSON functions: the bot needs SQLite 3\.38"):
        await SQLiteUploadStore.open(tmp_path / "log.db")
