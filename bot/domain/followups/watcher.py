"""No follow-up is forgotten: results polled when no webhook settles them, deadlines kept, and results
whose member has not seen them shown again, after a restart too."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.domain.background import Background
from bot.domain.followups.service import REDELIVER_EVERY, FollowUpService
from bot.domain.instances import Presence

log = logging.getLogger(__name__)


class FollowUpWatcher:
    def __init__(
        self,
        service: FollowUpService,
        *,
        presence: Presence | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._service = service
        self._presence = presence
        self._clock = clock
        self._last_redelivery = clock()
        self._background = Background("follow-up-watcher")

    async def recover(self) -> None:
        """At startup: show results settled while the bot could not show them. Pending follow-ups need
        nothing: the store knows when each is due to be asked about. Beside other instances, only results
        settled a while ago (a newer one may be on its way to its member from another instance)."""
        alone = self._presence is None or not self._presence.others
        await self._service.redeliver(older_than=0.0 if alone else REDELIVER_EVERY)

    def start(self) -> None:
        self._background.start(self._loop())

    async def stop(self) -> None:
        await self._background.stop()

    async def _loop(self) -> None:
        tick = min(max(self._service.policy.poll_interval / 2, 0.05), 5.0)
        while True:
            try:
                await self._service.poll_due()
                if self._clock() - self._last_redelivery >= REDELIVER_EVERY:
                    self._last_redelivery = self._clock()
                    await self._service.redeliver()
            except Exception:
                log.exception("watching follow-ups failed; trying again")
            await asyncio.sleep(tick)
