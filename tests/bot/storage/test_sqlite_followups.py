"""The follow-up store on its own: the budget and cooldown are checked in the same step as the insert, a
due follow-up is claimed by one caller only, a follow-up is settled once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.errors import ErrorKind
from bot.domain.followups import ClipOrigin, FollowUpAction, FollowUpRecord, FollowUpState, Song
from bot.storage import follow_up_store
from bot.storage.sqlite import SQLiteUploadStore
from bot.storage.sqlite_followups import SQLiteFollowUpStore

DAY = "2026-11-24"
GUILD = 42


def record(user_id: int = 7, guild_id: int | None = GUILD, due: float = 0.0) -> FollowUpRecord:
    return FollowUpRecord(
        user_id=user_id, guild_id=guild_id, channel_id=9, application_id=1, interaction_id=user_id * 10,
        interaction_token="tok", token_expires_at=time.time() + 900, locale="en-US",
        action=FollowUpAction.EXTEND, origin=ClipOrigin.UPLOAD, source_id=1, source_clip_id="clip",
        source_label="demo.mp3", task_type="extend_upload_music", model="sonic-v4-5", next_poll_at=due,
    )  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteFollowUpStore]:
    uploads = await SQLiteUploadStore.open(tmp_path / "bot.db")
    found = follow_up_store(uploads)
    assert isinstance(found, SQLiteFollowUpStore)
    yield found
    await uploads.close()


async def reserve(store: SQLiteFollowUpStore, r: FollowUpRecord, budget: int = 0, since: float = 0.0) -> bool:
    return (
        await store.reserve(r, day=DAY, daily_budget=budget, cooldown_since=since or time.time() + 1)
        is not None
    )


async def test_concurrent_reservations_never_pass_the_budget(store: SQLiteFollowUpStore) -> None:
    results = await asyncio.gather(*(reserve(store, record(user_id=u), budget=45) for u in range(10)))
    assert sum(results) == 3
    assert await store.spent(GUILD, DAY) == 45
    assert await reserve(store, record(user_id=99, guild_id=GUILD + 1), budget=45), (
        "another server's own budget"
    )
    assert await store.spent_by_guild(DAY) == {GUILD: 45, GUILD + 1: 15}


async def test_the_cooldown_counts_follow_ups_musicapi_took(store: SQLiteFollowUpStore) -> None:
    first = await store.reserve(record(), day=DAY, daily_budget=0, cooldown_since=time.time() - 60)
    assert first is not None
    assert await store.last_started(7) == pytest.approx(first.created_at)
    assert not await reserve(store, record(), since=time.time() - 60)
    # Refused at once by MusicAPI (no task id): it no longer holds the member back.
    assert await store.finish(
        first.key, state=FollowUpState.FAILED, error_kind=ErrorKind.BAD_REQUEST, refund=True
    )
    assert await store.last_started(7) is None
    assert await reserve(store, record(), since=time.time() - 60)


async def test_a_due_follow_up_is_claimed_by_one_caller(store: SQLiteFollowUpStore) -> None:
    for u in range(6):
        assert await reserve(store, record(user_id=u, due=time.time() - 1))
    now = time.time()
    claims = await asyncio.gather(*(store.claim_due(now, next_poll_at=now + 60, limit=4) for _ in range(3)))
    taken = [r.key for claim in claims for r in claim]
    assert sorted(taken) == sorted(set(taken)) and len(taken) == 6
    assert await store.claim_due(now, next_poll_at=now + 60, limit=10) == []
    assert len(await store.claim_due(now + 61, next_poll_at=now + 120, limit=10)) == 6


async def test_a_follow_up_is_settled_once_with_its_songs(store: SQLiteFollowUpStore) -> None:
    stored = await store.reserve(record(), day=DAY, daily_budget=0, cooldown_since=time.time() + 1)
    assert stored is not None
    await store.set_task(stored.key, "task-1", time.time() + 20)
    songs = [Song("s1", "One", 61.0, "https://x.example/1.mp3"), Song("s2", "Two", None, None)]
    results = await asyncio.gather(
        store.finish(stored.key, state=FollowUpState.SUCCEEDED, songs=songs),
        store.finish(stored.key, state=FollowUpState.SUCCEEDED, songs=songs),
        store.finish(stored.key, state=FollowUpState.FAILED, error_kind=ErrorKind.FAILED, refund=True),
    )
    assert sorted(results) == [False, False, True]
    got = await store.get(stored.key)
    assert got is not None and got.task_id == "task-1"
    if got.state is FollowUpState.SUCCEEDED:
        assert [s.clip_id for s in got.songs] == ["s1", "s2"] and got.credits == 15
        found = await store.song(got.songs[1].id or 0)
        assert found is not None and found[0].clip_id == "s2" and found[1].key == stored.key
    else:
        assert got.credits == 0 and await store.song(1) is None


async def test_deliveries_and_alerts_are_taken_once(store: SQLiteFollowUpStore) -> None:
    now = time.time()
    assert await store.first_delivery("evt-1", now) and not await store.first_delivery("evt-1", now)
    assert await store.raise_alert("low", now) and not await store.raise_alert("low", now)
    await store.clear_alert("low")
    assert await store.raise_alert("low", now)


async def test_undelivered_results_are_listed_until_marked(store: SQLiteFollowUpStore) -> None:
    stored = await store.reserve(record(), day=DAY, daily_budget=0, cooldown_since=time.time() + 1)
    assert stored is not None
    assert await store.undelivered() == []
    await store.finish(stored.key, state=FollowUpState.FAILED, error_kind=ErrorKind.TIMED_OUT)
    assert [r.key for r in await store.undelivered()] == [stored.key]
    await store.mark_delivered(stored.key)
    assert await store.undelivered() == []
