"""What the domain needs from the outside: a place to keep uploads, and MusicAPI. Adapters implement these."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from bot.domain.errors import ErrorKind, UploadError
from bot.domain.pace import Pace
from bot.domain.records import PendingBrief, UploadRecord


class TaskState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class UploadAccepted:
    """What MusicAPI's upload gave back: a clip_id (sync mode) or a task_id (callback mode)."""

    clip_id: str | None = None
    task_id: str | None = None


@dataclass(frozen=True, slots=True)
class TaskResult:
    """The state of an upload task, from a callback or from polling."""

    state: TaskState
    clip_id: str | None = None
    task_id: str | None = None
    error: UploadError | None = None

    @property
    def finished(self) -> bool:
        return self.state in (TaskState.SUCCEEDED, TaskState.FAILED)


class MusicAPI(Protocol):
    async def upload(self, url: str, *, callback_url: str | None = None) -> UploadAccepted: ...
    async def get_task(self, task_id: str) -> TaskResult: ...


class AlreadyRecorded(Exception):
    """The store already holds what this interaction started: another delivery of the same interaction
    (a gateway resume, a shard handover, another instance) recorded it first, and carries it out."""

    def __init__(self, interaction_id: int) -> None:
        super().__init__(f"interaction {interaction_id} was recorded before")
        self.interaction_id = interaction_id


class UploadStore(Protocol):
    """The upload log: every upload the bot starts, its state, and what it takes to answer later."""

    async def add(self, record: UploadRecord) -> UploadRecord:
        """Record a new upload, and return it numbered and stamped (in place: the caller hands over a
        record of its own, and nothing else holds it yet). An interaction's upload at a position is
        recorded once: a second one raises AlreadyRecorded (the insert itself is the claim, no statement
        of its own)."""
        ...

    async def finish(
        self,
        upload_id: int,
        *,
        clip_id: str | None = None,
        error_kind: ErrorKind | None = None,
        detail: str = "",
    ) -> bool:
        """Mark a pending upload succeeded (clip_id) or failed (error_kind); False if it was not pending."""
        ...

    async def set_task(self, upload_id: int, task_id: str) -> None: ...
    async def mark_delivered(self, interaction_id: int) -> None: ...
    async def get(self, upload_id: int) -> UploadRecord | None: ...
    async def by_interaction(self, interaction_id: int) -> list[UploadRecord]: ...
    async def pending(self) -> list[UploadRecord]: ...
    async def pending_briefs(self) -> list[PendingBrief]:
        """Every pending upload, in brief, oldest first."""
        ...

    async def history(self, user_id: int, *, limit: int, offset: int = 0) -> list[UploadRecord]: ...
    async def pending_count(self, user_id: int, *, other_than: str) -> int:
        """The member's uploads not settled yet that instances other than `other_than` are sending."""
        ...

    async def claim_polls(self, upload_ids: Sequence[int], *, now: float, until: float) -> set[int]:
        """Of these pending uploads, those nobody has claimed a poll of since `now`; they are claimed
        until `until` (no other instance polls them before then). Claims of two callers never overlap."""
        ...

    async def claim_undelivered(self, *, settled_before: float, now: float, until: float) -> list[int]:
        """Interactions with an answer settled by `settled_before` that no member has seen and that nobody
        has claimed since `now`; they are claimed until `until`. Claims of two callers never overlap."""
        ...

    async def heartbeat(
        self,
        instance: str,
        *,
        now: float,
        seen_since: float,
        hold: Callable[[dict[str, int]], int],
        pace: Pace | None = None,
    ) -> dict[str, int]:
        """The instance named `instance` is alive at `now`. `hold` is shown the other instances alive since
        `seen_since` (name: what each holds) and says what this one holds until its next heartbeat (how
        many requests to MusicAPI it may have out at once). Heartbeats of several instances take turns,
        so each decides knowing what the others hold. `pace`, if given, becomes this instance's measured
        pace (see `paces`), in the same step. Returns the others."""
        ...

    async def paces(self, *, measured_since: float) -> list[Pace]:
        """The measured paces of instances (running or not) that were written at or after `measured_since`."""
        ...

    async def hold_name(self, instance: str) -> bool:
        """Take the name `instance` for this process for as long as it runs (released when it stops, or
        dies); False while another process holds it."""
        ...

    async def leave(self, instance: str, *, pace: Pace | None = None) -> None:
        """The instance stops: the others need not wait for its heartbeat to lapse. Its measured pace stays
        (`pace`, if given, replaces it first) for whoever starts next."""
        ...

    async def forget_departed(self, before: float) -> int:
        """Remove what instances last heard of before `before` left behind (a dead process's heartbeat, a
        measured pace nobody reads any more); return how many rows were removed."""
        ...

    async def prune(self, finished_before: float) -> int:
        """Delete every upload of each interaction whose uploads are all finished, the last of them before
        `finished_before` (by `updated_at`); return how many uploads were deleted."""
        ...

    async def erase_spent_secrets(self, now: float) -> int:
        """Erase interaction tokens that expired by `now` (`token_expires_at <= now`) or whose answer was
        shown (`delivered`), and callback secrets of finished uploads; return how many uploads changed."""
        ...

    async def forget_member(self, user_id: int) -> int:
        """Delete the member's uploads, except every upload of an interaction that still has one in
        progress; return how many were deleted."""
        ...

    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


#: Shows an interaction's uploads to its member as they stand; `settled` are records the caller holds.
#: True once the member has seen the final answer.
Deliver = Callable[[int, Sequence[UploadRecord]], Coroutine[Any, Any, bool]]


class Metrics(Protocol):
    """What the bot reports about itself, called from the one place where each outcome is decided."""

    def upload_settled(self, outcome: str, source_kind: str, seconds: float) -> None:
        """An upload ended: `outcome` is "succeeded" or its error kind; `seconds` from start to end."""
        ...

    def upload_waited(self, seconds: float) -> None:
        """An upload waited this long in the bot's line before its turn."""
        ...

    def upload_at_musicapi(self, seconds: float) -> None:
        """An upload's turn at MusicAPI (the request, and its retries) took this long."""
        ...

    def musicapi_request(self, endpoint: str, status: str) -> None:
        """A request to MusicAPI ended: `status` is the HTTP status, or what went wrong without one."""
        ...

    def answer_shown(self, path: str) -> None:
        """A final answer reached its member ("edited", "channel", "dm") or could not ("undelivered")."""
        ...

    def callback_received(self, result: str) -> None:
        """MusicAPI's callback was taken or refused, and why."""
        ...


class NoMetrics:
    """Reports nothing: for parts built without a metrics backend."""

    def upload_settled(self, outcome: str, source_kind: str, seconds: float) -> None:
        pass

    def upload_waited(self, seconds: float) -> None:
        pass

    def upload_at_musicapi(self, seconds: float) -> None:
        pass

    def musicapi_request(self, endpoint: str, status: str) -> None:
        pass

    def answer_shown(self, path: str) -> None:
        pass

    def callback_received(self, result: str) -> None:
        pass
