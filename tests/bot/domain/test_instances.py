"""Several instances on one store: each one's share of the deployment's requests to MusicAPI, and what it
learns from its heartbeat."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.instances import Presence, share
from bot.domain.pace import KEPT_FOR, Pace, UploadMode
from bot.domain.ports import MusicAPI, UploadStore
from bot.domain.queue import SMOOTHING, UploadQueue
from bot.domain.uploads import Admission, UploadService
from bot.storage import open_store
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


# -- MusicAPI's measured pace, kept in the store --------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Running:
    """One instance: its heartbeat and its line (whose turns are timed on a clock of their own)."""

    presence: Presence
    line: UploadQueue
    turns: Clock

    async def measure(self, *seconds: float) -> None:
        """Requests at MusicAPI that took `seconds` each."""
        for length in seconds:
            assert self.line.admit(1)
            async with self.line.turn(1):
                self.turns.now += length


def running(store: UploadStore, name: str, now: Clock, mode: UploadMode = UploadMode.SYNC) -> Running:
    turns = Clock(0.0)
    line = UploadQueue(concurrency=4, capacity=100, typical_turn=20.0, clock=turns)
    presence = Presence(store=store, name=name, timeout=30, concurrency=4, line=line, mode=mode, clock=now)
    return Running(presence, line, turns)


async def test_a_restarted_instance_and_a_newcomer_start_from_the_pace_measured_before(
    store_url: str,
) -> None:
    store = await open_store(store_url)
    now = Clock(1_000_000.0)
    try:
        first = running(store, "a", now)
        await first.presence.beat()
        await first.measure(2.0)
        await first.presence.beat()  # written with the heartbeat
        await first.presence.stop()
        now.now += 60
        restarted, newcomer = running(store, "a", now), running(store, "b", now)
        callback_mode = running(store, "c", now, UploadMode.CALLBACK)
        for instance in (restarted, newcomer, callback_mode):
            await instance.presence.beat()
    finally:
        await store.close()
    assert (restarted.line.pace, newcomer.line.pace) == (2.0, 2.0)
    assert callback_mode.line.pace == 20.0  # a sync request's length says nothing of a callback one's


async def test_a_pace_measured_since_the_last_beat_is_kept_when_the_instance_stops(store_url: str) -> None:
    store = await open_store(store_url)
    now = Clock(1_000_000.0)
    try:
        first = running(store, "a", now)
        await first.presence.beat()
        await first.measure(3.0)
        await first.presence.stop()
        restarted = running(store, "a", now)
        await restarted.presence.beat()
    finally:
        await store.close()
    assert restarted.line.pace == 3.0


async def test_a_pace_nobody_refreshed_for_kept_for_is_ignored(store_url: str) -> None:
    store = await open_store(store_url)
    now = Clock(1_000_000.0)
    try:
        first = running(store, "a", now)
        await first.measure(2.0)
        await first.presence.beat()
        now.now += KEPT_FOR
        await first.presence.beat()  # idle all along: its own figure is as old as the stored one
        late = running(store, "b", now)
        await late.presence.beat()
    finally:
        await store.close()
    assert (first.line.pace, late.line.pace) == (20.0, 20.0)


async def test_an_idle_instance_goes_by_what_the_busy_ones_measure_and_a_busy_one_by_its_own(
    store_url: str,
) -> None:
    store = await open_store(store_url)
    now = Clock(1_000_000.0)
    a, b = running(store, "a", now), running(store, "b", now)
    try:
        await a.measure(6.0)
        await b.measure(2.0)
        for instance in (a, b, a, b):  # each with its share of the requests at once
            await instance.presence.beat()
        # At its second beat each had measured nothing since its first: both go by both figures.
        assert a.line.pace == b.line.pace == 4.0
        now.now += 5
        await b.measure(2.0)
        await (
            b.presence.beat()
        )  # b measured: it keeps its own average (moved from 4.0 towards 2.0), and writes it
        await (
            a.presence.beat()
        )  # a measured nothing since: both figures, b's fresher one counting a little more
    finally:
        await store.close()
    moved = 4.0 + SMOOTHING * (2.0 - 4.0)
    assert b.line.pace == pytest.approx(moved)
    age = 5 / KEPT_FOR
    assert a.line.pace == pytest.approx((6.0 * (1 - age) + moved) / (2 - age))


class Unreadable(Unreachable):
    """The store, whose measured paces cannot be read."""

    async def paces(self, *, measured_since: float) -> list[Pace]:
        raise OSError("connection reset")


async def test_a_pace_that_cannot_be_read_leaves_the_line_as_it_was(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await SQLiteUploadStore.open(tmp_path / "log.db")
    try:
        first = running(store, "a", Clock(1000.0))
        await first.measure(2.0)
        await first.presence.beat()
        later = running(cast(UploadStore, Unreadable(store)), "a", Clock(1001.0))
        await later.measure(5.0)
        await later.presence.beat()  # writes its own
        await later.presence.beat()  # measured nothing since: the read fails, the heartbeat does not
    finally:
        await store.close()
    assert later.line.pace == 5.0 and later.line.concurrency == 4
    assert "could not read MusicAPI's measured pace" in caplog.text
