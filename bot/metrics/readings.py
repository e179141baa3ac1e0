"""Values the metrics read from the running bot when Prometheus scrapes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ShardReading:
    shard_id: int
    latency: float  # seconds, as discord.py measures the gateway's heartbeat; NaN before the first one
    connected: bool


@dataclass(frozen=True, slots=True)
class Readings:
    """Where the values read at scrape time come from."""

    line_waiting: Callable[[], int]
    line_in_flight: Callable[[], int]
    pending_uploads: Callable[[], int]
    shards: Callable[[], Iterable[ShardReading]]
