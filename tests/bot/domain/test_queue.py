"""The upload line on its own: the order of turns, places in line, the cap, giving up a place."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain import queue as queue_module
from bot.domain.queue import UploadQueue


def line(concurrency: int = 1, capacity: int = 100, typical_turn: float = 10.0) -> UploadQueue:
    return UploadQueue(concurrency=concurrency, capacity=capacity, typical_turn=typical_turn)


async def run_in_order(q: UploadQueue, members: list[int], served: list[str], gate: asyncio.Event) -> None:
    """Every request of `members` (in arrival order) takes its turn; `served` records the order."""

    async def one(member: int, n: int) -> None:
        assert q.admit(1)
        async with q.turn(member, owner=(member, n)):
            served.append(f"{member}.{n}")
            await gate.wait()

    counts: dict[int, int] = {}
    tasks = []
    for member in members:
        counts[member] = counts.get(member, 0) + 1
        tasks.append(asyncio.create_task(one(member, counts[member])))
        await asyncio.sleep(0)  # arrive in this order
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(*tasks)


async def test_one_members_many_files_do_not_hold_everyone_behind_them() -> None:
    q = line(concurrency=1)
    served: list[str] = []
    # Member 1 sends five files at once; members 2 and 3 one each, just after.
    await run_in_order(q, [1, 1, 1, 1, 1, 2, 3], served, asyncio.Event())
    assert served == ["1.1", "2.1", "3.1", "1.2", "1.3", "1.4", "1.5"]


async def test_members_take_turns_round_robin() -> None:
    q = line(concurrency=1)
    served: list[str] = []
    await run_in_order(q, [1, 1, 1, 2, 2, 3], served, asyncio.Event())
    assert served == ["1.1", "2.1", "3.1", "1.2", "2.2", "1.3"]


async def test_no_more_than_concurrency_at_once() -> None:
    q = line(concurrency=3)
    busy = most = 0

    async def one(member: int) -> None:
        nonlocal busy, most
        assert q.admit(1)
        async with q.turn(member):
            busy += 1
            most = max(most, busy)
            await asyncio.sleep(0.01)
            busy -= 1

    await asyncio.gather(*(one(m) for m in range(20)))
    assert most == 3
    assert q.waiting == 0 and q.in_flight == 0


async def test_places_follow_the_round_robin() -> None:
    q = line(concurrency=1)
    gate = asyncio.Event()

    async def one(member: int, owner: Hashable) -> None:
        assert q.admit(1)
        async with q.turn(member, owner=owner):
            await gate.wait()

    tasks = [asyncio.create_task(one(m, o)) for m, o in [(1, "a"), (1, "a"), (1, "a"), (2, "b"), (3, "c")]]
    await asyncio.sleep(0.01)
    # "a" holds the turn and waits with two more files; "b" and "c" have not been served yet.
    assert q.places() == {"b": 1, "c": 2, "a": 3}
    gate.set()
    await asyncio.gather(*tasks)
    assert q.places() == {}


async def test_the_line_refuses_past_its_capacity_and_counts_reserved_places() -> None:
    q = line(concurrency=2, capacity=3)
    assert q.admit(2)  # both go straight to MusicAPI
    assert q.admit(3)  # three wait: the line is full
    assert not q.admit(1)
    q.forfeit(1)  # one of them will not come after all
    assert q.admit(1)
    assert not q.admit(1)


async def test_a_place_given_up_while_waiting_leaves_the_line() -> None:
    q = line(concurrency=1, capacity=1)
    gate = asyncio.Event()
    assert q.admit(1)

    async def first() -> None:
        async with q.turn(1):
            await gate.wait()

    holder = asyncio.create_task(first())
    await asyncio.sleep(0)
    assert q.admit(1)
    assert not q.admit(1)
    with pytest.raises(TimeoutError):
        async with q.turn(2, within=0.05):
            pytest.fail("the turn should not come while the first holds it")
    assert q.waiting == 0
    assert q.admit(1)  # the place was given back
    gate.set()
    await holder


async def test_a_cancelled_wait_passes_nothing_on_and_the_next_one_gets_the_turn() -> None:
    q = line(concurrency=1)
    gate = asyncio.Event()
    order: list[int] = []

    async def one(member: int) -> None:
        assert q.admit(1)
        async with q.turn(member):
            order.append(member)
            await gate.wait()

    tasks = {m: asyncio.create_task(one(m)) for m in (1, 2, 3)}
    await asyncio.sleep(0.01)
    tasks[2].cancel()
    gate.set()
    await asyncio.gather(tasks[1], tasks[3])
    assert order == [1, 3]
    assert q.in_flight == 0


async def test_owners_hear_their_place_at_once_then_no_more_often_than_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = 1000.0
    q = UploadQueue(concurrency=1, capacity=10, typical_turn=30.0, clock=lambda: now)
    heard: list[tuple[str, int, float]] = []

    def listener(owner: str):
        async def on_place(place: int, seconds: float) -> None:
            heard.append((owner, place, seconds))

        return on_place

    gate = asyncio.Event()

    async def one(member: int, owner: str) -> None:
        assert q.admit(1)
        async with q.turn(member, owner=owner, on_place=listener(owner)):
            await gate.wait()

    monkeypatch.setattr(queue_module, "TICK", 3600.0)  # the test drives the ticks itself
    tasks = [asyncio.create_task(one(m, o)) for m, o in [(1, "a"), (2, "b"), (3, "c")]]
    await asyncio.sleep(0.01)
    assert sorted(heard) == [("b", 1, 30.0), ("c", 2, 60.0)]  # at once, with the expected wait
    heard.clear()
    await q.tell_places()  # nothing moved
    assert heard == []
    # "b" leaves the line: "c" moves up, but hears of it only PLACE_EVERY seconds after the last time.
    tasks[1].cancel()
    await asyncio.sleep(0)
    await q.tell_places()
    assert heard == []
    now += queue_module.PLACE_EVERY
    await q.tell_places()
    assert heard == [("c", 1, 30.0)]
    gate.set()
    await asyncio.gather(tasks[0], tasks[2])
    await q.close()


@settings(max_examples=60, deadline=None)
@given(
    arrivals=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=30),
    concurrency=st.integers(min_value=1, max_value=4),
)
def test_every_request_gets_one_turn_none_waits_twice_behind_the_same_member(
    arrivals: list[int], concurrency: int
) -> None:
    """Whatever arrives: never more than `concurrency` at once, each request served once, and a member
    still waiting never sees another member served twice before its own turn."""

    async def scenario() -> list[int]:
        q = line(concurrency=concurrency, capacity=len(arrivals))
        gate = asyncio.Event()
        served: list[int] = []
        busy = 0

        async def one(member: int) -> None:
            nonlocal busy
            assert q.admit(1)
            async with q.turn(member):
                busy += 1
                assert busy <= concurrency
                served.append(member)
                await gate.wait()
                await asyncio.sleep(0)
                busy -= 1

        tasks = [asyncio.create_task(one(m)) for m in arrivals]
        await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(*tasks)
        assert q.waiting == 0 and q.in_flight == 0 and q.admit(len(arrivals))
        return served

    served = asyncio.run(scenario())
    assert sorted(served) == sorted(arrivals)
    # Round-robin: between two turns of a member (the second one taken from the line, not a free slot),
    # every member with a turn still to come had one.
    for i, member in enumerate(served):
        if member not in served[i + 1 :]:
            continue
        j = served.index(member, i + 1)
        if j < concurrency:
            continue  # both went straight to MusicAPI, before anyone waited
        for other in set(served[j + 1 :]) - {member}:
            assert other in served[i + 1 : j], (served, member, other)


async def test_a_smaller_share_lets_turns_already_out_finish_before_new_ones_start() -> None:
    q = line(concurrency=3)
    gates = [asyncio.Event() for _ in range(5)]
    started: list[int] = []

    async def one(n: int) -> None:
        assert q.admit(1)
        async with q.turn(member=n, owner=n):
            started.append(n)
            await gates[n].wait()

    tasks = [asyncio.create_task(one(n)) for n in range(5)]
    await asyncio.sleep(0.01)
    assert started == [0, 1, 2] and q.in_flight == 3
    q.resize(1)  # another instance joined: this one may send one at a time from now on
    gates[0].set()
    gates[1].set()
    await asyncio.sleep(0.01)
    assert started == [0, 1, 2] and q.in_flight == 1  # two ended, none started: one is still out
    gates[2].set()
    await asyncio.sleep(0.01)
    assert started == [0, 1, 2, 3] and q.in_flight == 1
    q.resize(2)  # the other instance left: a waiting request goes at once
    await asyncio.sleep(0.01)
    assert started == [0, 1, 2, 3, 4] and q.in_flight == 2
    for gate in gates:
        gate.set()
    await asyncio.gather(*tasks)
    assert q.in_flight == 0


@settings(max_examples=300, deadline=None)
@example(["in", "in", "in", "resize", "out"], [1] * 40)
@given(
    st.lists(st.sampled_from(["in", "out", "resize"]), max_size=40),
    st.lists(st.integers(min_value=1, max_value=4), min_size=40, max_size=40),
)
def test_the_line_never_has_more_turns_out_than_its_latest_share_allows_new_ones(
    steps: list[str], sizes: list[int]
) -> None:
    """Whatever the order of arrivals, endings and new shares: a turn starts only while fewer than the
    current share are out, and nothing that waits is left waiting while there is room."""

    async def scenario() -> None:
        q = line(concurrency=2)
        out: list[asyncio.Event] = []
        tasks: list[asyncio.Task[None]] = []
        starts_over_share = 0

        async def one(n: int) -> None:
            nonlocal starts_over_share
            assert q.admit(1)
            gate = asyncio.Event()
            async with q.turn(member=n, owner=n):
                out.append(gate)
                if len(out) > q.concurrency:
                    starts_over_share += 1
                await gate.wait()
            out.remove(gate)

        for i, step in enumerate(steps):
            if step == "in":
                tasks.append(asyncio.create_task(one(i)))
            elif step == "out" and out:
                out[0].set()
            elif step == "resize":
                q.resize(sizes[i])
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        assert starts_over_share == 0
        waiting = q.waiting
        assert waiting == 0 or len(out) >= q.concurrency
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())


# -- admitting by time ---------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def take_turn(q: UploadQueue, clock: Clock, seconds: float) -> None:
    """One request that takes `seconds` on `clock`."""
    assert q.admit(1)
    async with q.turn(1):
        clock.now += seconds


async def test_the_first_measured_turn_replaces_the_typical_one_then_the_pace_moves_smoothly() -> None:
    clock = Clock()
    q = UploadQueue(concurrency=1, capacity=100, typical_turn=20.0, clock=clock)
    assert q.pace == 20.0  # nothing measured yet: the typical time
    await take_turn(q, clock, 1.5)
    assert q.pace == 1.5
    await take_turn(q, clock, 11.5)
    assert q.pace == pytest.approx(1.5 + queue_module.SMOOTHING * 10)


async def test_a_pace_learnt_from_elsewhere_counts_as_measured_and_none_brings_back_the_typical_one() -> None:
    clock = Clock()
    q = UploadQueue(concurrency=1, capacity=100, typical_turn=20.0, clock=clock)
    q.learn(2.0)  # what an earlier run measured
    assert (q.pace, q.measured) == (2.0, 0)
    await take_turn(q, clock, 12.0)  # moves it as any later turn would, rather than replacing it
    assert q.pace == pytest.approx(2.0 + queue_module.SMOOTHING * 10) and q.measured == 1
    q.learn(None)  # nothing fresh to go by
    assert (q.pace, q.measured) == (20.0, 1)
    await take_turn(q, clock, 3.0)
    assert q.pace == 3.0


def test_a_new_upload_is_refused_only_when_its_expected_wait_runs_past_what_it_may_wait() -> None:
    q = line(concurrency=20, capacity=5000, typical_turn=20.0)
    assert q.admit(20, within=0.0)  # straight to MusicAPI: no wait at all
    assert q.admit(160, within=160.0)  # the 160th waiting one gets its turn after 8 rounds of 20 s
    assert not q.admit(1, within=160.0)  # the next one would wait 180 s
    assert q.wait_for(1) == 180.0
    assert q.waiting == 0  # admitting holds places; nobody waits in line until their turn is asked for


def test_the_memory_bound_holds_whatever_the_wait() -> None:
    q = line(concurrency=100, capacity=10, typical_turn=0.001)
    assert q.admit(110)
    assert not q.admit(1)


def test_the_expected_wait_counts_on_the_share_this_instance_is_about_to_have() -> None:
    """A new instance may have no requests at once for a few seconds, until the others hand over its
    share: its members are not refused for that."""
    q = line(concurrency=10, typical_turn=20.0)
    q.resize(0)
    q.expect(10)
    assert q.wait_for(100) == 200.0
    q.expect(5)  # a third instance came: a smaller share, longer waits
    q.resize(5)
    assert q.wait_for(100) == 380.0  # 5 go at once, 95 wait: 19 rounds


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=50),
    st.floats(min_value=0.01, max_value=60.0),
    st.floats(min_value=1.0, max_value=600.0),
    st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=60),
)
def test_the_line_admits_exactly_those_it_expects_to_serve_in_time(
    concurrency: int, pace: float, within: float, messages: list[int]
) -> None:
    """Whatever the pace and the limit: a message is admitted when the last of its uploads is expected to
    wait no longer than `within`, refused (holding nothing) otherwise; admitted uploads never wait longer
    than that by the line's own reckoning."""
    q = line(concurrency=concurrency, capacity=10_000, typical_turn=pace)
    admitted = 0
    for count in messages:
        expected = q.wait_for(count)
        assert q.admit(count, within=within) == (expected <= within)
        if expected <= within:
            admitted += count
        assert q.wait_for(0) == q.expected_wait(admitted - concurrency)
    assert q.expected_wait(admitted - concurrency) <= within
