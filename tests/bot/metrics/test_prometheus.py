"""The bot's counters and histograms read as prometheus-client's own Counter and Histogram would."""

from __future__ import annotations

import re
import time

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from bot.metrics import PrometheusMetrics
from bot.metrics.prometheus import UPLOAD_BUCKETS, WAIT_BUCKETS
from tests.support.probe import probe

_CREATED = re.compile(rb"^musicbot_\w+_created(\{[^}]*\})? (?P<value>\S+)$", re.MULTILINE)

#: Durations around and on the buckets' bounds, far beyond the last one, and zero.
seconds = st.one_of(
    st.sampled_from([0.0, *UPLOAD_BUCKETS, *WAIT_BUCKETS, 1e6]),
    st.floats(min_value=0, max_value=1_000, allow_nan=False),
)
outcomes = st.tuples(
    st.sampled_from(["succeeded", "bad_request", "timeout"]), st.sampled_from(["link", "file"])
)


def _samples(scrape: bytes) -> set[bytes]:
    """The sample lines of the four families above, without the moments they were created at."""
    names = (
        b"musicbot_upload_seconds",
        b"musicbot_queue_wait_seconds",
        b"musicbot_uploads_",
        b"musicbot_follow_up_",
    )
    return {
        line
        for line in _CREATED.sub(b"", scrape).splitlines()
        if line.startswith(names) and not line.startswith(b"#")
    }


@given(
    settled=st.lists(st.tuples(outcomes, seconds), max_size=30),
    waited=st.lists(seconds, max_size=30),
    credits=st.lists(st.integers(min_value=0, max_value=500), max_size=5),
)
def test_the_scrape_shows_what_prometheus_clients_own_metrics_would(
    settled: list[tuple[tuple[str, str], float]], waited: list[float], credits: list[int]
) -> None:
    ours = PrometheusMetrics()
    # prometheus-client's own metrics of the same names: the shape the bot's scrape must keep
    r = CollectorRegistry()
    uploads = Counter("musicbot_uploads", "", ["outcome", "source"], registry=r)
    upload_seconds = Histogram("musicbot_upload_seconds", "", buckets=UPLOAD_BUCKETS, registry=r)
    wait_seconds = Histogram("musicbot_queue_wait_seconds", "", buckets=WAIT_BUCKETS, registry=r)
    reserved = Counter("musicbot_follow_up_credits_reserved", "", registry=r)
    for (outcome, source), duration in settled:
        ours.upload_settled(outcome, source, duration)
        uploads.labels(outcome, source).inc()
        upload_seconds.observe(duration)
    for duration in waited:
        ours.upload_waited(duration)
        wait_seconds.observe(duration)
    for amount in credits:
        ours.credits_reserved(amount)
        reserved.inc(amount)

    assert _samples(ours.scrape()) == _samples(generate_latest(r))


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
