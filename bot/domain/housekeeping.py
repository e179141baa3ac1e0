"""A member's data kept only as long as it is needed: spent tokens and secrets erased, old uploads removed.

Every step is one idempotent store operation, so several instances may run it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from bot.domain.ports import UploadStore

log = logging.getLogger(__name__)

#: How often interaction tokens and callback secrets that are no longer needed are erased (seconds).
ERASE_EVERY = 60.0
#: How often finished uploads past the retention are removed (seconds).
PRUNE_EVERY = 3600.0
DAY = 86400.0


class Housekeeping:
    """Erases interaction tokens once expired or their answer was shown, and callback secrets once their
    upload finished; removes finished uploads `retention_days` after they finished (0: never)."""

    def __init__(
        self, *, store: UploadStore, retention_days: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._retention = retention_days * DAY
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def erase(self) -> int:
        """Erase what no answer or callback will need any more; return how many uploads changed."""
        return await self._store.erase_spent_secrets(self._clock())

    async def prune(self) -> int:
        """Remove finished uploads older than the retention; return how many were removed."""
        if not self._retention:
            return 0
        removed = await self._store.prune(self._clock() - self._retention)
        if removed:
            log.info("removed %d finished upload(s) older than %.0f day(s)", removed, self._retention / DAY)
        return removed

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        """Erase every ERASE_EVERY seconds and prune every PRUNE_EVERY, both at once on start; a step that
        failed is tried again on the next round."""
        pruned_at: float | None = None
        while True:
            try:
                await self.erase()
            except Exception:
                log.exception("erasing spent tokens and secrets failed; trying again")
            now = time.monotonic()
            if pruned_at is None or now - pruned_at >= PRUNE_EVERY:
                try:
                    await self.prune()
                    pruned_at = now
                except Exception:
                    log.exception("removing old uploads failed; trying again")
            await asyncio.sleep(ERASE_EVERY)
