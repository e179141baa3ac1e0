"""The store contract: what every backend (SQLite, PostgreSQL) must do alike, run against each."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable

import asyncpg
import pytest

from bot.domain.errors import ErrorKind
from bot.domain.pace import Pace, UploadMode
from bot.domain.ports import AlreadyRecorded, UploadStore
from bot.domain.records import SourceKind, UploadRecord, UploadState
from bot.storage import open_store


def record(interaction_id: int, position: int = 0, user_id: int = 7, instance: str = "") -> UploadRecord:
    return UploadRecord(
        interaction_id=interaction_id, application_id=1, interaction_token="t", token_expires_at=time.time(),
        user_id=user_id, guild_id=None, channel_id=None, locale="en-US", source_kind=SourceKind.LINK,
        label=f"a.example.com/{interaction_id}-{position}.mp3", position=position, instance=instance,
    )  # fmt: skip


async def test_concurrent_adds_get_their_own_ids(store: UploadStore) -> None:
    wanted = [record(i // 3, i % 3) for i in range(60)]
    added = await asyncio.gather(*(store.add(r) for r in wanted))
    assert len({r.id for r in added}) == 60
    for r in added:
        (same,) = [x for x in await store.by_interaction(r.interaction_id) if x.position == r.position]
        assert same.id == r.id and same.label == r.label


async def test_an_interactions_upload_is_recorded_once_even_within_one_batch(store: UploadStore) -> None:
    """A second delivery of an interaction finds its uploads recorded: the insert itself refuses it."""
    results = await asyncio.gather(
        store.add(record(5)), store.add(record(5)), store.add(record(5, 1)), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results[:2]) == ["AlreadyRecorded", "UploadRecord"]
    assert isinstance(results[2], UploadRecord)
    with pytest.raises(AlreadyRecorded) as raised:
        await store.add(record(5))
    assert raised.value.interaction_id == 5
    assert [r.position for r in await store.by_interaction(5)] == [0, 1]


async def test_a_pending_upload_is_finished_once_even_within_one_batch(store: UploadStore) -> None:
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


async def test_task_ids_and_delivery_marks_land_on_the_right_rows(store: UploadStore) -> None:
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


async def test_a_skipped_file_keeps_its_reason_and_parameters_not_a_sentence(
    store: UploadStore,
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


async def test_two_instances_claiming_polls_at_once_never_get_the_same_upload(store_url: str) -> None:
    first, second = await open_store(store_url), await open_store(store_url)
    try:
        rows = [await first.add(record(i)) for i in range(40)]
        keys = [r.key for r in rows]
        claims = await asyncio.gather(
            *(s.claim_polls(keys, now=100.0, until=120.0) for s in (first, second) for _ in range(3))
        )
        taken = [key for claim in claims for key in claim]
        assert sorted(taken) == sorted(keys)  # each one claimed, and only once
        # Until the claim lapses nobody polls again; then the next caller does.
        assert await second.claim_polls(keys, now=119.0, until=139.0) == set()
        assert await second.claim_polls(keys[:5], now=120.0, until=140.0) == set(keys[:5])
        # A settled upload is not polled at all.
        await first.finish(keys[5], clip_id="done")
        assert await first.claim_polls(keys[5:7], now=200.0, until=220.0) == {keys[6]}
    finally:
        await first.close()
        await second.close()


async def test_an_unshown_answer_is_claimed_by_one_instance_until_its_claim_lapses(store_url: str) -> None:
    first, second = await open_store(store_url), await open_store(store_url)
    try:
        a0, a1 = await first.add(record(1, 0)), await first.add(record(1, 1))
        b = await first.add(record(2))
        pending = await first.add(record(3))
        shown = await first.add(record(4))
        for row in (a0, a1, b, shown):
            await first.finish(row.key, clip_id="c")
        await first.mark_delivered(4)
        settled = time.time() + 1
        claims = await asyncio.gather(
            first.claim_undelivered(settled_before=settled, now=settled, until=settled + 60),
            second.claim_undelivered(settled_before=settled, now=settled, until=settled + 60),
        )
        assert sorted(i for claim in claims for i in claim) == [1, 2]  # each interaction once
        assert pending.interaction_id not in claims[0] + claims[1]
        assert (
            await second.claim_undelivered(settled_before=settled, now=settled + 59, until=settled + 90) == []
        )
        assert await second.claim_undelivered(
            settled_before=settled, now=settled + 60, until=settled + 120
        ) == [1, 2]
        # Answers settled after `settled_before` wait for a later round.
        assert await first.claim_undelivered(settled_before=0.0, now=settled + 500, until=settled + 600) == []
    finally:
        await first.close()
        await second.close()


async def test_instances_are_alive_while_they_beat_and_gone_once_they_leave(store: UploadStore) -> None:
    seen: list[dict[str, int]] = []

    def holds(n: int) -> Callable[[dict[str, int]], int]:
        def hold(others: dict[str, int]) -> int:
            seen.append(others)
            return n

        return hold

    assert await store.heartbeat("b", now=100.0, seen_since=70.0, hold=holds(4)) == {}
    assert await store.heartbeat("a", now=100.0, seen_since=70.0, hold=holds(6)) == {"b": 4}
    assert await store.heartbeat("a", now=130.0, seen_since=100.0, hold=holds(5)) == {"b": 4}
    assert await store.heartbeat("b", now=131.0, seen_since=101.0, hold=holds(4)) == {"a": 5}
    assert await store.heartbeat("c", now=150.0, seen_since=131.0, hold=holds(1)) == {"b": 4}  # a lapsed
    await store.leave("b")
    assert await store.heartbeat("c", now=151.0, seen_since=0.0, hold=holds(1)) == {"a": 5}
    assert seen == [{}, {"b": 4}, {"b": 4}, {"a": 5}, {"b": 4}, {"a": 5}]


async def test_each_instances_measured_pace_is_kept_with_its_heartbeat_and_outlives_it(
    store: UploadStore,
) -> None:
    """One figure per instance, replaced by its next one, written with a heartbeat or on leaving, kept after
    it leaves (for whoever starts next), and read back by when it was written."""

    def hold(others: dict[str, int]) -> int:
        return 1

    assert await store.paces(measured_since=0.0) == []
    await store.heartbeat("a", now=100.0, seen_since=70.0, hold=hold, pace=Pace(19.5, UploadMode.SYNC, 100.0))
    await store.heartbeat("a", now=105.0, seen_since=75.0, hold=hold, pace=Pace(4.25, UploadMode.SYNC, 105.0))
    await store.heartbeat("b", now=106.0, seen_since=76.0, hold=hold)  # measured nothing: writes none
    await store.heartbeat(
        "c", now=107.0, seen_since=77.0, hold=hold, pace=Pace(1.5, UploadMode.CALLBACK, 107.0)
    )
    await store.leave("c", pace=Pace(2.0, UploadMode.CALLBACK, 110.0))
    await store.leave("a")
    assert sorted(await store.paces(measured_since=0.0), key=lambda p: p.measured_at) == [
        Pace(4.25, UploadMode.SYNC, 105.0),
        Pace(2.0, UploadMode.CALLBACK, 110.0),
    ]
    assert await store.paces(measured_since=106.0) == [Pace(2.0, UploadMode.CALLBACK, 110.0)]


async def test_what_departed_instances_left_is_forgotten_and_nothing_of_the_others(
    store: UploadStore,
) -> None:
    """A dead process's heartbeat row and an old pace go; an instance heard of since, and its pace, stay."""

    def hold(others: dict[str, int]) -> int:
        return 1

    await store.heartbeat(
        "died", now=100.0, seen_since=70.0, hold=hold, pace=Pace(19.5, UploadMode.SYNC, 100.0)
    )
    await store.heartbeat("left", now=150.0, seen_since=120.0, hold=hold)
    await store.leave("left", pace=Pace(3.0, UploadMode.CALLBACK, 150.0))
    await store.heartbeat(
        "alive", now=200.0, seen_since=170.0, hold=hold, pace=Pace(7.0, UploadMode.SYNC, 200.0)
    )
    assert await store.forget_departed(200.0) == 3  # died's heartbeat and pace, left's pace
    assert await store.paces(measured_since=0.0) == [Pace(7.0, UploadMode.SYNC, 200.0)]
    assert await store.heartbeat("next", now=201.0, seen_since=0.0, hold=hold) == {"alive": 1}
    assert await store.forget_departed(200.0) == 0


async def test_heartbeats_at_once_take_turns_so_each_sees_what_the_others_took(store_url: str) -> None:
    stores = [await open_store(store_url) for _ in range(3)]
    limit = 6

    def take_what_is_free(others: dict[str, int]) -> int:
        return max(min(limit - sum(others.values()), limit), 0)

    try:
        await asyncio.gather(
            *(
                s.heartbeat(f"i{n}", now=100.0, seen_since=0.0, hold=take_what_is_free)
                for n, s in enumerate(stores)
            )
        )
        final = await stores[0].heartbeat("probe", now=100.0, seen_since=0.0, hold=lambda others: 0)
    finally:
        for s in stores:
            await s.close()
    assert sum(final.values()) == limit  # the first took everything; the others found nothing free


async def test_the_pending_uploads_in_brief_are_what_the_whole_records_say(store: UploadStore) -> None:
    sync = await store.add(record(1, instance="a"))
    waiting = await store.add(dataclasses.replace(record(2, instance="b"), callback_token="secret"))
    await store.set_task(waiting.key, "task-2")
    done = await store.add(record(3))
    await store.finish(done.key, clip_id="x")
    briefs = await store.pending_briefs()
    assert [b.key for b in briefs] == [r.key for r in await store.pending()] == [sync.key, waiting.key]
    assert [(b.instance, b.task_id, b.callback_token) for b in briefs] == [
        ("a", None, None),
        ("b", "task-2", "secret"),
    ]
    assert [b.created_at for b in briefs] == [sync.created_at, waiting.created_at]


async def test_a_members_pending_uploads_on_other_instances_are_counted(store: UploadStore) -> None:
    mine = await store.add(record(1, user_id=5, instance="a"))
    await store.add(record(2, user_id=5, instance="b"))
    await store.add(record(3, user_id=5, instance="b"))
    await store.add(record(4, user_id=6, instance="b"))
    done = await store.add(record(5, user_id=5, instance="c"))
    await store.finish(done.key, clip_id="x")
    assert await store.pending_count(5, other_than="a") == 2
    assert await store.pending_count(5, other_than="b") == 1
    await store.finish(mine.key, error_kind=ErrorKind.FAILED)
    assert await store.pending_count(5, other_than="b") == 0
    got = await store.get(mine.key)
    assert got is not None and got.instance == "a"


async def test_an_unshown_message_is_claimed_whole_by_one_instance(store_url: str) -> None:
    stores = [await open_store(store_url) for _ in range(4)]
    try:
        first = stores[0]
        for interaction in range(20):
            for position in range(3):
                row = await first.add(record(100 + interaction, position))
                await first.finish(row.key, clip_id="c")
        settled = time.time() + 1
        claims = await asyncio.gather(
            *(s.claim_undelivered(settled_before=settled, now=settled, until=settled + 60) for s in stores)
        )
        # Every message went to exactly one instance, all its rows with it.
        assert sorted(i for claim in claims for i in claim) == list(range(100, 120))
        for s in stores:
            assert (
                await s.claim_undelivered(settled_before=settled, now=settled + 1, until=settled + 60) == []
            )
    finally:
        for s in stores:
            await s.close()


async def test_a_message_whose_row_is_busy_is_still_claimed_whole_on_postgresql(postgres_url: str) -> None:
    """A row locked by some other transaction (a finish under way) must not split its message between two
    claims: the claim waits for it rather than taking the message's other rows alone."""
    first, second = await open_store(postgres_url), await open_store(postgres_url)
    conn = await asyncpg.connect(postgres_url)
    try:
        rows = [await first.add(record(7, position)) for position in range(3)]
        for row in rows:
            await first.finish(row.key, clip_id="c")
        settled = time.time() + 1
        busy = conn.transaction()
        await busy.start()
        await conn.execute("SELECT 1 FROM uploads WHERE id = $1 FOR UPDATE", rows[0].key)
        claim = asyncio.create_task(
            first.claim_undelivered(settled_before=settled, now=settled, until=settled + 60)
        )
        await asyncio.sleep(0.3)
        await busy.rollback()
        claimed_first = await claim
        claimed_second = await second.claim_undelivered(
            settled_before=settled, now=settled + 1, until=settled + 60
        )
    finally:
        await conn.close()
        await first.close()
        await second.close()
    assert (claimed_first, claimed_second) == ([7], [])


async def test_an_instance_name_is_held_by_one_store_and_free_once_it_closes(store_url: str) -> None:
    first, second = await open_store(store_url), await open_store(store_url)
    try:
        assert await first.hold_name("shards 0-1")
        for _ in range(3):  # pooled statements in between leave the name's lock where it is
            await first.pending()
        assert not await second.hold_name("shards 0-1")
        await first.close()
        assert await second.hold_name("shards 0-1")
    finally:
        await first.close()
        await second.close()


async def test_the_message_an_upload_came_from_is_kept(store: UploadStore) -> None:
    link = "https://discord.com/channels/1/2/3"
    added = await store.add(dataclasses.replace(record(901), source_message=link))
    (kept,) = await store.by_interaction(901)
    assert kept.id == added.id and kept.source_message == link
    (plain,) = [await store.add(record(902))]
    assert plain.source_message is None
