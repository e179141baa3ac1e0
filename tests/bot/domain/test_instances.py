"""Several instances on one store: each one's share of the deployment's requests to MusicAPI, and what it
learns from its heartbeat."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.instances import Presence, share
from bot.domain.ports import MusicAPI, UploadStore
from bot.domain.queue import UploadQueue
from bot.domain.uploads import Admission, UploadService
from bot.storage.sqlite import SQLiteUploadStore


@given(
    st.integers(min_value=1, max_value=500),
    st.sets(st.text(min_size=1, max_size=8), min_size=1, max_size=30),
)
def test_the_shares_of_live_instances_add_up_to_the_deployments_concurrency(
    concurrency: int, names: set[str]
) -> None:
    live = sorted(names)
    parts = [share(concurrency, live, name) for name in live]
    assert all(part >= 1 for part in parts)
    if concurrency >= len(live):
        assert sum(parts) == concurrency
        assert max(parts) - min(parts) <= 1  # as equal as whole numbers allow
    else:
        assert sum(parts) == len(live)  # one each: fewer than that and some could send nothing


def test_an_instance_that_is_not_listed_yet_counts_itself() -> None:
    assert share(10, [], "a") == 10
    assert share(10, ["b"], "a") + share(10, ["a", "b"], "b") == 10


async def test_a_newcomer_takes_only_what_the_others_do_not_hold(tmp_path: Path) -> None:
    store = await SQLiteUploadStore.open(tmp_path / "log.db")
    now = [1000.0]

    def instance(name: str) -> tuple[Presence, UploadQueue]:
        line = UploadQueue(concurrency=9, capacity=100, typical_turn=1.0)
        presence = Presence(
            store=store, name=name, timeout=30, concurrency=9, line=line, clock=lambda: now[0]
        )
        return presence, line

    (a, line_a), (b, line_b) = instance("a"), instance("b")
    try:
        await a.beat()
        assert (a.others, line_a.concurrency) == ([], 9)  # alone: the whole limit
        await b.beat()
        assert b.others == ["a"] and line_b.concurrency == 0  # a holds all 9 until it hears of b
        # ...but b's members are told (and admitted by) the wait at the share b is about to have.
        assert line_b.wait_for(8) == 2.0  # 4 at once: the 8th waiting one goes in the second round
        await a.beat()
        assert a.others == ["b"] and a.alive("b") and line_a.concurrency == 5  # a is first by name
        await b.beat()
        assert line_b.concurrency == 4  # what a no longer holds
        now[0] += 31  # b stops beating
        await a.beat()
        assert a.others == [] and not a.alive("b") and line_a.concurrency == 9
        await b.beat()
        await b.stop()  # a clean stop leaves at once
        await a.beat()
        assert a.others == [] and line_a.concurrency == 9
    finally:
        await store.close()


async def test_requests_still_out_count_against_the_newcomer_until_they_end(tmp_path: Path) -> None:
    store = await SQLiteUploadStore.open(tmp_path / "log.db")
    line_a = UploadQueue(concurrency=4, capacity=100, typical_turn=1.0)
    line_b = UploadQueue(concurrency=4, capacity=100, typical_turn=1.0)
    a = Presence(store=store, name="a", timeout=30, concurrency=4, line=line_a)
    b = Presence(store=store, name="b", timeout=30, concurrency=4, line=line_b)
    release = asyncio.Event()

    async def request() -> None:
        assert line_a.admit(1)
        async with line_a.turn(member=1):
            await release.wait()

    try:
        await a.beat()
        out = [asyncio.create_task(request()) for _ in range(4)]
        await asyncio.sleep(0.01)
        await b.beat()
        await a.beat()  # a's share is 2 now, but its 4 requests are still out
        await b.beat()
        assert (line_a.concurrency, line_a.in_flight, line_b.concurrency) == (2, 4, 0)
        release.set()
        await asyncio.gather(*out)
        await a.beat()
        await b.beat()
        assert (line_a.concurrency, line_b.concurrency) == (2, 2)
    finally:
        await store.close()


async def test_more_instances_than_the_limit_send_one_each_and_say_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await SQLiteUploadStore.open(tmp_path / "log.db")
    lines = [UploadQueue(concurrency=1, capacity=10, typical_turn=1.0) for _ in range(2)]
    presences = [
        Presence(store=store, name=name, timeout=30, concurrency=1, line=line)
        for name, line in zip("ab", lines, strict=True)
    ]
    try:
        for presence in presences * 2:
            await presence.beat()
    finally:
        await store.close()
    assert [line.concurrency for line in lines] == [1, 1]
    assert "raise MUSICAPI_CONCURRENCY to at least the number of instances" in caplog.text


class Unreachable:
    """The store, until `down` is set: then heartbeats fail as when the database cannot be reached."""

    def __init__(self, store: SQLiteUploadStore) -> None:
        self.store = store
        self.down = False

    async def heartbeat(self, *args: Any, **kwargs: Any) -> dict[str, int]:
        if self.down:
            raise OSError("connection refused")
        return await self.store.heartbeat(*args, **kwargs)


async def test_an_instance_that_cannot_be_heard_sends_nothing_new_until_it_is(tmp_path: Path) -> None:
    store = await SQLiteUploadStore.open(tmp_path / "log.db")
    reachable = Unreachable(store)
    now = [1000.0]
    line = UploadQueue(concurrency=4, capacity=10, typical_turn=1.0)
    presence = Presence(
        store=cast(UploadStore, reachable),
        name="a",
        timeout=30,
        concurrency=4,
        line=line,
        clock=lambda: now[0],
    )
    try:
        await presence.tick()
        reachable.down = True
        now[0] += 10
        await presence.tick()
        assert line.concurrency == 4  # one lost beat is harmless
        now[0] += 5
        await presence.tick()
        assert line.concurrency == 0  # the others may count it as stopped soon and take its share
        reachable.down = False
        await presence.tick()
        assert line.concurrency == 4
    finally:
        await store.close()


class SlowCount(Unreachable):
    """The store, counting a member's uploads on other instances slower than a first answer may wait."""

    async def pending_count(self, user_id: int, *, other_than: str) -> int:
        await asyncio.sleep(30)
        return 99

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def test_a_slow_count_of_other_instances_uploads_does_not_hold_up_the_first_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await SQLiteUploadStore.open(tmp_path / "log.db")
    slow = SlowCount(store)
    line = UploadQueue(concurrency=4, capacity=10, typical_turn=1.0)
    await Presence(store=store, name="b", timeout=30, concurrency=4, line=line).beat()  # another instance
    presence = Presence(store=cast(UploadStore, slow), name="a", timeout=30, concurrency=4, line=line)
    await presence.beat()
    uploads = UploadService(
        client=cast(MusicAPI, None), store=cast(UploadStore, slow), queue=line, upload_timeout=10,
        presence=presence,
    )  # fmt: skip
    try:
        admitted = await asyncio.wait_for(uploads.admit(1, 1, limit=1), 10)
    finally:
        await store.close()
    assert admitted is Admission.ADMITTED  # counted on this instance alone
    assert "to count uploads on other instances" in caplog.text
