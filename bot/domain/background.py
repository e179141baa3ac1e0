"""A loop that runs beside the bot (a watcher, the heartbeat, housekeeping): started once, cancelled on stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class Background:
    """One named task in the background."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._task: asyncio.Task[None] | None = None

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        self._task = asyncio.create_task(work, name=self._name)

    async def wait(self, within: float) -> None:
        """Wait up to `within` seconds for the task to end; it runs on either way."""
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=within)

    async def stop(self) -> None:
        """Cancel the task and wait until it has ended (nothing if it never started)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
