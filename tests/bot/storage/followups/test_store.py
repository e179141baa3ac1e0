"""The follow-up store on its own, on each backend: the budget and cooldown are checked in the same step as the insert, a
due follow-up is claimed by one caller only, a follow-up is settled once."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.domain.errors import ErrorKind
from bot.domain.followups.ports import FollowUpStore
from bot.domain.followups.records import ClipOrigin, FollowUpRecord, FollowUpState, Operation, Song
from bot.domain.ports import AlreadyRecorded
from bot.storage import follow_up_store, open_store

DAY = "2026-11-24"
GUILD = 42
_interactions = itertools.count(1000)


def record(
    user_id: int = 7, guild_id: int | None = GUILD, due: float = 0.0, interaction_id: int | None = None
) -> FollowUpRecord:
    """A follow-up of a new submit (its own interaction), unless `interaction_id` names one."""
    return FollowUpRecord(
        user_id=user_id, guild_id=guild_id, channel_id=9, application_id=1,
        interaction_id=interaction_id if interaction_id is not None else next(_interactions),
        interaction_token="tok", token_expires_at=time.time() + 900, locale="en-US",
        action=Operation.EXTEND, origin=ClipOrigin.UPLOAD, source_id=1, source_clip_id="clip",
        source_label="demo.mp3", task_type="extend_upload_music", model="sonic-v4-5", credits=15, next_poll_at=due,
    )  # fmt: skip


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[FollowUpStore]:
    """The follow-ups beside the upload log, on each backend."""
    uploads = await open_store(store_url)
    yield follow_up_store(uploads)
    await uploads.close()


async def reserve(store: FollowUpStore, r: FollowUpRecord, budget: int = 0, since: float = 0.0) -> bool:
    return (
        await store.reserve(r, day=DAY, daily_budget=budget, cooldown_since=since or time.time() + 1)
        is not None
    )


async def test_concurrent_reservations_never_pass_the_budget(store: FollowUpStore) -> None:
    results = await asyncio.gather(*(reserve(store, record(user_id=u), budget=45) for u in range(10)))
    assert sum(results) == 3
    assert await store.spent(GUILD, DAY) == 45
    assert await reserve(store, record(user_id=99, guild_id=GUILD + 1), budget=45), (
        "another server's own budget"
    )
    assert await store.spent_by_guild(DAY) == {GUILD: 45, GUILD + 1: 15}


async def test_the_cooldown_counts_follow_ups_musicapi_took(store: FollowUpStore) -> None:
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


async def test_a_submit_delivered_again_reserves_nothing_even_at_once(store: FollowUpStore) -> None:
    """Two deliveries of one form submit (on one instance or two): one follow-up, the other is told it
    was recorded before, whether the budget and cooldown would let it through or not."""
    results = await asyncio.gather(
        *(store.reserve(record(interaction_id=77), day=DAY, daily_budget=0, cooldown_since=time.time() + 1)
          for _ in range(2)),
        return_exceptions=True,
    )  # fmt: skip
    assert sum(isinstance(r, FollowUpRecord) for r in results) == 1
    assert sum(isinstance(r, AlreadyRecorded) for r in results) == 1
    with pytest.raises(AlreadyRecorded):
        await store.reserve(record(interaction_id=77), day=DAY, daily_budget=15, cooldown_since=time.time())
    assert await store.spent(GUILD, DAY) == 15
    # A refusal of a new interaction is still a refusal, not a redelivery.
    assert not await reserve(store, record(), since=time.time() - 60)


async def test_a_due_follow_up_is_claimed_by_one_caller(store: FollowUpStore) -> None:
    for u in range(6):
        assert await reserve(store, record(user_id=u, due=time.time() - 1))
    now = time.time()
    claims = await asyncio.gather(*(store.claim_due(now, next_poll_at=now + 60, limit=4) for _ in range(3)))
    taken = [r.key for claim in claims for r in claim]
    assert sorted(taken) == sorted(set(taken)) and len(taken) == 6
    assert await store.claim_due(now, next_poll_at=now + 60, limit=10) == []
    assert len(await store.claim_due(now + 61, next_poll_at=now + 120, limit=10)) == 6


async def test_a_follow_up_is_settled_once_with_its_songs(store: FollowUpStore) -> None:
    stored = await store.reserve(record(), day=DAY, daily_budget=0, cooldown_since=time.time() + 1)
    assert stored is not None
    await store.set_task(stored.key, "task-1", time.time() + 20)
    songs = [
        Song("s1", "One", 61.0, "https://x.example/1.mp3", image_url="https://x.example/1.jpg"),
        Song("s2", "Two", None, None),
    ]
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
        assert [s.image_url for s in got.songs] == ["https://x.example/1.jpg", None]
        found = await store.song(got.songs[1].id or 0)
        assert found is not None and found[0].clip_id == "s2" and found[1].key == stored.key
    else:
        assert got.credits == 0 and await store.song(1) is None


async def test_deliveries_and_alerts_are_taken_once(store: FollowUpStore) -> None:
    now = time.time()
    assert await store.first_delivery("evt-1", now) and not await store.first_delivery("evt-1", now)
    await store.forget_delivery("evt-1")  # it could not be applied: its retry is taken
    assert await store.first_delivery("evt-1", now) and not await store.first_delivery("evt-1", now)
    assert await store.raise_alert("low", now) and not await store.raise_alert("low", now)
    await store.clear_alert("low")
    assert await store.raise_alert("low", now)


async def test_unseen_results_are_claimed_by_one_caller_until_the_claim_lapses_or_they_are_seen(
    store: FollowUpStore,
) -> None:
    stored = await store.reserve(record(), day=DAY, daily_budget=0, cooldown_since=time.time() + 1)
    assert stored is not None
    later = time.time() + 10

    async def claim(now: float) -> list[int]:
        return [r.key for r in await store.claim_undelivered(settled_before=now, now=now, until=now + 60)]

    assert await claim(later) == []  # still pending
    await store.finish(stored.key, state=FollowUpState.FAILED, error_kind=ErrorKind.TIMED_OUT)
    assert await claim(later) == [stored.key]
    assert await claim(later + 59) == []  # claimed: nobody else shows it meanwhile
    assert await claim(later + 60) == [stored.key]
    await store.mark_delivered(stored.key)
    assert await claim(later + 500) == []


async def test_old_finished_follow_ups_and_deliveries_are_pruned_pending_ones_never(
    store: FollowUpStore,
) -> None:
    now = time.time()
    done = await store.reserve(record(user_id=1), day=DAY, daily_budget=0, cooldown_since=now + 1)
    waiting = await store.reserve(record(user_id=2), day=DAY, daily_budget=0, cooldown_since=now + 1)
    assert done is not None and waiting is not None
    await store.finish(done.key, state=FollowUpState.SUCCEEDED, songs=[Song("s1", "One", 60.0, None)])
    assert await store.first_delivery("evt-old", now - 10)
    assert await store.prune(now - 60) == 0  # nothing finished that long ago
    assert await store.prune(now + 60) == 1
    assert await store.get(done.key) is None and await store.song(1) is None
    assert await store.get(waiting.key) is not None
    assert await store.first_delivery("evt-old", now)  # forgotten with the rest


async def test_spent_tokens_and_webhook_secrets_are_erased(store: FollowUpStore) -> None:
    now = time.time()
    with_secret = dataclasses.replace(record(user_id=1), callback_token="secret-1")
    live = await store.reserve(with_secret, day=DAY, daily_budget=0, cooldown_since=now + 1)
    shown = await store.reserve(dataclasses.replace(record(user_id=2), callback_token="secret-2"), day=DAY,
                                daily_budget=0, cooldown_since=now + 1)  # fmt: skip
    assert live is not None and shown is not None
    await store.finish(shown.key, state=FollowUpState.SUCCEEDED)
    await store.mark_delivered(shown.key)
    assert await store.erase_spent_secrets(now) == 1
    got_live, got_shown = await store.get(live.key), await store.get(shown.key)
    assert got_live is not None and (got_live.interaction_token, got_live.callback_token) == (
        "tok",
        "secret-1",
    )
    assert got_shown is not None and (got_shown.interaction_token, got_shown.callback_token) == ("", None)
    assert await store.erase_spent_secrets(now + 3600) == 1  # the live one's token has expired by then
    got_live = await store.get(live.key)
    assert got_live is not None and (got_live.interaction_token, got_live.callback_token) == ("", "secret-1")
    assert await store.erase_spent_secrets(now + 3600) == 0


async def test_forgetting_a_member_keeps_todays_spend_but_not_what_it_said(store: FollowUpStore) -> None:
    now = time.time()
    earlier = await store.reserve(record(user_id=5), day="2026-11-23", daily_budget=0, cooldown_since=now + 1)
    today = await store.reserve(record(user_id=5), day=DAY, daily_budget=0, cooldown_since=now + 1)
    running = await store.reserve(record(user_id=5), day=DAY, daily_budget=0, cooldown_since=now + 1)
    other = await store.reserve(record(user_id=6), day=DAY, daily_budget=0, cooldown_since=now + 1)
    assert earlier and today and running and other
    for done in (earlier, today, other):
        await store.finish(
            done.key, state=FollowUpState.SUCCEEDED, songs=[Song(f"s{done.key}", "T", 1.0, None)]
        )
    assert await store.forget_member(5, keep_day=DAY) == 2
    assert await store.get(earlier.key) is None
    kept = await store.get(today.key)
    assert kept is not None and (kept.source_label, kept.songs, kept.credits) == ("", [], 15)
    assert await store.spent(GUILD, DAY) == 45  # today's budget still counts it
    assert (await store.get(running.key)) is not None  # still in progress: kept as it is
    untouched = await store.get(other.key)
    assert untouched is not None and untouched.source_label == "demo.mp3" and len(untouched.songs) == 1


async def test_a_songs_cover_art_is_kept_with_it(store: FollowUpStore) -> None:
    stored = await store.reserve(record(), day=DAY, daily_budget=0, cooldown_since=time.time() + 1)
    assert stored is not None
    songs = [Song("s1", "One", 61.0, "https://x.example/1.mp3", image_url="https://x.example/1.jpg")]
    assert await store.finish(stored.key, state=FollowUpState.SUCCEEDED, songs=songs)
    got = await store.get(stored.key)
    assert got is not None and [s.image_url for s in got.songs] == ["https://x.example/1.jpg"]
    found = await store.song(got.songs[0].id or 0)
    assert found is not None and found[0].image_url == "https://x.example/1.jpg"


@pytest.mark.parametrize("operation", list(Operation))
async def test_every_operation_of_the_catalog_is_kept(store: FollowUpStore, operation: Operation) -> None:
    made = dataclasses.replace(record(), action=operation)
    stored = await store.reserve(made, day=DAY, daily_budget=0, cooldown_since=time.time() + 1)
    assert stored is not None and stored.action is operation


async def test_the_size_discord_takes_where_it_was_asked_is_kept(store: FollowUpStore) -> None:
    boosted = dataclasses.replace(record(), attachment_limit=50 * 1024 * 1024)
    stored = await store.reserve(boosted, day=DAY, daily_budget=0, cooldown_since=time.time() + 1)
    assert stored is not None and stored.attachment_limit == 50 * 1024 * 1024
    unknown = await store.reserve(record(user_id=8), day=DAY, daily_budget=0, cooldown_since=time.time() + 1)
    assert unknown is not None and unknown.attachment_limit is None


async def test_a_start_on_postgresql_takes_its_locks_in_one_statement_and_reads_nothing_back(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reserving a follow-up on PostgreSQL is the transaction, both advisory locks in one statement, and
    the INSERT that returns the new row: no statement per lock, no reading back what was just written."""
    uploads = await open_store(postgres_url)
    try:
        store = follow_up_store(uploads)
        sent = _count_statements(monkeypatch)
        stored = await store.reserve(record(), day=DAY, daily_budget=45, cooldown_since=time.time() - 60)
        assert stored is not None and stored.credits == 15 and stored.source_label == "demo.mp3"
        assert [s.split(None, 1)[0].upper() for s in sent] == ["BEGIN;", "SELECT", "INSERT", "COMMIT;"]
        assert sent[1].count("pg_advisory_xact_lock") == 2
        assert await store.get(stored.key) == stored  # what it returned is what the store holds
    finally:
        await uploads.close()


def _count_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement asyncpg sends from now on (the pool's included), in order."""
    from asyncpg.connection import Connection

    sent: list[str] = []

    def counting(method: Any) -> Any:
        def call(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            sent.append(query)
            return method(self, query, *args, **kwargs)

        return call

    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        monkeypatch.setattr(Connection, name, counting(getattr(Connection, name)))
    return sent
