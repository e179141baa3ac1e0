"""The whole bot's daily ceiling on MusicAPI credits (TOTAL_DAILY_CREDITS): every charged call, uploads
and follow-ups alike, reserves its credits against the UTC day's total first; nothing is sent when the
total would pass the ceiling. The total lives in the store, so that every instance counts against it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.domain.errors import ErrorKind, OverCeiling, ServiceUnavailable, UploadError
from bot.domain.followups.records import budget_day

log = logging.getLogger("bot.spending")


class SpendLedger(Protocol):
    """The credits the whole bot reserved per UTC day (`YYYY-MM-DD`), across instances."""

    async def reserve_spend(self, day: str, credits: int, ceiling: int) -> bool:
        """In one atomic step: add `credits` to `day`'s total if it stays within `ceiling` (0: no
        ceiling, always added); False when refused (nothing changes)."""
        ...

    async def release_spend(self, day: str, credits: int) -> None:
        """Give back `credits` of `day` (a call MusicAPI refused, or refunded); never below 0."""
        ...

    async def spend_of(self, day: str) -> int:
        """`day`'s total."""
        ...


#: Failures after which MusicAPI certainly charged nothing: it refused the call (observed: rejected
#: requests cost nothing), it reported the task failed (documented: failed tasks are refunded), or the bot
#: never sent it. Anything else (a timeout, a lost answer, a 5xx, an answer the bot could not read)
#: may have been charged, so its credits stay counted.
UNCHARGED = frozenset(
    {
        ErrorKind.BAD_REQUEST,
        ErrorKind.COPYRIGHT,
        ErrorKind.UNAUTHORIZED,
        ErrorKind.NO_CREDITS,
        ErrorKind.NO_SUBSCRIPTION,
        ErrorKind.FORBIDDEN,
        ErrorKind.RATE_LIMITED,
        ErrorKind.FAILED,
        ErrorKind.QUEUE_TIMED_OUT,
        ErrorKind.OVER_CEILING,
    }
)


def uncharged(error: UploadError, *, synchronous: bool = False) -> bool:
    """Whether MusicAPI certainly charged nothing (or gave it back) for work that ended in `error`: the
    one rule for giving credits back, for uploads and follow-ups alike. A request that certainly did
    not arrive (`ServiceUnavailable.delivered` false) charged nothing whatever its kind.

    `synchronous`: the work was one of MusicAPI's synchronous calls (WAV, MIDI, BPM), whose own answer
    saying it failed is no failed task: MusicAPI documents refunds for failed tasks only, so those
    credits stay counted."""
    if synchronous and error.kind is ErrorKind.FAILED:
        return False
    return error.kind in UNCHARGED or (isinstance(error, ServiceUnavailable) and not error.delivered)


@dataclass(frozen=True, slots=True)
class Reservation:
    """Credits reserved against one day's total."""

    day: str
    credits: int


@dataclass
class DailyCeiling:
    """TOTAL_DAILY_CREDITS over `ledger`; `ceiling` 0 counts the spend but refuses nothing."""

    ledger: SpendLedger
    ceiling: int
    clock: Callable[[], float] = time.time
    _warned_day: str | None = None

    async def reserve(self, credits: int, at: float | None = None) -> Reservation:
        """Reserve `credits` for a call about to be sent, on the day of `at` (a time; now by default);
        raise OverCeiling when that would pass the ceiling (the caller sends nothing)."""
        day = budget_day(self.clock() if at is None else at)
        if not await self.ledger.reserve_spend(day, credits, self.ceiling):
            if day != self._warned_day:  # once a day, not once per refused call
                self._warned_day = day
                log.warning(
                    "TOTAL_DAILY_CREDITS=%d reached for %s (UTC): uploads and follow-ups are refused until "
                    "midnight UTC",
                    self.ceiling,
                    day,
                )
            raise OverCeiling(f"{self.ceiling} credits a day")
        return Reservation(day, credits)

    async def release(self, reservation: Reservation) -> None:
        await self.ledger.release_spend(reservation.day, reservation.credits)

    async def would_pass(self, credits: int) -> bool:
        """Whether `credits` more would pass today's ceiling now (a hint before a form; `reserve` decides)."""
        if self.ceiling <= 0:
            return False
        return await self.ledger.spend_of(budget_day(self.clock())) + credits > self.ceiling

    async def today(self) -> int:
        """What the whole bot reserved today."""
        return await self.ledger.spend_of(budget_day(self.clock()))
