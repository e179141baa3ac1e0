"""Settle an upload once, then show its member the answer: what a callback and the watcher both do."""

from __future__ import annotations

import asyncio
import logging

from bot.domain.errors import UploadError
from bot.domain.ports import Deliver, TaskResult
from bot.domain.records import UploadRecord
from bot.domain.uploads import UploadService

log = logging.getLogger(__name__)


class Settlement:
    """Applies results that arrive after the command answered, and shows them in the background so that
    the sender of the result (a callback, the watcher's loop) is not kept waiting on Discord."""

    def __init__(self, uploads: UploadService, deliver: Deliver) -> None:
        self._uploads = uploads
        self._deliver = deliver
        self._showing: set[asyncio.Task[bool]] = set()

    def held(self, upload_id: int) -> UploadRecord | None:
        """The record of a pending upload this instance holds (no need to read it from the store)."""
        return self._uploads.held(upload_id)

    async def task_finished(self, record: UploadRecord, result: TaskResult) -> bool:
        """Apply a finished task; False when the upload was already settled (nothing is shown again)."""
        record = self._uploads.current(record)
        if not await self._uploads.settle_task(record, result):
            return False
        self.show(record)
        return True

    async def failed(self, record: UploadRecord, error: UploadError) -> bool:
        record = self._uploads.current(record)
        if not await self._uploads.settle(record, error=error):
            return False
        self.show(record)
        return True

    def show(self, record: UploadRecord) -> None:
        """Show the answer of `record`'s interaction (with `record` as it now stands) in the background."""
        task = asyncio.create_task(self._deliver(record.interaction_id, [record]))
        self._showing.add(task)
        task.add_done_callback(self._shown)

    def _shown(self, task: asyncio.Task[bool]) -> None:
        self._showing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("showing a settled upload to its member failed", exc_info=task.exception())

    async def drain(self, within: float) -> None:
        """Wait (a bounded time) for answers still being shown; at shutdown."""
        if self._showing:
            await asyncio.wait(self._showing, timeout=within)
