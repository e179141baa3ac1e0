"""Several bot processes on one store: each says it is alive, learns who else is, and takes its share of
the deployment's requests to MusicAPI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from bot.domain.ports import UploadStore

log = logging.getLogger(__name__)


def share(concurrency: int, live: list[str], name: str) -> int:
    """This instance's part of `concurrency` requests at once among the `live` instances (sorted names):
    equal parts, the remainder to the first names, so that the parts add up to `concurrency`. Never 0:
    an instance with no part could send nothing at all."""
    members = sorted(set(live) | {name})
    base, extra = divmod(concurrency, len(members))
    return max(base + (1 if members.index(name) < extra else 0), 1)


class Presence:
    """This instance's heartbeat in the store, and its view of the others (refreshed with each beat).

    An instance not seen for `timeout` seconds is taken for stopped: the uploads it was sending are
    finished by the others (see `PendingWatcher`). A clean stop says so at once.
    """

    def __init__(
        self,
        *,
        store: UploadStore,
        name: str,
        timeout: float,
        concurrency: int,
        on_share: Callable[[int], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._store = store
        self._timeout = timeout
        self._concurrency = concurrency
        self._on_share = on_share
        self._clock = clock
        self._live: list[str] = [name]
        self._share = concurrency
        self._task: asyncio.Task[None] | None = None

    @property
    def every(self) -> float:
        """How often the heartbeat goes out: three beats fit in `timeout`, so one lost beat is harmless."""
        return self._timeout / 3

    @property
    def others(self) -> list[str]:
        """Other instances alive at the last beat."""
        return [n for n in self._live if n != self.name]

    def alive(self, instance: str) -> bool:
        """Whether the instance named `instance` was alive at the last beat (this one always is)."""
        return instance == self.name or instance in self._live

    async def beat(self) -> None:
        """Say this instance is alive, see who else is, and take this instance's share of the line."""
        now = self._clock()
        await self._store.heartbeat(self.name, now)
        live = await self._store.instances(now - self._timeout)
        if live != self._live:
            log.info("instances sharing the store: %s", ", ".join(live) or self.name)
        self._live = live
        part = share(self._concurrency, live, self.name)
        if part != self._share:
            log.info("this instance now sends at most %d upload(s) to MusicAPI at once", part)
            self._share = part
            self._on_share(part)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="presence")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.beat()
            except Exception:
                log.exception("the heartbeat could not be written; trying again")

    async def stop(self) -> None:
        """Stop beating and leave, so that the others take over at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self._store.leave(self.name)
        except Exception:
            log.warning("could not tell the other instances that this one stops")
