"""Nothing pending is forgotten: recovery at startup, polling of late callbacks, and retries of answers
that could not be shown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from bot.domain.errors import ShuttingDown, UploadError, UploadTimedOut, UploadUnconfirmed
from bot.domain.ports import Deliver, UploadStore
from bot.domain.settlement import Settlement
from bot.domain.uploads import UploadService

log = logging.getLogger(__name__)

#: How often, and how long after it was settled, an answer that could not be shown is tried again.
REDELIVER_EVERY = 120.0
#: How long a callback-mode upload that never got its task id (its answer was lost, or the bot restarted
#: while sending it) waits for MusicAPI's callback before its member is told (never less than
#: MUSICAPI_POLL_AFTER). MusicAPI may have taken the upload and may still call back; without a task id
#: the bot cannot ask, so waiting the full MUSICAPI_POLL_DEADLINE would only keep the member waiting.
UNCONFIRMED_GRACE = 180.0


class PendingWatcher:
    def __init__(
        self,
        *,
        uploads: UploadService,
        store: UploadStore,
        settlement: Settlement,
        deliver: Deliver,
        poll_after: float,
        poll_interval: float,
        deadline: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._uploads = uploads
        self._store = store
        self._settlement = settlement
        self._deliver = deliver
        self._poll_after = poll_after
        self._interval = poll_interval
        self._deadline = deadline
        self._clock = clock
        self._last_poll: dict[int, float] = {}
        self._unconfirmed_grace = max(poll_after, UNCONFIRMED_GRACE)
        #: Uploads sent without learning their task id, and when their grace ends.
        self._unconfirmed: dict[int, float] = {}
        self._last_redelivery = clock()
        self._task: asyncio.Task[None] | None = None

    async def recover(self) -> None:
        """After a restart: sync uploads that were cut off are told so; finished ones are shown.

        A callback-mode upload cut off before MusicAPI answered stays pending: MusicAPI may have taken
        it, so its callback may still come. Without a task id it cannot be polled, so after a short
        grace (UNCONFIRMED_GRACE, counted from now) its member is told the bot could not confirm it.
        """
        waiting = 0
        for record in await self._uploads.load_pending():
            if record.task_id is None and record.callback_token is None:
                await self._uploads.settle(record, error=ShuttingDown())
            elif record.task_id is None:
                waiting += 1
                self._await_callback(record.key)
        if waiting:
            log.info(
                "%d upload(s) sent before the restart have no task id: waiting %.0fs for their callbacks",
                waiting,
                self._unconfirmed_grace,
            )
        interactions = await self._undelivered(older_than=0.0)
        for interaction_id in interactions:
            await self._deliver(interaction_id, ())
        if interactions:
            log.info("delivered %d answer(s) left over from before the restart", len(interactions))

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="pending-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        tick = min(max(min(self._interval, self._poll_after) / 2, 0.05), 5.0)
        while True:
            try:
                await self.poll_once()
                if self._clock() - self._last_redelivery >= REDELIVER_EVERY:
                    await self.redeliver()
            except Exception:
                log.exception("watching pending uploads failed; trying again")
            await asyncio.sleep(tick)

    async def _undelivered(self, *, older_than: float) -> list[int]:
        """Interactions with a settled answer the member has not seen, settled at least `older_than` ago."""
        now = self._clock()
        stale = [r for r in await self._store.undelivered() if now - r.updated_at >= older_than]
        return list(dict.fromkeys(r.interaction_id for r in stale))

    async def redeliver(self) -> None:
        """Answers that could not be shown (Discord down, no channel, DMs closed) are tried again."""
        self._last_redelivery = self._clock()
        for interaction_id in await self._undelivered(older_than=REDELIVER_EVERY):
            await self._deliver(interaction_id, ())

    def _await_callback(self, key: int) -> None:
        """Start the grace of an upload sent without learning its task id (once)."""
        self._unconfirmed.setdefault(key, self._clock() + self._unconfirmed_grace)

    async def poll_once(self) -> None:
        """Ask MusicAPI about uploads whose callback is overdue; give up on those past the deadline, and on
        those sent without learning their task id once their grace has passed."""
        now = self._clock()
        pending = await self._store.pending()
        keys = {r.key for r in pending}
        for key in self._last_poll.keys() - keys:
            del self._last_poll[key]
        for key in self._unconfirmed.keys() - keys:
            del self._unconfirmed[key]
        for record in pending:
            key, age = record.key, now - record.created_at
            if record.task_id is not None:
                self._unconfirmed.pop(key, None)
            elif record.callback_token and not self._uploads.sending(key):
                self._await_callback(key)  # its answer was lost: only a callback can settle it
            if key in self._unconfirmed:
                if now >= self._unconfirmed[key] or age > self._deadline:
                    await self._settlement.failed(record, UploadUnconfirmed("no task id and no callback"))
                continue
            if record.callback_token is None and record.task_id is None:
                continue  # a sync upload in flight: its own time limit ends it
            if age > self._deadline:
                await self._settlement.failed(record, UploadTimedOut("no result before the deadline"))
                continue
            if record.task_id is None or age < self._poll_after:
                continue
            if now - self._last_poll.get(key, 0.0) < self._interval:
                continue
            self._last_poll[key] = now
            try:
                result = await self._uploads.client.get_task(record.task_id)
            except UploadError as exc:
                log.warning("polling task of upload %s failed: %s", key, exc.kind.value)
                continue
            if result.finished:
                await self._settlement.task_finished(record, result)
