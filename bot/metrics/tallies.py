"""Counters and histograms kept as plain numbers, read into Prometheus' shapes only when scraped.

The bot counts on its event loop's thread alone (the web server, which scrapes, runs there too), so a
count is one dict or list update. prometheus-client's own Counter and Histogram take a lock for each
one, check and convert label values on each lookup, and walk a histogram's bounds: some 400 Python
opcodes an upload, against the upload path's 30,000 (`python benchmarks/burst.py --mode opcodes`). And
prometheus-client itself (with the HTTP and WSGI servers its package imports) is loaded only once
someone reads the metrics (see `bot.metrics.exposition`).
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections.abc import Iterator, Sequence


class Counter:
    """A counter family: a value per set of label values, each shown from its first count on (an
    unlabelled counter from the start, at zero)."""

    __slots__ = ("_created", "_values", "doc", "labels", "name")

    def __init__(self, name: str, doc: str, labels: Sequence[str] = ()) -> None:
        self.name, self.doc, self.labels = name, doc, list(labels)
        self._values: dict[tuple[str, ...], float] = {}
        self._created: dict[tuple[str, ...], float] = {}
        if not labels:
            self._values[()], self._created[()] = 0.0, time.time()

    def add(self, labels: tuple[str, ...], amount: float = 1.0) -> None:
        values = self._values
        if labels in values:
            values[labels] += amount
        else:
            values[labels] = float(amount)
            self._created[labels] = time.time()

    def series(self) -> Iterator[tuple[tuple[str, ...], float, float]]:
        """Each set of label values, its count, and when it was first counted."""
        for labels, value in self._values.items():
            yield labels, value, self._created[labels]


class Histogram:
    """A histogram without labels: how many observations fell at or under each bound, and their sum."""

    __slots__ = ("_bounds", "_counts", "created", "doc", "name", "sum")

    def __init__(self, name: str, doc: str, buckets: Sequence[float]) -> None:
        self.name, self.doc = name, doc
        self._bounds = (*(float(b) for b in buckets), math.inf)
        self._counts = [0] * len(self._bounds)
        self.sum = 0.0
        self.created = time.time()

    def observe(self, seconds: float) -> None:
        self._counts[bisect.bisect_left(self._bounds, seconds)] += 1  # its bucket: the first bound >= it
        self.sum += seconds

    def buckets(self) -> list[tuple[float, int]]:
        """Each bound (the last one infinite) and how many observations fell at or under it."""
        return list(zip(self._bounds, itertools.accumulate(self._counts), strict=True))
