"""Nothing pending is forgotten: recovery at startup, polling of late callbacks, and retries of answers
that could not be shown; with several instances on one store, also the uploads of an instance that
stopped. Polls and retries are claimed through the store, so no two instances do the same one."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.domain.background import Background
from bot.domain.errors import ShuttingDown, UploadError, UploadTimedOut, UploadUnconfirmed
from bot.domain.instances import Presence
from bot.domain.ports import Deliver, UploadStore
from bot.domain.records import PendingBrief, UploadRecord
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
        presence: Presence | None = None,
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
        self._presence = presence
        self._unconfirmed_grace = max(poll_after, UNCONFIRMED_GRACE)
        #: Uploads sent without learning their task id, and when their grace ends.
        self._unconfirmed: dict[int, float] = {}
        self._last_redelivery = clock()
        self._background = Background("pending-watcher")

    async def recover(self) -> None:
        """After a restart: sync uploads that were cut off are told so; finished ones are shown.

        A callback-mode upload cut off before MusicAPI answered stays pending: MusicAPI may have taken
        it, so its callback may still come. Without a task id it cannot be polled, so after a short
        grace (UNCONFIRMED_GRACE, counted from now) its member is told the bot could not confirm it.
        """
        waiting = 0
        for record in await self._uploads.load_pending():
            if not self._mine(record):
                continue  # another instance's: it finishes it, or the watcher does once it has stopped
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
        # Alone, every unshown answer is this instance's to show; beside others, only the older ones (a
        # newer one may be on its way to its member from another instance right now).
        alone = self._presence is None or not self._presence.others
        interactions = await self._claim_undelivered(older_than=0.0 if alone else REDELIVER_EVERY)
        for interaction_id in interactions:
            await self._deliver(interaction_id, ())
        if interactions:
            log.info("delivered %d answer(s) left over from before the restart", len(interactions))

    def start(self) -> None:
        self._background.start(self._loop())

    async def stop(self) -> None:
        await self._background.stop()

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

    def _mine(self, record: UploadRecord | PendingBrief) -> bool:
        return self._uploads.mine(record)

    def _in_hand(self, record: UploadRecord | PendingBrief) -> bool:
        """Someone is sending it now: this instance, or another one that is still alive."""
        if self._mine(record):
            return self._uploads.sending(record.key)
        return self._presence is not None and self._presence.alive(record.instance)

    async def _claim_undelivered(self, *, older_than: float) -> list[int]:
        """Interactions with a settled answer the member has not seen, settled at least `older_than` ago,
        claimed by this instance until the next round of retries."""
        now = self._clock()
        return await self._store.claim_undelivered(
            settled_before=now - older_than, now=now, until=now + REDELIVER_EVERY
        )

    async def redeliver(self) -> None:
        """Answers that could not be shown (Discord down, no channel, DMs closed) are tried again."""
        self._last_redelivery = self._clock()
        for interaction_id in await self._claim_undelivered(older_than=REDELIVER_EVERY):
            await self._deliver(interaction_id, ())

    def _await_callback(self, key: int) -> None:
        """Start the grace of an upload sent without learning its task id (once)."""
        self._unconfirmed.setdefault(key, self._clock() + self._unconfirmed_grace)

    async def poll_once(self) -> None:
        """Ask MusicAPI about uploads whose callback is overdue; give up on those past the deadline, and on
        those sent without learning their task id once their grace has passed. Uploads of an instance
        that stopped are finished here too: a sync one is told it was interrupted.

        Each round reads every pending upload in brief; a whole record only for one it acts on."""
        now = self._clock()
        mark = self._uploads.mark()
        pending = await self._store.pending_briefs()
        keys = {brief.key for brief in pending}
        self._uploads.settled_elsewhere(keys, mark)
        for key in self._unconfirmed.keys() - keys:
            del self._unconfirmed[key]
        due: list[PendingBrief] = []
        for brief in pending:
            key, age = brief.key, now - brief.created_at
            if brief.task_id is not None:
                self._unconfirmed.pop(key, None)
            elif brief.callback_token and not self._in_hand(brief):
                self._await_callback(key)  # its answer was lost: only a callback can settle it
            if key in self._unconfirmed:
                if now >= self._unconfirmed[key] or age > self._deadline:
                    await self._fail(brief, UploadUnconfirmed("no task id and no callback"))
                continue
            if brief.callback_token is None and brief.task_id is None:
                if not self._mine(brief) and not self._in_hand(brief):
                    # A sync upload of an instance that stopped: nobody will hear MusicAPI's answer.
                    await self._fail(brief, ShuttingDown())
                continue  # a sync upload in flight: its own time limit ends it
            if age > self._deadline:
                await self._fail(brief, UploadTimedOut("no result before the deadline"))
                continue
            if brief.task_id is not None and age >= self._poll_after:
                due.append(brief)
        if not due:
            return
        claimed = await self._store.claim_polls([b.key for b in due], now=now, until=now + self._interval)
        for brief in due:
            if brief.key in claimed and brief.task_id is not None and (record := await self._whole(brief)):
                await self._poll(record, brief.task_id)

    async def _whole(self, brief: PendingBrief) -> UploadRecord | None:
        """The whole record of an upload a round acts on: this process's own, or the store's (None once
        it is gone)."""
        return self._uploads.held(brief.key) or await self._store.get(brief.key)

    async def _fail(self, brief: PendingBrief, error: UploadError) -> None:
        if (record := await self._whole(brief)) is not None:
            await self._settlement.failed(record, error)

    async def _poll(self, record: UploadRecord, task_id: str) -> None:
        try:
            result = await self._uploads.client.get_task(task_id)
        except UploadError as exc:
            log.warning("polling task of upload %s failed: %s", record.key, exc.kind.value)
            return
        if result.finished:
            await self._settlement.task_finished(record, result)
