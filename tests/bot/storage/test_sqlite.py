"""The upload log on its own: batched writes keep each caller's answer."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot.domain.errors import ErrorKind
from bot.domain.records import SourceKind, UploadRecord, UploadState
from bot.storage.sqlite import SQLiteUploadStore


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


async def test_concurrent_adds_get_their_own_ids(store: SQLiteUploadStore) -> None:
    wanted = [record(i // 3, i % 3) for i in range(60)]
    added = await asyncio.gather(*(store.add(r) for r in wanted))
    assert len({r.id for r in added}) == 60
    for r in added:
        (same,) = [x for x in await store.by_interaction(r.interaction_id) if x.position == r.position]
        assert same.id == r.id and same.label == r.label


async def test_a_pending_upload_is_finished_once_even_within_one_batch(store: SQLiteUploadStore) -> None:
    a, b = await store.add(record(1)), await store.add(record(2))
    results = await asyncio.gather(
        store.finish(a.key, clip_id="clip-a"),
        store.finish(a.key, error_kind=ErrorKind.FAILED, detail="late duplicate"),
        store.finish(b.key, error_kind=ErrorKind.RATE_LIMITED),
    )
    assert list(results) == [True, False, True]
    assert await store.finish(a.key, clip_id="again") is False
    got_a, got_b = await asyncio.gather(store.get(a.key), store.get(b.key))
    assert got_a is not None and (got_a.state, got_a.clip_id) == (UploadState.SUCCEEDED, "clip-a")
    assert got_b is not None and (got_b.state, got_b.error_kind) == (UploadState.FAILED, "rate_limited")


async def test_task_ids_and_delivery_marks_land_on_the_right_rows(store: SQLiteUploadStore) -> None:
    rows = await asyncio.gather(*(store.add(record(i)) for i in range(5)))
    await asyncio.gather(*(store.set_task(r.key, f"task-{r.interaction_id}") for r in rows))
    await asyncio.gather(*(store.finish(r.key, clip_id=f"clip-{r.interaction_id}") for r in rows[:3]))
    await asyncio.gather(*(store.mark_delivered(r.interaction_id) for r in rows))
    got = {r.interaction_id: r for r in await store.history(7, limit=10)}
    assert [got[i].task_id for i in range(5)] == [f"task-{i}" for i in range(5)]
    assert [got[i].delivered for i in range(5)] == [
        True,
        True,
        True,
        False,
        False,
    ]  # pending stay undelivered
    assert await store.get(10_000) is None


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


async def test_a_skipped_file_keeps_its_reason_and_parameters_not_a_sentence(
    store: SQLiteUploadStore,
) -> None:
    skipped = dataclasses.replace(
        record(6),
        state=UploadState.FAILED,
        skip_reason="too_large",
        skip_params={"filename": "a.wav", "size": 9, "limit": 5},
    )
    added = await store.add(skipped)
    (got,) = await store.by_interaction(6)
    assert got.id == added.id
    assert (got.skip_reason, got.skip_params, got.error_detail) == (
        "too_large",
        {"filename": "a.wav", "size": 9, "limit": 5},
        None,
    )
