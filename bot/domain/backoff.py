"""Growing, jittered delays between attempts to reach something that is down (Discord's gateway, the
network at boot), and a limit on how often such a wait is logged."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Attempt n (from 0) waits `first * 2**n`, at most `ceiling`, times a random factor in [0.5, 1]:
    attempts of many processes that lost the same thing at once spread out instead of arriving together."""

    first: float
    ceiling: float

    def delay(self, attempt: int) -> float:
        base = min(self.ceiling, self.first * 2 ** min(attempt, 32))
        return float(base * random.uniform(0.5, 1.0))  # noqa: S311 - spreading retries, not a secret


@dataclass(slots=True)
class Throttle:
    """Lets something through at most once every `every` seconds (the first time always)."""

    every: float
    _last: float | None = None

    def ready(self, now: float) -> bool:
        if self._last is not None and now - self._last < self.every:
            return False
        self._last = now
        return True
