"""The whole bot's daily spend, on each backend: reserving is one atomic step, so callers racing from two
instances never pass the ceiling together."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.spending import SpendLedger
from bot.storage import open_store, spend_ledger
from bot.storage.rows import Row
from bot.storage.spend import SQLSpendLedger
from bot.storage.sqlite import SQLiteUploadStore

DAY, NEXT_DAY = "2026-11-24", "2026-11-25"


async def test_reservations_stop_at_the_ceiling_and_count_per_day(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        ledger = spend_ledger(store)
        assert await ledger.spend_of(DAY) == 0
        assert not await ledger.reserve_spend(DAY, 31, 30)  # a fresh day refuses a call over the ceiling
        assert await ledger.spend_of(DAY) == 0
        assert [await ledger.reserve_spend(DAY, 15, 30) for _ in range(3)] == [True, True, False]
        assert await ledger.reserve_spend(NEXT_DAY, 15, 30)  # a new day starts from nothing
        assert (await ledger.spend_of(DAY), await ledger.spend_of(NEXT_DAY)) == (30, 15)
        await ledger.release_spend(DAY, 15)
        assert await ledger.reserve_spend(DAY, 2, 30) and await ledger.spend_of(DAY) == 17
        await ledger.release_spend(DAY, 100)  # never below nothing
        assert await ledger.spend_of(DAY) == 0
        await ledger.release_spend("2026-01-01", 5)  # a day without spend stays without
        assert await ledger.spend_of("2026-01-01") == 0
    finally:
        await store.close()


async def test_no_ceiling_counts_and_refuses_nothing(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        ledger = spend_ledger(store)
        assert all([await ledger.reserve_spend(DAY, 1000, 0) for _ in range(3)])
        assert await ledger.spend_of(DAY) == 3000
    finally:
        await store.close()


async def test_two_instances_racing_never_pass_the_ceiling_together(store_url: str) -> None:
    first, second = await open_store(store_url), await open_store(store_url)
    try:
        ledgers: list[SpendLedger] = [spend_ledger(first), spend_ledger(second)]
        results = await asyncio.gather(*(ledgers[n % 2].reserve_spend(DAY, 2, 31) for n in range(40)))
        assert sum(results) == 15  # 15 x 2 = 30; the 16th would make 32
        assert await ledgers[0].spend_of(DAY) == await ledgers[1].spend_of(DAY) == 30
    finally:
        await first.close()
        await second.close()


@settings(max_examples=30, deadline=None)
@given(calls=st.lists(st.integers(min_value=1, max_value=40), max_size=25), ceiling=st.integers(0, 200))
def test_the_total_is_what_was_granted_and_within_the_ceiling(
    tmp_path_factory: pytest.TempPathFactory, calls: list[int], ceiling: int
) -> None:
    """SQLite: any sequence of reservations grants exactly those that fit, in order."""

    async def run() -> None:
        path = tmp_path_factory.mktemp("ledger") / "log.db"
        store = await open_store(f"sqlite:///{path}")
        try:
            ledger = spend_ledger(store)
            granted = [c for c in calls if await ledger.reserve_spend(DAY, c, ceiling)]
            total = await ledger.spend_of(DAY)
            assert total == sum(granted)
            if ceiling:
                assert total <= ceiling
                assert all(c in granted or total + c > ceiling or c > ceiling for c in calls)
            else:
                assert granted == calls
        finally:
            await store.close()

    asyncio.run(run())


async def test_reservations_of_one_turn_take_the_longest_run_that_fits(store_url: str) -> None:
    """A burst reserves in one statement: the run of its reservations, in order, that keeps the total
    within the ceiling is granted, and nothing after the first that does not fit (a smaller one after a
    refused one waits for the next turn rather than overtake it)."""
    store = await open_store(store_url)
    try:
        ledger = spend_ledger(store)
        assert await ledger.reserve_spend(DAY, 5, 30)
        results = await asyncio.gather(*(ledger.reserve_spend(DAY, c, 30) for c in (10, 2, 15, 1, 1)))
        assert results == [True, True, False, False, False]
        assert await ledger.spend_of(DAY) == 17
        assert await ledger.reserve_spend(DAY, 1, 30)  # the next turn takes the small one
        fresh = await asyncio.gather(*(ledger.reserve_spend(NEXT_DAY, c, 0) for c in (7, 0, 9)))
        assert fresh == [True, True, True] and await ledger.spend_of(NEXT_DAY) == 16
        assert not await ledger.reserve_spend("2026-12-01", 40, 30)  # over the ceiling on a fresh day
    finally:
        await store.close()


class Recording:
    """A store's runner that remembers the text of every statement it fetched with."""

    def __init__(self, store: SQLiteUploadStore) -> None:
        self.runner = store.runner
        self.json_values = self.runner.json_values
        self.texts: list[str] = []

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        self.texts.append(sql)
        return await self.runner.fetch(sql, *args)


async def test_bursts_of_any_size_reserve_with_one_statement_text(tmp_path: Path) -> None:
    """Each backend prepares the reservations' statement once: its text does not grow with the burst
    (a text per burst size had SQLite parse one of hundreds of branches for nearly every burst)."""
    store = await open_store(f"sqlite:///{tmp_path / 'log.db'}")
    assert isinstance(store, SQLiteUploadStore)
    try:
        recording = Recording(store)
        ledger = SQLSpendLedger(recording)  # type: ignore[arg-type]
        for size in (1, 3, 17, 60):
            granted = await asyncio.gather(*(ledger.reserve_spend(DAY, 2, 1000) for _ in range(size)))
            assert all(granted)
        assert len(recording.texts) == 4 and len(set(recording.texts)) == 1
        assert await ledger.spend_of(DAY) == 2 * (1 + 3 + 17 + 60)
    finally:
        await store.close()


@settings(max_examples=30, deadline=None)
@given(
    calls=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=40),
    ceiling=st.integers(0, 200),
    before=st.integers(0, 60),
)
def test_a_turns_reservations_grant_exactly_the_run_that_fits(
    tmp_path_factory: pytest.TempPathFactory, calls: list[int], ceiling: int, before: int
) -> None:
    """SQLite: reservations made together grant their longest leading run within the ceiling."""

    async def run() -> None:
        path = tmp_path_factory.mktemp("ledger") / "log.db"
        store = await open_store(f"sqlite:///{path}")
        try:
            ledger = spend_ledger(store)
            started = await ledger.reserve_spend(DAY, before, ceiling) if before else False
            spent = before if started else 0
            results = await asyncio.gather(*(ledger.reserve_spend(DAY, c, ceiling) for c in calls))
            expected: list[bool] = []
            total = spent
            for c in calls:
                fits = not ceiling or total + c <= ceiling
                fits = fits and (not expected or expected[-1])
                expected.append(fits)
                total += c if fits else 0
            assert results == expected
            assert await ledger.spend_of(DAY) == total
        finally:
            await store.close()

    asyncio.run(run())
