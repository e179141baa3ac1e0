"""Running uploads: record them, hand them to MusicAPI, and settle each one exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.errors import ErrorKind, ShuttingDown, TaskFailed, UploadError, UploadTimedOut
from bot.inflight import InFlight
from bot.musicapi import MusicAPIClient, TaskResult
from bot.sources import Source
from bot.store import FAILED, PENDING, SKIPPED, UploadRecord, UploadStore

log = logging.getLogger("bot.uploads")
T = TypeVar("T")

CALLBACK_PATH = "/musicapi/callback"

#: Discord keeps an interaction token valid for 15 minutes.
TOKEN_LIFETIME = 15 * 60


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file of a message that is not sent, with the sentence saying why; it is listed in the answer."""

    kind: str
    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked for an upload, and what it takes to answer them later."""

    interaction_id: int
    application_id: int
    token: str
    user_id: int
    guild_id: int | None
    channel_id: int | None
    locale: str
    token_expires_at: float


class UploadService:
    """Discord-free: records each upload, calls MusicAPI, and settles it as succeeded or failed."""

    def __init__(
        self,
        *,
        client: MusicAPIClient,
        store: UploadStore,
        upload_timeout: float,
        callback_base: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.store = store
        self._timeout = upload_timeout
        self._callback_base = callback_base.rstrip("/") if callback_base else None
        self._clock = clock
        self._stopping = asyncio.Event()
        self.in_flight = InFlight()

    @property
    def callback_mode(self) -> bool:
        return self._callback_base is not None

    def callback_url(self, record: UploadRecord) -> str | None:
        """Where MusicAPI reports this upload: its id, and a secret only MusicAPI learns."""
        if self._callback_base is None or not record.callback_token:
            return None
        return f"{self._callback_base}{CALLBACK_PATH}/{record.key}.{record.callback_token}"

    def stop(self) -> None:
        """Make every upload still waiting on MusicAPI's first answer end now, as interrupted."""
        self._stopping.set()

    async def start(self, who: Requester, items: Sequence[Source | Skipped]) -> None:
        """Upload every source; return once each is settled or handed to a callback (the store has the result)."""
        runs = []
        for position, source in enumerate(items):
            skipped = isinstance(source, Skipped)
            record = UploadRecord(
                interaction_id=who.interaction_id,
                application_id=who.application_id,
                interaction_token=who.token,
                token_expires_at=who.token_expires_at,
                user_id=who.user_id,
                guild_id=who.guild_id,
                channel_id=who.channel_id,
                locale=who.locale,
                source_kind=source.kind,
                label=source.label,
                position=position,
                callback_token=secrets.token_urlsafe(32) if self.callback_mode and not skipped else None,
                state=FAILED if skipped else PENDING,
                error_kind=SKIPPED if skipped else None,
                error_detail=source.text if isinstance(source, Skipped) else None,
            )
            stored = await self.store.add(record)
            if isinstance(source, Source):
                runs.append(self._run(stored, source))
        with self.in_flight.track():
            await asyncio.gather(*runs)

    async def _run(self, record: UploadRecord, source: Source) -> None:
        callback = self.callback_url(record)
        try:
            async with asyncio.timeout(self._timeout):
                accepted = await self._unless_stopping(self.client.upload(source.url, callback_url=callback))
            if accepted.clip_id:
                await self.settle(record, clip_id=accepted.clip_id)
            elif accepted.task_id:
                await self.store.set_task(record.key, accepted.task_id)
        except UploadError as exc:
            await self.settle(record, error=exc)
        except TimeoutError:
            await self.settle(record, error=UploadTimedOut())

    async def _unless_stopping(self, call: Coroutine[Any, Any, T]) -> T:
        if self._stopping.is_set():
            call.close()
            raise ShuttingDown()
        work = asyncio.ensure_future(call)
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await work
            raise ShuttingDown()
        return work.result()

    async def settle(
        self, record: UploadRecord, *, clip_id: str | None = None, error: UploadError | None = None
    ) -> bool:
        """Mark a pending upload finished and log it; False when it was already settled (a duplicate)."""
        kind = error.kind if error else None
        changed = await self.store.finish(
            record.key,
            clip_id=clip_id,
            error_kind=kind.value if kind else None,
            detail=error.detail if error else "",
        )
        if changed and kind is ErrorKind.UNAUTHORIZED:
            log.error(
                "MusicAPI did not accept MUSICAPI_API_KEY (%s): every upload fails until it is fixed", error
            )
        if changed:
            log.info(
                "upload id=%s user=%s guild=%s source=%s outcome=%s duration=%.2fs",
                record.id,
                record.user_id,
                record.guild_id,
                record.source_kind,
                "succeeded" if clip_id else (kind.value if kind else "failed"),
                self._clock() - record.created_at,
            )
        return changed

    async def settle_task(self, record: UploadRecord, result: TaskResult) -> bool:
        """Apply a finished task (callback or poll) to its upload."""
        if result.state == "succeeded" and result.clip_id:
            return await self.settle(record, clip_id=result.clip_id)
        return await self.settle(record, error=result.error or TaskFailed())
