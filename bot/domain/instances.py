"""Several bot processes on one store: each says it is alive, learns who else is, and takes its share of
the deployment's requests to MusicAPI.

The deployment's limit (MUSICAPI_CONCURRENCY) holds across instances: with each heartbeat an instance
records what it is *holding* (its share, or the requests it still has out, if more), and it never allows
itself more than the limit minus what the others hold. A newcomer therefore starts with what is free and
grows as the others shrink to their new shares and their requests end.

The heartbeat also carries MusicAPI's measured pace both ways (see `pace`): an instance writes its own
when its line has measured turns since the last beat, and, while it measures nothing, goes by the fresh
figures in the store (its own earlier ones among them), so that a restart or a newcomer starts from
what was measured rather than from the typical figure.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.domain.background import Background
from bot.domain.pace import KEPT_FOR, Pace, UploadMode, combined
from bot.domain.ports import UploadStore
from bot.domain.queue import UploadQueue

log = logging.getLogger(__name__)

#: Seconds between tries to take this instance's name while another process holds it.
TAKE_OVER_EVERY = 1.0
#: Seconds between heartbeats (at most), and while this instance still waits for part of its share.
REGULAR_BEAT = 5.0
EAGER_BEAT = 1.0


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
        line: UploadQueue,
        mode: UploadMode = UploadMode.SYNC,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._mode = mode
        self._kept = 0  # the turns the line had measured when its pace was last written
        self._last_pace: float | None = None  # what the store said last
        self._store = store
        self._timeout = timeout
        self._concurrency = concurrency
        self._line = line
        self._clock = clock
        self._live: list[str] = [name]
        self._background = Background("presence")
        self._crowded = False
        self._target = concurrency
        self._granted = concurrency
        self._last_beat: float | None = None

    @property
    def every(self) -> float:
        """How often the heartbeat goes out: at least three beats fit in `timeout`, so one lost beat is
        harmless; more often while this instance has less than its share (it grows as others shrink)."""
        regular = min(self._timeout / 3, REGULAR_BEAT)
        return min(regular, EAGER_BEAT) if self._line.concurrency < self._target else regular

    @property
    def others(self) -> list[str]:
        """Other instances alive at the last beat."""
        return [n for n in self._live if n != self.name]

    def alive(self, instance: str) -> bool:
        """Whether the instance named `instance` was alive at the last beat (this one always is)."""
        return instance == self.name or instance in self._live

    async def take_name(self) -> None:
        """Hold this instance's name (its shards) for as long as the process runs. While another process
        holds it (running the same shards: the one being replaced, say), wait until that one stops, so
        that no interaction reaches two processes and nothing is sent twice."""
        told = False
        while not await self._store.hold_name(self.name):
            if not told:
                log.warning("another process runs %s: waiting for it to stop before taking over", self.name)
                told = True
            await asyncio.sleep(TAKE_OVER_EVERY)
        if told:
            log.info("the other process stopped: this one runs %s now", self.name)

    async def beat(self) -> None:
        """See who else is alive and what they hold, take this instance's share of what is free, and say
        so (with that this instance is alive)."""
        now = self._clock()
        measured = self._line.measured
        pace = self._new_pace(now)
        others = await self._store.heartbeat(
            self.name, now=now, seen_since=now - self._timeout, hold=self._hold, pace=pace
        )
        self._last_beat = now
        self._kept = measured
        if self._granted > self._line.concurrency:
            self._line.resize(self._granted)  # growing only once the others can see it
        live = sorted([*others, self.name])
        if live != self._live:
            log.info("instances sharing the store: %s", ", ".join(live))
        self._live = live
        if pace is None:
            await self._recall(now, measured)

    def _new_pace(self, now: float) -> Pace | None:
        """This instance's pace, when its line measured turns since it was last written. It goes with the
        heartbeat, in the heartbeat's own transaction: at most one statement a beat (a figure a few seconds
        old admits as well as a fresh one), never one per upload, whose path stays as lean as it was."""
        if self._line.measured == self._kept:
            return None
        return Pace(self._line.pace, self._mode, now)

    async def _recall(self, now: float, measured: int) -> None:
        """Nothing measured here since the last beat: go by the figures in the store that are still fresh
        (the typical one if none is). A failed read keeps the pace as it is."""
        try:
            stored = await self._store.paces(measured_since=now - KEPT_FOR)
        except Exception:
            log.warning("could not read MusicAPI's measured pace from the store")
            return
        if self._line.measured != measured:
            return  # a turn ended meanwhile: fresher than anything stored
        pace = combined(stored, mode=self._mode, now=now)
        if pace is not None and self._last_pace is None:
            log.info("going by MusicAPI's pace as measured before: %.1fs an upload", pace)
        self._last_pace = pace
        self._line.learn(pace)

    def _hold(self, others: dict[str, int]) -> int:
        """Take this instance's share, or what the others leave free if less; return what it now holds
        (its share, or the requests it still has out if more)."""
        live = sorted([*others, self.name])
        target = self._target = share(self._concurrency, live, self.name)
        self._line.expect(target)
        free = self._concurrency - sum(others.values())
        self._warn_if_crowded(len(live))
        allowed = self._granted = max(min(target, free), 1 if self._crowded else 0)
        if allowed != self._line.concurrency:
            log.info("this instance now sends at most %d upload(s) to MusicAPI at once", allowed)
        if allowed < self._line.concurrency:
            self._line.resize(allowed)  # shrinking before the others can count on it
        return max(allowed, self._line.in_flight)

    def _warn_if_crowded(self, instances: int) -> None:
        """More instances than requests allowed at once: each still sends one (the limit is exceeded)."""
        crowded = instances > self._concurrency
        if crowded and not self._crowded:
            log.warning(
                "%d instances share MUSICAPI_CONCURRENCY=%d: each sends one upload at a time, %d in all; "
                "raise MUSICAPI_CONCURRENCY to at least the number of instances",
                instances,
                self._concurrency,
                instances,
            )
        self._crowded = crowded

    def start(self) -> None:
        self._background.start(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await self.tick()

    async def tick(self) -> None:
        """One heartbeat of the loop. Without a heartbeat for half the timeout, the others may soon count
        this instance as stopped and take its share: it sends nothing new until it is heard again."""
        try:
            await self.beat()
        except Exception:
            log.exception("the heartbeat could not be written; trying again")
            if self._last_beat is not None and self._clock() - self._last_beat >= self._timeout / 2:
                if self._line.concurrency:
                    log.warning("no heartbeat for %.0fs: no new uploads start until then", self._timeout / 2)
                self._line.resize(0)

    async def stop(self) -> None:
        """Stop beating and leave, so that the others take over at once."""
        await self._background.stop()
        try:
            await self._store.leave(self.name, pace=self._new_pace(self._clock()))
        except Exception:
            log.warning("could not tell the other instances that this one stops")
