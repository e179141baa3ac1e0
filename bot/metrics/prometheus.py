"""The bot's metrics: what its parts report (the domain's `Metrics`), counted as plain numbers, and
the scrape in Prometheus' text format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.metrics.readings import Readings
from bot.metrics.tallies import Counter, Histogram

if TYPE_CHECKING:
    from bot.metrics.exposition import Exposition

#: Upload times span a fast rejection to a slow sync upload (about 20 s) waiting in a long line.
UPLOAD_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600)
WAIT_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)


class PrometheusMetrics:
    """Counters and histograms the bot's parts report to (the domain's `Metrics`), and the scrape."""

    def __init__(self) -> None:
        self._readings: Readings | None = None
        self._exposition: Exposition | None = None
        self._upload_seconds = Histogram(
            "musicbot_upload_seconds", "Time from an upload's start to its outcome.", UPLOAD_BUCKETS
        )
        self._waited = Histogram(
            "musicbot_queue_wait_seconds", "Time an upload waited in the bot's line before its turn.",
            WAIT_BUCKETS,
        )  # fmt: skip
        self._at_musicapi = Histogram(
            "musicbot_musicapi_upload_seconds", "Time an upload's turn at MusicAPI took (request and retries).",
            UPLOAD_BUCKETS,
        )  # fmt: skip
        self._uploads = Counter(
            "musicbot_uploads", "Uploads by outcome and source kind.", ["outcome", "source"]
        )
        self._requests = Counter(
            "musicbot_musicapi_requests", "Requests to MusicAPI by endpoint and HTTP status (or failure).",
            ["endpoint", "status"],
        )  # fmt: skip
        self._answers = Counter("musicbot_answers", "Final answers by how they reached the member.", ["path"])
        self._callbacks = Counter("musicbot_callbacks", "MusicAPI callbacks by result.", ["result"])
        self._follow_ups = Counter(
            "musicbot_follow_ups", "Follow-ups (extend, cover) by action and outcome.", ["action", "outcome"]
        )
        self._follow_ups_refused = Counter(
            "musicbot_follow_ups_refused", "Follow-ups not started, by reason.", ["reason"]
        )
        self._credits = Counter(
            "musicbot_follow_up_credits_reserved", "Credits reserved by follow-ups MusicAPI was asked for."
        )
        self._files = Counter(
            "musicbot_attachments", "Files answers wanted to carry, by kind and outcome (attached, or why not).",
            ["kind", "outcome"],
        )  # fmt: skip
        self._counters = (
            self._uploads, self._requests, self._answers, self._callbacks, self._follow_ups,
            self._follow_ups_refused, self._credits, self._files,
        )  # fmt: skip
        self._histograms = (self._upload_seconds, self._waited, self._at_musicapi)

    def file_attached(self, kind: str, outcome: str) -> None:
        self._files.add((kind, outcome))

    def read_at_scrape(self, readings: Readings) -> None:
        """Report the line, pending uploads and the gateway as they are when Prometheus scrapes."""
        self._readings = readings
        self._exposition = None  # made again at the next scrape, with them

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
        if self._exposition is None:
            from bot.metrics.exposition import Exposition  # prometheus-client, once someone reads them

            self._exposition = Exposition(self._counters, self._histograms, self._readings)
        return self._exposition.scrape()
