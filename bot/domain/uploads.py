"""Running uploads: record them, hand them to MusicAPI, and settle each one exactly once."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

from bot.domain.errors import (
    ErrorKind,
    QueueTimedOut,
    ServiceUnavailable,
    ShuttingDown,
    TaskFailed,
    UploadError,
    UploadTimedOut,
    UploadUnconfirmed,
)
from bot.domain.followups.records import budget_day
from bot.domain.inflight import InFlight
from bot.domain.instances import Presence
from bot.domain.ports import Metrics, MusicAPI, NoMetrics, TaskResult, TaskState, UploadStore
from bot.domain.queue import OnPlace, UploadQueue
from bot.domain.records import ERASED_TOKEN, PendingBrief, Requester, SourceKind, UploadRecord, UploadState
from bot.domain.sources import Source, SourceRejected
from bot.domain.spending import DailyCeiling, Reservation, uncharged

log = logging.getLogger("bot.uploads")

CALLBACK_PATH = "/musicapi/callback"
#: How long admitting an upload waits for the store to count the member's uploads on other instances.
ELSEWHERE_WITHIN = 1.0


class Admission(StrEnum):
    """Whether a member's new uploads may start."""

    ADMITTED = "admitted"
    MEMBER_BUSY = "member_busy"
    LINE_FULL = "line_full"


class UploadService:
    """Records each upload, calls MusicAPI, and settles it as succeeded or failed."""

    def __init__(
        self,
        *,
        client: MusicAPI,
        store: UploadStore,
        queue: UploadQueue,
        upload_timeout: float,
        callback_base: str | None = None,
        metrics: Metrics | None = None,
        presence: Presence | None = None,
        clock: Callable[[], float] = time.time,
        ceiling: DailyCeiling | None = None,
        upload_credits: int = 0,
    ) -> None:
        self.client = client
        #: The whole bot's daily ceiling, and what one upload reserves against it.
        self._ceiling = ceiling
        self._upload_credits = upload_credits
        self.presence = presence
        self._metrics = metrics or NoMetrics()
        self.store = store
        self.queue = queue
        self._timeout = upload_timeout
        self._callback_base = callback_base.rstrip("/") if callback_base else None
        self._clock = clock
        self._stopping = False
        self._waiting: set[asyncio.Task[Any]] = set()
        self._sending: set[int] = set()  # uploads in line or at MusicAPI in this run
        #: A member's uploads in progress on this instance: slots held by `admit` whose upload is not
        #: recorded yet, and recorded uploads not settled yet (upload id -> member, and a serial number).
        self._held: dict[int, int] = {}
        self._open: dict[int, tuple[int, int]] = {}
        self._open_per_member: dict[int, int] = {}
        #: The same uploads' records: the one copy this process changes, so that what it holds is never
        #: read back from the store (a callback, a poll and the command's own answer share it).
        self._live: dict[int, UploadRecord] = {}
        self._serial = 0
        self.in_flight = InFlight()

    def pending_for(self, user_id: int) -> int:
        """Uploads of this member not settled yet, those waiting for a callback included."""
        return self._held.get(user_id, 0) + self._open_per_member.get(user_id, 0)

    def held(self, upload_id: int) -> UploadRecord | None:
        """The record of an upload of this instance not settled yet, as this process knows it."""
        return self._live.get(upload_id)

    def current(self, record: UploadRecord) -> UploadRecord:
        """The copy of `record` this process settles: the one it holds, else `record` itself."""
        return self._live.get(record.key, record)

    def erase_spent_tokens(self, now: float) -> None:
        """Forget the interaction tokens of held uploads that expired by `now`, as the store does."""
        for record in self._live.values():
            if record.token_expires_at <= now:
                record.interaction_token = ERASED_TOKEN

    @property
    def alone(self) -> bool:
        """No other instance is alive: nothing but this process settles this instance's uploads."""
        return self.presence is None or not self.presence.others

    def sending(self, upload_id: int) -> bool:
        """The upload is in line or being sent now (its outcome is not up to a callback yet)."""
        return upload_id in self._sending

    @property
    def pending(self) -> int:
        """Uploads not settled yet, of every member."""
        return sum(self._held.values()) + len(self._open)

    async def load_pending(self) -> list[UploadRecord]:
        """Count the uploads left pending by an earlier run (once, at startup); return them."""
        pending = await self.store.pending()
        for record in pending:
            if self.mine(record):
                self._opened(record)
        return pending

    def mine(self, record: UploadRecord | PendingBrief) -> bool:
        """Sent by this instance (in this run or before a restart), or by none that is named."""
        return record.instance in ("", self.instance)

    def _opened(self, record: UploadRecord) -> None:
        self._serial += 1
        self._open[record.key] = (record.user_id, self._serial)
        self._open_per_member[record.user_id] = self._open_per_member.get(record.user_id, 0) + 1
        self._live[record.key] = record

    def _closed(self, upload_id: int) -> None:
        self._live.pop(upload_id, None)
        found = self._open.pop(upload_id, None)
        if found is not None:
            member = found[0]
            left = self._open_per_member.pop(member, 0) - 1
            if left > 0:
                self._open_per_member[member] = left

    def mark(self) -> int:
        """A point in time for `settled_elsewhere`: take it before reading the pending uploads."""
        return self._serial

    def settled_elsewhere(self, still_pending: set[int], mark: int) -> None:
        """This instance's uploads recorded before `mark` that are not in `still_pending` (read after it)
        were settled by another instance (its callback reached that one): their slots are free."""
        for upload_id, (_, serial) in list(self._open.items()):
            if serial <= mark and upload_id not in still_pending:
                self._closed(upload_id)

    @property
    def callback_mode(self) -> bool:
        return self._callback_base is not None

    def callback_url(self, record: UploadRecord) -> str | None:
        """Where MusicAPI reports this upload: its id, and a secret only MusicAPI learns."""
        if self._callback_base is None or not record.callback_token:
            return None
        return f"{self._callback_base}{CALLBACK_PATH}/{record.key}.{record.callback_token}"

    def stop(self) -> None:
        """End every upload still waiting on MusicAPI's first answer now.

        In sync mode the member is told the upload was interrupted. In callback mode MusicAPI may have
        taken it already, so it stays pending: its callback, or the watcher's deadline, settles it.
        """
        self._stopping = True
        for task in list(self._waiting):
            task.cancel()

    @property
    def instance(self) -> str:
        """The name this instance stamps on the uploads it sends."""
        return self.presence.name if self.presence is not None else ""

    async def pending_elsewhere(self, user_id: int) -> int:
        """The member's uploads that other live instances are sending (0 when this one is alone)."""
        if self.presence is None or not self.presence.others:
            return 0
        try:
            async with asyncio.timeout(ELSEWHERE_WITHIN):
                return await self.store.pending_count(user_id, other_than=self.instance)
        except TimeoutError:
            # The member's first answer must come within Discord's 3 s: count this instance's alone.
            log.warning("the store took over %.0fs to count uploads on other instances", ELSEWHERE_WITHIN)
            return 0

    async def admit(self, user_id: int, count: int, limit: int) -> Admission:
        """Hold `count` upload slots for a member and `count` places in the line, or nothing.

        A member with nothing pending (here or on another instance) may always start one message's
        worth; past `limit` the member is busy. The line refuses when the last of them, at MusicAPI's
        measured pace, would wait longer than `line_wait` (or past the line's capacity, a bound on memory).
        Within this instance, check and hold are one step.
        """
        elsewhere = await self.pending_elsewhere(user_id)
        pending = self.pending_for(user_id) + elsewhere
        if pending > 0 and pending + count > limit:
            return Admission.MEMBER_BUSY
        if not self.queue.admit(count, within=self.line_wait):
            return Admission.LINE_FULL
        if count:
            self._held[user_id] = self._held.get(user_id, 0) + count
        return Admission.ADMITTED

    @property
    def line_wait(self) -> float:
        """How long an upload may wait for its turn: what UPLOAD_TIMEOUT leaves once its request has taken
        as long as requests to MusicAPI take now."""
        return max(self._timeout - self.queue.pace, 0.0)

    def withdraw(self, user_id: int, count: int) -> None:
        """Give back what `admit` held for uploads that will not start."""
        self._release(user_id, count)
        self.queue.forfeit(count)

    def _release(self, user_id: int, count: int) -> None:
        """Give back slots held by `admit` that no recorded upload uses."""
        left = self._held.pop(user_id, 0) - count
        if left > 0:
            self._held[user_id] = left

    def _record(
        self, who: Requester, item: Source | SourceRejected, position: int, size: int
    ) -> UploadRecord:
        common: dict[str, Any] = {
            "interaction_id": who.interaction_id,
            "application_id": who.application_id,
            "interaction_token": who.token,
            "token_expires_at": who.token_expires_at,
            "user_id": who.user_id,
            "guild_id": who.guild_id,
            "channel_id": who.channel_id,
            "locale": who.locale,
            "position": position,
            "batch_size": size,
            "instance": self.instance,
            "source_message": who.source_message,
        }
        if isinstance(item, SourceRejected):
            return UploadRecord(
                **common,
                source_kind=SourceKind.FILE,
                label=str(item.details.get("filename", "")),
                state=UploadState.FAILED,
                skip_reason=item.reason.value,
                skip_params=dict(item.details),
            )
        return UploadRecord(
            **common,
            source_kind=item.kind,
            label=item.label,
            callback_token=secrets.token_urlsafe(32) if self.callback_mode else None,
        )

    async def start(
        self, who: Requester, items: Sequence[Source | SourceRejected], on_place: OnPlace | None = None
    ) -> list[UploadRecord]:
        """Upload every source (a slot and a place in line each, held by `admit`) and record every
        skipped file with its reason; return the records once each is settled or handed to a callback.

        `on_place` hears the interaction's place in line while its uploads wait for their turn.
        """
        held = sum(isinstance(item, Source) for item in items)
        records: list[UploadRecord] = []
        work: list[tuple[UploadRecord, Source]] = []
        try:
            for position, item in enumerate(items):
                # Recorded before anything is sent: after a crash (kill -9 included) the restart finds it
                # and answers its member; it also gives the callback its address. One multi-row INSERT
                # for every upload recorded in the same turn of the event loop (`storage.batching`).
                stored = await self.store.add(self._record(who, item, position, len(items)))
                records.append(stored)
                if isinstance(item, Source):
                    self._sending.add(stored.key)  # from here on, _run() owns it
                    work.append((stored, item))
                    held -= 1  # from here on, settle() gives the slot back
                    self._release(who.user_id, 1)
                    self._opened(stored)
        except BaseException:
            # Recording failed part way: the sources already recorded will not run either.
            for record, _ in work:
                self._sending.discard(record.key)
                self._closed(record.key)
            self.queue.forfeit(len(work))
            raise
        finally:
            self.withdraw(who.user_id, held)
        with self.in_flight.track():
            if len(work) == 1:
                await self._run(*work[0], on_place)
            else:
                await asyncio.gather(*(self._run(r, s, on_place) for r, s in work))
        return records

    async def _run(self, record: UploadRecord, source: Source, on_place: OnPlace | None) -> None:
        """Wait for the turn, send one upload, settle it. Its place in line is used here, whatever happens."""
        callback = self.callback_url(record)
        task = asyncio.current_task()
        sent = False
        reservation: Reservation | None = None
        try:
            if self._stopping:
                self.queue.forfeit()
                raise ShuttingDown()
            try:
                # Before the turn, not inside it: the write holds no slot at MusicAPI, stays out of the
                # measured pace, and a burst's reservations are taken together (see storage/spend.py).
                reservation = await self._reserve(record)
            except BaseException:
                self.queue.forfeit()
                raise
            if task is not None:
                self._waiting.add(task)
            try:
                async with asyncio.timeout(self._timeout):
                    arrived = time.monotonic()
                    async with self.queue.turn(
                        record.user_id, record.interaction_id, on_place, within=self.line_wait
                    ):
                        sent, turn = True, time.monotonic()
                        self._metrics.upload_waited(turn - arrived)
                        try:
                            accepted = await self.client.upload(source.url, callback_url=callback)
                        except UploadError as exc:
                            if reservation is not None and uncharged(exc):
                                # MusicAPI certainly charged nothing: the credits count no more.
                                await self._give_back(reservation)
                                reservation = None
                            raise
                        finally:
                            self._metrics.upload_at_musicapi(time.monotonic() - turn)
            except asyncio.CancelledError:
                # stop() cancels uploads waiting on the line or MusicAPI; anyone else's goes on up.
                if not self._stopping or task is None or task.uncancel() > 0:
                    raise
                raise ShuttingDown() from None
            finally:
                self._waiting.discard(task)
            if accepted.clip_id:
                await self.settle(record, clip_id=accepted.clip_id)
            elif accepted.task_id:
                record.task_id = accepted.task_id
                # Kept so that the watcher can poll MusicAPI for it should the callback not come, also
                # after a restart; batched like every write of the upload path.
                await self.store.set_task(record.key, accepted.task_id)
        except ShuttingDown as exc:
            if callback is None or not sent:
                await self.settle(record, error=exc)
        except UploadUnconfirmed as exc:
            if callback is None:
                await self.settle(record, error=exc)
            else:
                # MusicAPI may have taken it: its callback (to this upload's own address) may still come.
                log.warning("upload %s may have reached MusicAPI; waiting for its callback", record.id)
        except UploadError as exc:
            await self.settle(record, error=exc)
        except TimeoutError:
            await self.settle(record, error=UploadTimedOut() if sent else QueueTimedOut())
        except Exception:
            log.exception("upload %s failed unexpectedly", record.id)
            try:
                await self.settle(record, error=ServiceUnavailable("unexpected failure"))
            except Exception:
                log.exception("could not record the failure of upload %s", record.id)
        finally:
            self._sending.discard(record.key)
            if reservation is not None and not sent:  # its turn never came: nothing was sent
                await self._give_back(reservation)

    async def _reserve(self, record: UploadRecord) -> Reservation | None:
        """The upload's credits reserved against the day's ceiling (OverCeiling: nothing is sent); None
        when uploads cost nothing or there is no ceiling. They count on the day the upload was recorded,
        which is where a failed task gives them back (`settle_task`), even past midnight UTC."""
        if self._ceiling is None or self._upload_credits == 0:
            return None
        return await self._ceiling.reserve(self._upload_credits, at=record.created_at)

    async def _give_back(self, reservation: Reservation) -> None:
        if self._ceiling is not None:
            await self._ceiling.release(reservation)

    async def settle(
        self, record: UploadRecord, *, clip_id: str | None = None, error: UploadError | None = None
    ) -> bool:
        """Mark a pending upload finished and log it; False when it was already settled (a duplicate).

        The member's slot is given back once the upload is settled, or when the store cannot say so.
        """
        kind = error.kind if error else None
        try:
            # The outcome is in the store before any member sees it, so what is shown survives a crash,
            # and settling is once only: the UPDATE takes only a pending upload (a duplicate callback, a
            # poll and another instance find it settled). Batched like every write of the upload path.
            changed = await self.store.finish(
                record.key, clip_id=clip_id, error_kind=kind, detail=error.detail if error else ""
            )
        except Exception:
            self._closed(record.key)
            raise
        if not changed:
            return False
        # The caller's copy now tells the same story as the store.
        record.state = UploadState.SUCCEEDED if clip_id else UploadState.FAILED
        record.clip_id = clip_id
        record.error_kind = kind
        record.error_detail = error.detail if error and error.detail else None
        self._closed(record.key)
        if kind is ErrorKind.UNAUTHORIZED:
            log.error(
                "MusicAPI did not accept MUSICAPI_API_KEY (%s): every upload fails until it is fixed", error
            )
        outcome = "succeeded" if clip_id else (kind.value if kind else "failed")
        duration = self._clock() - record.created_at
        self._metrics.upload_settled(outcome, record.source_kind.value, duration)
        log.info(
            "upload id=%s user=%s guild=%s source=%s outcome=%s duration=%.2fs",
            record.id,
            record.user_id,
            record.guild_id,
            record.source_kind.value,
            outcome,
            duration,
        )
        return True

    async def settle_task(self, record: UploadRecord, result: TaskResult) -> bool:
        """Apply a finished task (callback or poll) to its upload."""
        if result.state is TaskState.SUCCEEDED and result.clip_id:
            return await self.settle(record, clip_id=result.clip_id)
        error = result.error or TaskFailed()
        settled = await self.settle(record, error=error)
        if settled and uncharged(error) and self._upload_credits:
            # MusicAPI gives back what a failed task took; so does the day it was reserved on (the day
            # the upload was recorded, whichever instance or run reserved it). The member's answer does
            # not wait on it: a store that fails here costs the day's total, not the answer.
            try:
                await self._give_back(Reservation(budget_day(record.created_at), self._upload_credits))
            except Exception as exc:
                log.warning(
                    "could not give back the credits of upload %s (%s)", record.id, type(exc).__name__
                )
        return settled
