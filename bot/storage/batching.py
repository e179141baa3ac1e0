"""Calls made in one turn of the event loop, run together as one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batched(Generic[T, R]):
    """Calls made in one turn of the event loop run together: `run` gets all their items (at most
    `max_batch` at a time) and returns one result per item, in order."""

    def __init__(self, run: Callable[[list[T]], Awaitable[list[R]]], *, max_batch: int) -> None:
        self._run = run
        self._max = max_batch
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if len(self._waiting) == 1:
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
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
