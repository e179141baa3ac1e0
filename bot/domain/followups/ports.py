"""What follow-ups need from outside: MusicAPI's create, task and credits calls, and a store that keeps
follow-ups, their songs, each server's spend and each member's cooldown across restarts and instances."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.domain.errors import ErrorKind, UploadError
from bot.domain.followups.records import FollowUpRecord, FollowUpState, Operation, Song
from bot.domain.ports import TaskState


@dataclass(frozen=True, slots=True)
class Generation:
    """The state of a create task, from a webhook or from polling; `songs` once it succeeded."""

    state: TaskState
    songs: tuple[Song, ...] = ()
    task_id: str | None = None
    error: UploadError | None = None

    @property
    def finished(self) -> bool:
        return self.state in (TaskState.SUCCEEDED, TaskState.FAILED)


@dataclass(frozen=True, slots=True)
class Credits:
    """MusicAPI's `get-credits`: the account's credits and its one-time extra credits."""

    credits: int
    extra_credits: int = 0

    @property
    def total(self) -> int:
        return self.credits + self.extra_credits


class FollowUpAPI(Protocol):
    async def start_task(self, endpoint: str, body: Mapping[str, Any]) -> str:
        """POST /api/v1/sonic/{endpoint} (create, stems/basic, ...); MusicAPI's task id. Never sent twice
        when it may have arrived."""
        ...

    async def run(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /api/v1/sonic/{endpoint} for a call answered at once (wav, midi, bpm); its result as the
        store keeps it: `{"url": ...}` (MIDI: with `instruments`), or `{"bpm": [average, low, high]}`."""
        ...

    async def get_generation(self, task_id: str) -> Generation: ...
    async def get_credits(self) -> Credits: ...


class FollowUpStore(Protocol):
    """Follow-ups, their songs, the spend per server and day, webhook deliveries seen, owner alerts.

    Times are unix seconds (the SQLite backend keeps integer milliseconds). `day` is a UTC date,
    `YYYY-MM-DD`. A follow-up's `credits` count against its server's (`budget_guild`) budget of the day it
    was created until it is refunded (set to 0).
    """

    async def reserve(
        self, record: FollowUpRecord, *, day: str, daily_budget: int, cooldown_since: float
    ) -> FollowUpRecord | None:
        """Insert `record` (pending, created now, first poll at `record.next_poll_at`) only if, in one
        atomic step: `daily_budget` is 0 or the server's spend on `day` plus `record.credits` stays
        within it, and the member started no follow-up that counts for the cooldown at or after
        `cooldown_since`. Return the stored record (with id and times), or None when refused. A follow-up
        of the same interaction recorded before (another delivery of it) raises AlreadyRecorded."""
        ...

    async def spent(self, budget_guild: int, day: str) -> int:
        """Credits the server's follow-ups of `day` hold (refunded ones count 0)."""
        ...

    async def spent_by_guild(self, day: str) -> dict[int, int]:
        """`spent` for every server with follow-ups on `day`."""
        ...

    async def last_started(self, user_id: int) -> float | None:
        """When the member last started a follow-up that counts for the cooldown: one still pending or
        one MusicAPI took (it has a task id). One refused at once does not count."""
        ...

    async def set_task(self, follow_up_id: int, task_id: str, next_poll_at: float) -> None: ...

    async def finish(
        self,
        follow_up_id: int,
        *,
        state: FollowUpState,
        songs: Sequence[Song] = (),
        result: Mapping[str, Any] | None = None,
        error_kind: ErrorKind | None = None,
        detail: str = "",
        refund: bool = False,
    ) -> bool:
        """Settle a pending follow-up: its songs (each kept once, by position) or other `result`, state and
        error; its credits set to 0 when `refund`. False when it was no longer pending (nothing changes)."""
        ...

    async def claim_due(self, now: float, *, next_poll_at: float, limit: int) -> list[FollowUpRecord]:
        """Take up to `limit` pending follow-ups whose `next_poll_at` is at or before `now`, oldest due
        first, and move their `next_poll_at` to `next_poll_at` in the same step, so that no other
        instance takes them before then. Return them as they were taken."""
        ...

    async def get(self, follow_up_id: int) -> FollowUpRecord | None:
        """A follow-up with its songs."""
        ...

    async def song(self, song_id: int) -> tuple[Song, FollowUpRecord] | None:
        """A song the bot made, and the follow-up that made it."""
        ...

    async def recent_songs(self, user_id: int, *, limit: int) -> list[tuple[Song, Operation]]:
        """The songs (and stems) of the member's succeeded follow-ups, newest first, with the operation
        that made each."""
        ...

    async def mark_delivered(self, follow_up_id: int) -> None: ...
    async def claim_undelivered(
        self, *, settled_before: float, now: float, until: float
    ) -> list[FollowUpRecord]:
        """Follow-ups settled by `settled_before` whose member has not seen the result and that nobody has
        claimed since `now`; they are claimed until `until`. Claims of two callers never overlap."""
        ...

    async def prune(self, finished_before: float) -> int:
        """Delete finished follow-ups (with their songs) last changed before `finished_before`, and the
        webhook deliveries seen before it; return how many follow-ups were deleted."""
        ...

    async def erase_spent_secrets(self, now: float) -> int:
        """Erase interaction tokens that expired by `now` or whose result was shown, and webhook secrets
        of finished follow-ups; return how many follow-ups changed."""
        ...

    async def forget_member(self, user_id: int, *, keep_day: str) -> int:
        """Delete the member's finished follow-ups and their songs. Those counted in the budget of
        `keep_day` (today) keep their row, stripped of what it said, until the day's budget is over;
        return how many follow-ups were deleted or stripped."""
        ...

    async def first_delivery(self, webhook_id: str, now: float) -> bool:
        """Record a webhook delivery id; False when it was seen before (a duplicate)."""
        ...

    async def forget_delivery(self, webhook_id: str) -> None:
        """A delivery taken by `first_delivery` could not be applied: its retry is to be taken again."""
        ...

    async def raise_alert(self, name: str, now: float) -> bool:
        """Raise the owner alert `name`; False when it is already raised (nobody is told twice)."""
        ...

    async def clear_alert(self, name: str) -> None:
        """The condition is over: the next time it happens, the alert is raised again."""
        ...


class FollowUpMetrics(Protocol):
    def follow_up_settled(self, action: str, outcome: str) -> None:
        """A follow-up ended: `outcome` is "succeeded" or its error kind."""
        ...

    def follow_up_refused(self, reason: str) -> None:
        """A follow-up was not started: "cooldown", "over_budget", "not_owner", "bad_input"..."""
        ...

    def credits_reserved(self, credits: int) -> None: ...


class NoFollowUpMetrics:
    """Reports nothing."""

    def follow_up_settled(self, action: str, outcome: str) -> None:
        pass

    def follow_up_refused(self, reason: str) -> None:
        pass

    def credits_reserved(self, credits: int) -> None:
        pass
