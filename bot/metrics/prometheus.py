"""The bot's metrics through prometheus-client, in a registry of their own (nothing process-global)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

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


class _Children:
    """A labelled metric's children, each looked up once per set of label values (prometheus-client's
    `labels` takes a lock and converts every value on each call; the bot's label values are few)."""

    def __init__(self, metric: Counter) -> None:
        self._metric = metric
        self._found: dict[tuple[str, ...], Counter] = {}

    def __call__(self, *values: str) -> Counter:
        child = self._found.get(values)
        if child is None:
            child = self._found[values] = self._metric.labels(*values)
        return child


class PrometheusMetrics:
    """Counters and histograms the bot's parts report to (the domain's `Metrics`), and the scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._uploads = Counter(
            "musicbot_uploads", "Uploads by outcome and source kind.", ["outcome", "source"], registry=r
        )
        self._upload_seconds = Histogram(
            "musicbot_upload_seconds", "Time from an upload's start to its outcome.",
            buckets=UPLOAD_BUCKETS, registry=r,
        )  # fmt: skip
        self._waited = Histogram(
            "musicbot_queue_wait_seconds", "Time an upload waited in the bot's line before its turn.",
            buckets=WAIT_BUCKETS, registry=r,
        )  # fmt: skip
        self._at_musicapi = Histogram(
            "musicbot_musicapi_upload_seconds", "Time an upload's turn at MusicAPI took (request and retries).",
            buckets=UPLOAD_BUCKETS, registry=r,
        )  # fmt: skip
        self._requests = Counter(
            "musicbot_musicapi_requests", "Requests to MusicAPI by endpoint and HTTP status (or failure).",
            ["endpoint", "status"], registry=r,
        )  # fmt: skip
        self._answers = Counter(
            "musicbot_answers", "Final answers by how they reached the member.", ["path"], registry=r
        )
        self._callbacks = Counter(
            "musicbot_callbacks", "MusicAPI callbacks by result.", ["result"], registry=r
        )
        self._follow_ups = Counter(
            "musicbot_follow_ups", "Follow-ups (extend, cover) by action and outcome.", ["action", "outcome"],
            registry=r,
        )  # fmt: skip
        self._follow_ups_refused = Counter(
            "musicbot_follow_ups_refused", "Follow-ups not started, by reason.", ["reason"], registry=r
        )
        self._credits = Counter(
            "musicbot_follow_up_credits_reserved", "Credits reserved by follow-ups MusicAPI was asked for.",
            registry=r,
        )  # fmt: skip

        self._files = Counter(
            "musicbot_attachments", "Files answers wanted to carry, by kind and outcome (attached, or why not).",
            ["kind", "outcome"], registry=r,
        )  # fmt: skip

        self._uploads_by, self._requests_by, self._answers_by = (
            _Children(self._uploads),
            _Children(self._requests),
            _Children(self._answers),
        )
        self._callbacks_by, self._follow_ups_by = _Children(self._callbacks), _Children(self._follow_ups)
        self._follow_ups_refused_by, self._files_by = (
            _Children(self._follow_ups_refused),
            _Children(self._files),
        )

    def file_attached(self, kind: str, outcome: str) -> None:
        self._files_by(kind, outcome).inc()

    def read_at_scrape(self, readings: Readings) -> None:
        """Report the line, pending uploads and the gateway as they are when Prometheus scrapes."""
        self.registry.register(_Now(readings))

    def upload_settled(self, outcome: str, source_kind: str, seconds: float) -> None:
        self._uploads_by(outcome, source_kind).inc()
        self._upload_seconds.observe(seconds)

    def upload_waited(self, seconds: float) -> None:
        self._waited.observe(seconds)

    def upload_at_musicapi(self, seconds: float) -> None:
        self._at_musicapi.observe(seconds)

    def musicapi_request(self, endpoint: str, status: str) -> None:
        self._requests_by(endpoint, status).inc()

    def answer_shown(self, path: str) -> None:
        self._answers_by(path).inc()

    def callback_received(self, result: str) -> None:
        self._callbacks_by(result).inc()

    def follow_up_settled(self, action: str, outcome: str) -> None:
        self._follow_ups_by(action, outcome).inc()

    def follow_up_refused(self, reason: str) -> None:
        self._follow_ups_refused_by(reason).inc()

    def credits_reserved(self, credits: int) -> None:
        self._credits.inc(credits)

    def scrape(self) -> bytes:
        return generate_latest(self.registry)
