"""Counting work in progress, so that shutdown can wait for it to finish."""

from __future__ import annotations

import asyncio


class InFlight:
    """A counter of running jobs with an event that is set whenever none is running."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    def track(self) -> InFlight:
        """`with in_flight.track():` counts the block as running. (The counter is its own context
        manager: a generator-based one cost every upload more than the counting.)"""
        return self

    def __enter__(self) -> None:
        self._count += 1
        self._idle.clear()

    def __exit__(self, *_: object) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()

    async def wait_idle(self, within: float) -> bool:
        """Wait until nothing runs; False if `within` seconds passed first."""
        try:
            async with asyncio.timeout(within):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True
