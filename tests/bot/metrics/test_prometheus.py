"""The bot's counters and histograms read as prometheus-client's own Counter and Histogram would."""

from __future__ import annotations

import re
import time
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    enable_created_metrics,
    generate_latest,
)

from bot.metrics import PrometheusMetrics
from bot.metrics.prometheus import UPLOAD_BUCKETS, WAIT_BUCKETS
from tests.support.probe import probe

_CREATED = re.compile(rb"^musicbot_\w+_created(\{[^}]*\})? (?P<value>\S+)$", re.MULTILINE)

#: Durations around and on the buckets' bounds, far beyond the last one, and zero.
seconds = st.one_of(
    st.sampled_from([0.0, *UPLOAD_BUCKETS, *WAIT_BUCKETS, 1e6]),
    st.floats(min_value=0, max_value=1_000, allow_nan=False),
)
OBSERVE, AMOUNT = -1, -2
word = st.sampled_from(["succeeded", "failed", "link", "upload", "200", "edited", "extend", "audio"])

#: Each way the bot counts, the arguments it takes, and what it counts on (prometheus-client's own
#: metric of the same name): a histogram's observation (the last argument), one more of a counter's
#: series (its label values the first arguments, as many as given), or an amount added to a counter.
CALLS = {
    "upload_settled": (st.tuples(word, word, seconds), [("_uploads", 2), ("_upload_seconds", OBSERVE)]),
    "upload_waited": (st.tuples(seconds), [("_waited", OBSERVE)]),
    "upload_at_musicapi": (st.tuples(seconds), [("_at_musicapi", OBSERVE)]),
    "musicapi_request": (st.tuples(word, word), [("_requests", 2)]),
    "answer_shown": (st.tuples(word), [("_answers", 1)]),
    "callback_received": (st.tuples(word), [("_callbacks", 1)]),
    "follow_up_settled": (st.tuples(word, word), [("_follow_ups", 2)]),
    "follow_up_refused": (st.tuples(word), [("_follow_ups_refused", 1)]),
    "credits_reserved": (st.tuples(st.integers(0, 500)), [("_credits", AMOUNT)]),
    "file_attached": (st.tuples(word, word), [("_files", 2)]),
}
calls = st.lists(st.one_of(*(st.tuples(st.just(name), args) for name, (args, _) in CALLS.items())))


def _masked(scrape: bytes) -> bytes:
    """The scrape without the moments its series began (the only values that differ by when)."""
    return _CREATED.sub(lambda m: m.group(0).replace(m.group("value"), b"<when>"), scrape)


def _reference(ours: PrometheusMetrics) -> tuple[CollectorRegistry, dict[str, Counter | Histogram]]:
    """prometheus-client's own Counter and Histogram for each of the bot's (by name), with the same help
    texts, labels and buckets, registered in the order the bot's scrape gives them."""
    registry = CollectorRegistry()
    theirs: dict[str, Counter | Histogram] = {}
    for h in ours._histograms:
        bounds = [bound for bound, _ in h.buckets()][:-1]
        theirs[h.name] = Histogram(h.name, h.doc, buckets=bounds, registry=registry)
    for c in ours._counters:
        theirs[c.name] = Counter(c.name, c.doc, c.labels, registry=registry)
    return registry, theirs


@given(calls)
def test_the_scrape_is_what_prometheus_clients_own_metrics_give(
    made: list[tuple[str, tuple[Any, ...]]],
) -> None:
    """Every family, whole (help, type, every sample), but for when each series began."""
    ours = PrometheusMetrics()
    registry, theirs = _reference(ours)
    for name, args in made:
        getattr(ours, name)(*args)
        for attr, how in CALLS[name][1]:
            metric = theirs[getattr(ours, attr).name]
            if isinstance(metric, Histogram):
                assert how == OBSERVE
                metric.observe(args[-1])
            elif how == AMOUNT:
                metric.inc(args[0])
            else:
                metric.labels(*args[:how]).inc()

    assert _masked(ours.scrape()) == _masked(generate_latest(registry))


def test_without_created_series_as_prometheus_client_is_told() -> None:
    metrics = PrometheusMetrics()
    metrics.answer_shown("edited")
    disable_created_metrics()  # type: ignore[no-untyped-call]
    try:
        scraped = metrics.scrape()
    finally:
        enable_created_metrics()  # type: ignore[no-untyped-call]
    assert b'musicbot_answers_total{path="edited"} 1.0' in scraped
    assert b"_created" not in scraped


def test_each_series_shows_when_it_began() -> None:
    before = time.time()
    metrics = PrometheusMetrics()
    metrics.answer_shown("edited")
    after = time.time()
    created = {
        m.group(0).split(b" ")[0]: float(m.group("value")) for m in _CREATED.finditer(metrics.scrape())
    }

    assert set(created) == {
        b'musicbot_answers_created{path="edited"}',  # a labelled series from its first count
        b"musicbot_upload_seconds_created",
        b"musicbot_queue_wait_seconds_created",
        b"musicbot_musicapi_upload_seconds_created",
        b"musicbot_follow_up_credits_reserved_created",  # the unlabelled counter from the start
    }
    assert all(before <= moment <= after for moment in created.values())


def test_prometheus_client_is_loaded_at_the_first_scrape_and_not_before() -> None:
    """Counting needs none of it: a bot nobody scrapes never holds its modules (about 1 MiB)."""
    code = (
        "import sys, bot.composition\n"
        "from bot.metrics import PrometheusMetrics\n"
        "m = PrometheusMetrics()\n"
        "m.upload_settled('succeeded', 'link', 1.5); m.musicapi_request('upload', '200')\n"
        "print('prometheus_client' in sys.modules, 'http.server' in sys.modules)\n"
        "scraped = m.scrape()\n"
        "print('prometheus_client' in sys.modules, b'musicbot_uploads_total' in scraped)\n"
    )
    assert probe(code).split("\n") == ["False False", "True True", ""]
