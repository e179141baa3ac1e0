"""The upload log on its own: batched writes keep each caller's answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot.domain.errors import ErrorKind
from bot.domain.records import SourceKind, UploadRecord
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
