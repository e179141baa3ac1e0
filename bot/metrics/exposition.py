"""The metrics in Prometheus' text format, through prometheus-client: loaded at the first scrape (about
1 MiB with the modules its package imports), so that a bot nobody scrapes never holds it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from bot.metrics.readings import Readings
from bot.metrics.tallies import Counter, Histogram

#: A bound as prometheus-client writes a bucket's `le` (`1.0`, `+Inf`).
_le: Callable[[float], str] = floatToGoString


class Exposition:
    """A registry of the bot's own (nothing process-global) that reads the tallies when scraped."""

    def __init__(
        self, counters: Sequence[Counter], histograms: Sequence[Histogram], readings: Readings | None
    ) -> None:
        self._registry = CollectorRegistry(auto_describe=True)
        self._registry.register(_Tallies(counters, histograms))
        if readings is not None:
            self._registry.register(_Now(readings))

    def scrape(self) -> bytes:
        return generate_latest(self._registry)


class _Tallies(Collector):
    """The counters and histograms in prometheus-client's shapes, as its own Counter and Histogram
    give them (their `_created` samples included)."""

    def __init__(self, counters: Sequence[Counter], histograms: Sequence[Histogram]) -> None:
        self._counters, self._histograms = counters, histograms

    def collect(self) -> Iterable[Metric]:
        # The `_created` samples go as prometheus-client's own metrics give them: not once its
        # PROMETHEUS_DISABLE_CREATED_SERIES (or `disable_created_metrics()`) turned them off.
        with_created = getattr(prometheus_metrics, "_use_created", True)
        for histogram in self._histograms:
            buckets = [(_le(bound), float(n)) for bound, n in histogram.buckets()]
            family = HistogramMetricFamily(
                histogram.name, histogram.doc, buckets=buckets, sum_value=histogram.sum
            )
            if with_created:
                family.samples.append(Sample(f"{histogram.name}_created", {}, histogram.created))
            yield family
        for counter in self._counters:
            counted = CounterMetricFamily(counter.name, counter.doc, labels=counter.labels)
            for labels, value, created in counter.series():
                counted.add_metric(labels, value, created=created if with_created else None)
            yield counted


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
