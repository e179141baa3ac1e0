"""A member's data kept only as long as it is needed: spent tokens and secrets erased, old uploads removed;
and what instances gone for a day left in the store.

Every step is one idempotent store operation, so several instances may run it at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.domain.background import Background
from bot.domain.followups.ports import FollowUpStore
from bot.domain.followups.records import budget_day
from bot.domain.ports import UploadStore
from bot.domain.records import UploadRecord
from bot.domain.uploads import UploadService

log = logging.getLogger(__name__)

#: How often interaction tokens and callback secrets that are no longer needed are erased (seconds).
ERASE_EVERY = 60.0
#: How often finished uploads past the retention are removed (seconds).
PRUNE_EVERY = 3600.0
DAY = 86400.0
#: How long after an instance was last heard of its heartbeat row and measured pace are removed (seconds):
#: far past the time a pace counts (`pace.KEPT_FOR`), and never less than twice a heartbeat's timeout
#: (`INSTANCE_TIMEOUT`, which has no upper bound), so that nothing reads them any more.
DEPARTED_AFTER = DAY


class Housekeeping:
    """Erases interaction tokens once expired or their answer was shown, and callback secrets once their
    upload finished; removes finished uploads `retention_days` after they finished (0: never)."""

    def __init__(
        self,
        *,
        store: UploadStore,
        retention_days: int,
        follow_ups: FollowUpStore | None = None,
        uploads: UploadService | None = None,
        instance_timeout: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._departed_after = max(DEPARTED_AFTER, 2 * instance_timeout)
        self._uploads = uploads
        self._follow_ups = follow_ups
        self._retention = retention_days * DAY
        self._clock = clock
        self._background = Background("housekeeping")

    async def erase(self) -> int:
        """Erase what no answer or callback will need any more; return how many uploads changed."""
        now = self._clock()
        erased = await self._store.erase_spent_secrets(now)
        if self._uploads is not None:
            self._uploads.erase_spent_tokens(now)  # and the copies this process holds, likewise
        if self._follow_ups is not None:
            erased += await self._follow_ups.erase_spent_secrets(now)
        return erased

    async def forget_departed(self) -> int:
        """Remove what instances gone for DEPARTED_AFTER (or twice INSTANCE_TIMEOUT) left in the store;
        return how many rows went. An instance is named by its shards: after the shards are laid out anew,
        the old names' rows would otherwise stay for good."""
        departed = await self._store.forget_departed(self._clock() - self._departed_after)
        if departed:
            log.info(
                "removed %d row(s) of instances gone for over %.0f hours",
                departed,
                self._departed_after / 3600,
            )
        return departed

    async def prune(self) -> int:
        """Remove finished uploads older than the retention; return how many were removed."""
        if not self._retention:
            return 0
        cutoff = self._clock() - self._retention
        removed = await self._store.prune(cutoff)
        if self._follow_ups is not None:
            removed += await self._follow_ups.prune(cutoff)
        if removed:
            log.info("removed %d finished upload(s) older than %.0f day(s)", removed, self._retention / DAY)
        return removed

    async def forget_member(self, user_id: int) -> int:
        """Delete a member's history at their request: their finished uploads and follow-ups (today's
        follow-ups keep a row without what it said, so that the server's budget for today still counts
        them); return how many were deleted."""
        removed = await self._store.forget_member(user_id)
        if self._follow_ups is not None:
            removed += await self._follow_ups.forget_member(user_id, keep_day=budget_day(self._clock()))
        return removed

    async def history(self, user_id: int, *, limit: int, offset: int = 0) -> list[UploadRecord]:
        """The member's uploads, newest first (what /uploads shows, and what `forget_member` deletes)."""
        return await self._store.history(user_id, limit=limit, offset=offset)

    def start(self) -> None:
        self._background.start(self._loop())

    async def stop(self) -> None:
        await self._background.stop()

    async def _loop(self) -> None:
        """Erase every ERASE_EVERY seconds; prune, and forget departed instances, every PRUNE_EVERY; all at
        once on start. A step that failed is tried again on the next round (ERASE_EVERY later)."""
        hourly = (
            (self.prune, "removing old uploads failed; trying again"),
            (self.forget_departed, "removing what departed instances left failed; trying again"),
        )
        done_at: dict[str, float] = {}
        while True:
            try:
                await self.erase()
            except Exception:
                log.exception("erasing spent tokens and secrets failed; trying again")
            now = time.monotonic()
            for step, failed in hourly:
                if step.__name__ in done_at and now - done_at[step.__name__] < PRUNE_EVERY:
                    continue
                try:
                    await step()
                    done_at[step.__name__] = now
                except Exception:
                    log.exception(failed)
            await asyncio.sleep(ERASE_EVERY)
