"""Calls made in one turn of the event loop, run together as one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batched(Generic[T, R]):
    """Calls made in one turn of the event loop run together: `run` gets all their items (at most
    `max_batch` at a time) and returns one result per item, in order.

    With a `window` (seconds), calls made within that time of the first one run together instead: for a
    write nobody waits on to go on, whose callers arrive a few at a time (see `drain` for shutdown)."""

    def __init__(
        self, run: Callable[[list[T]], Awaitable[list[R]]], *, max_batch: int, window: float = 0.0
    ) -> None:
        self._run = run
        self._max = max_batch
        self._window = window
        self._timer: asyncio.TimerHandle | None = None
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if len(self._waiting) == 1:
            if self._window > 0:
                self._timer = loop.call_later(self._window, self._flush)
            else:
                loop.call_soon(self._flush)
        return await future

    async def drain(self) -> None:
        """Run whatever waits now (a window's calls without waiting for it to end), and wait until every
        batch has run."""
        while self._waiting or self._running:
            if self._timer is not None:
                self._timer.cancel()
                self._flush()
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)
            else:
                await asyncio.sleep(0)  # a batch of this turn, about to be flushed

    def _flush(self) -> None:
        self._timer = None
        if not self._waiting:
            return
        batch, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
        if self._waiting:
            asyncio.get_running_loop().call_soon(self._flush)
        task = asyncio.ensure_future(self._settle(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _settle(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
