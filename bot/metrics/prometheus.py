"""The bot's metrics through prometheus-client, in a registry of their own (nothing process-global)."""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

#: A bound as prometheus-client writes a bucket's `le` (`1.0`, `+Inf`).
_le: Callable[[float], str] = floatToGoString

#: Upload times span a fast rejection to a slow sync upload (about 20 s) waiting in a long line.
UPLOAD_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600)
WAIT_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)


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


class _Now(Collector):
    """Gauges read when Prometheus scrapes: the line, pending uploads, the gateway per shard."""

    def __init__(self, readings: Readings) -> None:
        self._readings = readings

    def collect(self) -> Iterable[Metric]:
        r = self._readings
        yield GaugeMetricFamily(
            "musicbot_queue_waiting",
            "Uploads waiting in the bot's line for MusicAPI.",
            value=r.line_waiting(),
        )
        yield GaugeMetricFamily(
            "musicbot_queue_in_flight", "Uploads at MusicAPI now (at most MUSICAPI_CONCURRENCY).",
            value=r.line_in_flight(),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "musicbot_uploads_pending",
            "Uploads not settled yet (in line, at MusicAPI, or waiting for a callback).",
            value=r.pending_uploads(),
        )
        latency = GaugeMetricFamily(
            "musicbot_gateway_latency_seconds", "Heartbeat latency of the Discord gateway.", labels=["shard"]
        )
        connected = GaugeMetricFamily(
            "musicbot_gateway_connected", "1 while the shard's gateway connection is open.", labels=["shard"]
        )
        for shard in r.shards():
            latency.add_metric([str(shard.shard_id)], shard.latency)
            connected.add_metric([str(shard.shard_id)], 1.0 if shard.connected else 0.0)
        yield latency
        yield connected


class _Counter:
    """A counter family kept as plain numbers and handed to prometheus-client at scrape time.

    The bot counts only on its event loop's thread (the web server, which scrapes, runs there too), so an
    increment is one dict update. prometheus-client's own Counter takes a lock for each increment and
    checks and converts its label values on each lookup: some 400 Python opcodes an upload, against the
    upload path's 30,000 (`python benchmarks/burst.py --mode opcodes`).
    """

    __slots__ = ("_created", "_doc", "_labels", "_name", "_values")

    def __init__(self, name: str, doc: str, labels: Sequence[str] = ()) -> None:
        self._name, self._doc, self._labels = name, doc, list(labels)
        self._values: dict[tuple[str, ...], float] = {}
        self._created: dict[tuple[str, ...], float] = {}
        if not labels:  # an unlabelled counter is shown from the start, at zero
            self._values[()], self._created[()] = 0.0, time.time()

    def add(self, labels: tuple[str, ...], amount: float = 1.0) -> None:
        values = self._values
        if labels in values:
            values[labels] += amount
        else:
            values[labels] = float(amount)
            self._created[labels] = time.time()

    def family(self) -> Metric:
        family = CounterMetricFamily(self._name, self._doc, labels=self._labels)
        for labels, value in self._values.items():
            family.add_metric(labels, value, created=self._created[labels])
        return family


class _Histogram:
    """A histogram without labels kept as plain numbers (see `_Counter`): an observation finds its bucket
    by bisection, where prometheus-client's Histogram walks the bounds and locks twice."""

    __slots__ = ("_bounds", "_counts", "_created", "_doc", "_name", "_sum")

    def __init__(self, name: str, doc: str, buckets: Sequence[float]) -> None:
        self._name, self._doc = name, doc
        self._bounds = (*(float(b) for b in buckets), math.inf)
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0
        self._created = time.time()

    def observe(self, seconds: float) -> None:
        self._counts[bisect.bisect_left(self._bounds, seconds)] += 1  # its bucket: the first bound >= it
        self._sum += seconds

    def family(self) -> Metric:
        cumulative = itertools.accumulate(self._counts)
        buckets = [(_le(b), float(n)) for b, n in zip(self._bounds, cumulative, strict=True)]
        family = HistogramMetricFamily(self._name, self._doc, buckets=buckets, sum_value=self._sum)
        family.samples.append(Sample(f"{self._name}_created", {}, self._created))  # as Histogram gives it
        return family


class _Tallies(Collector):
    """The counters and histograms, as Prometheus reads them."""

    def __init__(self, counters: Sequence[_Counter], histograms: Sequence[_Histogram]) -> None:
        self._counters, self._histograms = counters, histograms

    def collect(self) -> Iterable[Metric]:
        for histogram in self._histograms:
            yield histogram.family()
        for counter in self._counters:
            yield counter.family()


class PrometheusMetrics:
    """Counters and histograms the bot's parts report to (the domain's `Metrics`), and the scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._upload_seconds = _Histogram(
            "musicbot_upload_seconds", "Time from an upload's start to its outcome.", UPLOAD_BUCKETS
        )
        self._waited = _Histogram(
            "musicbot_queue_wait_seconds", "Time an upload waited in the bot's line before its turn.",
            WAIT_BUCKETS,
        )  # fmt: skip
        self._at_musicapi = _Histogram(
            "musicbot_musicapi_upload_seconds", "Time an upload's turn at MusicAPI took (request and retries).",
            UPLOAD_BUCKETS,
        )  # fmt: skip
        self._uploads = _Counter(
            "musicbot_uploads", "Uploads by outcome and source kind.", ["outcome", "source"]
        )
        self._requests = _Counter(
            "musicbot_musicapi_requests", "Requests to MusicAPI by endpoint and HTTP status (or failure).",
            ["endpoint", "status"],
        )  # fmt: skip
        self._answers = _Counter(
            "musicbot_answers", "Final answers by how they reached the member.", ["path"]
        )
        self._callbacks = _Counter("musicbot_callbacks", "MusicAPI callbacks by result.", ["result"])
        self._follow_ups = _Counter(
            "musicbot_follow_ups", "Follow-ups (extend, cover) by action and outcome.", ["action", "outcome"]
        )
        self._follow_ups_refused = _Counter(
            "musicbot_follow_ups_refused", "Follow-ups not started, by reason.", ["reason"]
        )
        self._credits = _Counter(
            "musicbot_follow_up_credits_reserved", "Credits reserved by follow-ups MusicAPI was asked for."
        )
        self._files = _Counter(
            "musicbot_attachments", "Files answers wanted to carry, by kind and outcome (attached, or why not).",
            ["kind", "outcome"],
        )  # fmt: skip
        counters: tuple[_Counter, ...] = (
            self._uploads,
            self._requests,
            self._answers,
            self._callbacks,
            self._follow_ups,
        )
        counters += (self._follow_ups_refused, self._credits, self._files)
        self.registry.register(_Tallies(counters, (self._upload_seconds, self._waited, self._at_musicapi)))

    def file_attached(self, kind: str, outcome: str) -> None:
        self._files.add((kind, outcome))

    def read_at_scrape(self, readings: Readings) -> None:
        """Report the line, pending uploads and the gateway as they are when Prometheus scrapes."""
        self.registry.register(_Now(readings))

    def upload_settled(self, outcome: str, source_kind: str, seconds: float) -> None:
        self._uploads.add((outcome, source_kind))
        self._upload_seconds.observe(seconds)

    def upload_waited(self, seconds: float) -> None:
        self._waited.observe(seconds)

    def upload_at_musicapi(self, seconds: float) -> None:
        self._at_musicapi.observe(seconds)

    def musicapi_request(self, endpoint: str, status: str) -> None:
        self._requests.add((endpoint, status))

    def answer_shown(self, path: str) -> None:
        self._answers.add((path,))

    def callback_received(self, result: str) -> None:
        self._callbacks.add((result,))

    def follow_up_settled(self, action: str, outcome: str) -> None:
        self._follow_ups.add((action, outcome))

    def follow_up_refused(self, reason: str) -> None:
        self._follow_ups_refused.add((reason,))

    def credits_reserved(self, credits: int) -> None:
        self._credits.add((), credits)

    def scrape(self) -> bytes:
        return generate_latest(self.registry)
