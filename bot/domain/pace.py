"""MusicAPI's measured pace (how long an upload request takes now), kept in the store so that a restarted
instance, or one starting beside others, admits by it instead of by the typical figure.

Each instance keeps its own figure (its line's average turn, see `queue`), written with its heartbeat;
readers combine the figures that are still fresh (`combined`)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

#: How long a stored figure counts (seconds). Longer than a restart or a rolling release takes (minutes),
#: so that a release night's pace survives them; shorter than the swings of MusicAPI's load over a day (a
#: quiet afternoon says little about the evening's peak). Past it, the typical figure is the better guess.
KEPT_FOR = 30 * 60.0


class UploadMode(StrEnum):
    """What an upload request waits for: the clip itself (sync, ~20 s) or only a task id (callback, ~2 s).
    Figures of one mode say nothing of the other."""

    SYNC = "sync"
    CALLBACK = "callback"


@dataclass(frozen=True, slots=True)
class Pace:
    """One instance's measured pace: the average length of its upload requests, as of `measured_at`."""

    seconds: float
    mode: UploadMode
    measured_at: float  # unix seconds


def combined(paces: Iterable[Pace], *, mode: UploadMode, now: float) -> float | None:
    """The pace to go by, from the instances' figures of `mode`: their mean, each weighted by how recent
    it is (fully when just measured, fading to nothing at KEPT_FOR, so that a figure nobody refreshes
    gives way to fresher ones gradually). None when no figure is fresh. A figure from up to KEPT_FOR in
    the future (another host's clock runs ahead) counts as measured that long ago."""
    total = weights = 0.0
    low, high = math.inf, -math.inf
    for pace in paces:
        weight = 1.0 - abs(now - pace.measured_at) / KEPT_FOR
        if pace.mode != mode or not weight > 0 or not (math.isfinite(pace.seconds) and pace.seconds >= 0):
            continue  # another mode's, stale, or not a length at all
        total += weight * pace.seconds
        weights += weight
        low, high = min(low, pace.seconds), max(high, pace.seconds)
    if not weights > 0:
        return None
    # A mean lies among its figures; rounding (a tiny figure's weighted share rounds to nothing) may not.
    return min(max(total / weights, low), high)
