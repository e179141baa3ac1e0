"""A burst's figures: per upload, per interaction, and medians over rounds."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common.fakes import InteractionTimes
from benchmarks.common.sampling import LOOP, OTHER, STORE, Counts, ProcessSample, thread_cpu


@dataclass
class BurstResult:
    n: int
    times: list[InteractionTimes]
    before: ProcessSample
    after: ProcessSample
    counts: Counts
    side_cpu_seconds: float = 0.0  # CPU counted outside the bot during the burst (the database server)
    instructions: int = 0  # executed by every thread of the bot during the burst, when callgrind counted


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Figures:
    n: int
    first_response_p50_ms: float
    first_response_p99_ms: float
    answer_p50_s: float
    answer_p99_s: float
    all_delivered_s: float
    cpu_per_upload_ms: float
    loop_cpu_per_upload_ms: float  # the event loop's thread
    store_cpu_per_upload_ms: float  # the store's worker thread
    other_threads_cpu_per_upload_ms: float  # every other thread
    statements_per_upload: float  # statements the store ran (SQLite or PostgreSQL)
    store_calls_per_upload: float  # calls into the upload store (each a statement, alone or batched)
    wakeups_per_upload: float  # trips through another thread back to the event loop
    gc_per_upload_ms: float  # garbage collection, in any thread
    peak_mib: float
    rss_before_mib: float
    rss_after_mib: float
    server_cpu_per_upload_ms: float = 0.0  # the database server's CPU (PostgreSQL), beside the bot's
    instructions_per_upload: float = 0.0  # callgrind's count, every thread (--mode instructions)
    detail: str = ""  # the store calls and statements by kind (of the last round, when medians are taken)

    @property
    def rss_growth_mib(self) -> float:
        return self.rss_after_mib - self.rss_before_mib


def median_figures(runs: Sequence[Figures]) -> Figures:
    """Each figure's median over several runs of the same bot."""
    values = {
        f.name: statistics.median(getattr(r, f.name) for r in runs)
        for f in dataclasses.fields(Figures)
        if f.name != "detail"
    }
    values["n"], values["detail"] = runs[0].n, runs[-1].detail
    return Figures(**values)


def per_upload(result: BurstResult) -> dict[str, float]:
    """CPU per upload (ms), of the whole process and by thread, and the counts per upload."""
    by_thread = thread_cpu(result.before, result.after, result.counts.labels)
    ms = 1000 / result.n
    return {
        "cpu_per_upload_ms": (result.after.cpu_seconds - result.before.cpu_seconds) * ms,
        "loop_cpu_per_upload_ms": by_thread[LOOP] * ms,
        "store_cpu_per_upload_ms": by_thread[STORE] * ms,
        "other_threads_cpu_per_upload_ms": by_thread[OTHER] * ms,
        "statements_per_upload": result.counts.statement_total / result.n,
        "store_calls_per_upload": sum(result.counts.store_calls.values()) / result.n,
        "wakeups_per_upload": result.counts.wakeups / result.n,
        "gc_per_upload_ms": result.counts.collecting_seconds * ms,
    }


def summarize(result: BurstResult) -> Figures:
    times = result.times
    if any(t.dispatched is None or t.first_response is None or t.answered is None for t in times):
        raise ValueError("an interaction of the burst has no complete timing")
    if len({t.clip_id for t in times}) != len(times):
        raise ValueError("two interactions were answered with the same clip_id")
    dispatched = [t.dispatched for t in times if t.dispatched is not None]
    first = [t.first_response - t.dispatched for t in times if t.first_response and t.dispatched]
    answer = [t.answered - t.dispatched for t in times if t.answered and t.dispatched]
    last = max(t.answered for t in times if t.answered)
    return Figures(
        n=result.n,
        first_response_p50_ms=percentile(first, 50) * 1000,
        first_response_p99_ms=percentile(first, 99) * 1000,
        answer_p50_s=percentile(answer, 50),
        answer_p99_s=percentile(answer, 99),
        all_delivered_s=last - min(dispatched),
        **per_upload(result),
        peak_mib=result.after.hwm_kib / 1024,
        rss_before_mib=result.before.rss_kib / 1024,
        rss_after_mib=result.after.rss_kib / 1024,
        server_cpu_per_upload_ms=result.side_cpu_seconds / result.n * 1000,
        instructions_per_upload=result.instructions / result.n,
        detail=result.counts.detail(result.n),
    )


#: Callback mode's targets: every clip_id reaches Discord within this many seconds of its callback ...
CALLBACK_LATENCY_TARGET = 2.0


@dataclass
class CallbackRun:
    """What the callback side of one batch did: MusicAPI's tasks, the callbacks sent and the bot's replies."""

    tasks: dict[str, str] = field(default_factory=dict)  # interaction token -> task id
    clip_ids: dict[str, str] = field(default_factory=dict)  # interaction token -> clip_id sent back
    replied: dict[str, float] = field(default_factory=dict)  # the bot answered the callback's POST
    statuses: list[int] = field(default_factory=list)
    all_processing: float | None = None  # the last "processing" edit had arrived
    fired: float | None = None  # just before the first callback was sent
    waiting: ProcessSample | None = None  # the bot, once every upload waited for its callback
    replies_in: bool = False  # every callback was sent and the bot's reply to it read
    error: BaseException | None = None


@dataclass(frozen=True)
class CallbackFigures:
    n: int
    processing_s: float  # first interaction sent -> last "processing" edit (all uploads wait for callbacks)
    first_response_p99_ms: float
    latency_p50_s: float  # an upload's callback sent -> its clip_id edit arrived at Discord
    latency_p99_s: float
    latency_max_s: float
    within_target: int  # uploads whose clip_id arrived within CALLBACK_LATENCY_TARGET of the callback
    callback_reply_p99_ms: float  # callback sent -> the bot's HTTP reply to it
    all_delivered_s: float  # first callback sent -> last clip_id edit
    cpu_per_upload_ms: float  # the whole scenario: interactions, then callbacks
    interaction_cpu_per_upload_ms: float  # until every upload waits for its callback
    callback_cpu_per_upload_ms: float  # from then until the last clip_id edit (+ SETTLE)
    loop_cpu_per_upload_ms: float
    store_cpu_per_upload_ms: float
    other_threads_cpu_per_upload_ms: float
    statements_per_upload: float
    store_calls_per_upload: float
    wakeups_per_upload: float
    gc_per_upload_ms: float
    peak_mib: float
    rss_before_mib: float
    rss_after_mib: float
    server_cpu_per_upload_ms: float = 0.0  # the database server's CPU (PostgreSQL), whole scenario
    detail: str = ""

    @property
    def rss_growth_mib(self) -> float:
        return self.rss_after_mib - self.rss_before_mib


def _stamp(value: float | None) -> float:
    if value is None:
        raise ValueError("an upload of the callback burst has no complete timing")
    return value


def summarize_callbacks(
    batch: Sequence[dict[str, Any]], run: CallbackRun, result: BurstResult
) -> CallbackFigures:
    pairs = list(zip((p["token"] for p in batch), result.times, strict=True))
    wrong = sum(t.clip_id != run.clip_ids.get(token) for token, t in pairs)
    if wrong:
        raise ValueError(f"{wrong} interaction(s) answered with a clip_id not from their own callback")
    first = [_stamp(t.first_response) - _stamp(t.dispatched) for _, t in pairs]
    latency = [_stamp(t.answered) - _stamp(t.callback_sent) for _, t in pairs]
    reply = [run.replied[token] - _stamp(t.callback_sent) for token, t in pairs]
    start = min(_stamp(t.dispatched) for _, t in pairs)
    before, waiting, after = result.before, run.waiting, result.after
    if waiting is None or run.all_processing is None or run.fired is None:
        raise ValueError("the callback burst was not sampled between its two phases")
    ms = 1000 / result.n
    return CallbackFigures(
        n=result.n,
        processing_s=run.all_processing - start,
        first_response_p99_ms=percentile(first, 99) * 1000,
        latency_p50_s=percentile(latency, 50),
        latency_p99_s=percentile(latency, 99),
        latency_max_s=max(latency),
        within_target=sum(x <= CALLBACK_LATENCY_TARGET for x in latency),
        callback_reply_p99_ms=percentile(reply, 99) * 1000,
        all_delivered_s=max(_stamp(t.answered) for _, t in pairs) - run.fired,
        **per_upload(result),
        interaction_cpu_per_upload_ms=(waiting.cpu_seconds - before.cpu_seconds) * ms,
        callback_cpu_per_upload_ms=(after.cpu_seconds - waiting.cpu_seconds) * ms,
        peak_mib=after.hwm_kib / 1024,
        rss_before_mib=before.rss_kib / 1024,
        rss_after_mib=after.rss_kib / 1024,
        server_cpu_per_upload_ms=result.side_cpu_seconds * ms,
        detail=result.counts.detail(result.n),
    )


def median_callback_figures(runs: Sequence[CallbackFigures]) -> CallbackFigures:
    values: dict[str, Any] = {
        f.name: statistics.median(getattr(r, f.name) for r in runs)
        for f in dataclasses.fields(CallbackFigures)
        if f.name != "detail"
    }
    values["n"], values["detail"] = runs[0].n, runs[-1].detail
    values["within_target"] = min(r.within_target for r in runs)  # the worst round
    return CallbackFigures(**values)
