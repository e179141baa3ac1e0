"""The line: a burst several times MUSICAPI_CONCURRENCY (--line-n uploads, --concurrency, MusicAPI
answering after --line-delay seconds); every clip_id must be delivered within LINE_TARGET of the bound
ceil(N / C) x L. The minimal bot has no line (aiohttp's pool of 100 connections per host is its only
limit) and shows no places."""

from __future__ import annotations

import math

from benchmarks.common.bots import minimal_bot, our_bot
from benchmarks.common.bursts import run_link_burst
from benchmarks.common.figures import median_figures
from benchmarks.common.scenario import Run, progress
from benchmarks.common.tables import verdict

NAME = "line"
HELP = "a burst several times the upload line's concurrency, against the bound it promises"

#: With concurrency C and MusicAPI latency L, a burst of N is answered within ceil(N / C) x L, plus this.
LINE_TARGET = 1.10


async def run_round(run: Run, round_: int) -> None:
    args = run.args
    for spec in (our_bot(args.concurrency), minimal_bot(None)):
        progress(run, round_, f"{spec.name}, line")
        figures = await run_link_burst(spec, args.line_n, args.line_delay, args.warmup)
        run.figures[f"line/{spec.name}"].append(figures)


def report(run: Run) -> str:
    args = run.args
    ours, minimal = median_figures(run.figures["line/ours"]), median_figures(run.figures["line/minimal"])
    n, concurrency, delay = args.line_n, args.concurrency, args.line_delay
    bound = math.ceil(n / concurrency) * delay
    cpu_ratio = ours.cpu_per_upload_ms / minimal.cpu_per_upload_ms if minimal.cpu_per_upload_ms else math.inf
    return "\n".join(
        [
            f"line: {n} x /upload url: from {n} distinct members, MUSICAPI_CONCURRENCY={concurrency}, "
            f"MusicAPI delay {delay:g} s{run.rounds_note}",
            "",
            f"{'':<36}{'ours':>10}{'minimal':>10}{'bound':>10}{'ours/bound':>12}   target",
            f"{'all clip_ids delivered (s)':<36}{ours.all_delivered_s:>10.2f}{minimal.all_delivered_s:>10.2f}"
            f"{bound:>10.2f}{ours.all_delivered_s / bound:>11.2f}x   "
            f"{verdict(ours.all_delivered_s / bound, LINE_TARGET)}",
            f"{'clip_id answer p50 (s)':<36}{ours.answer_p50_s:>10.2f}{minimal.answer_p50_s:>10.2f}",
            f"{'first response p99 (ms)':<36}{ours.first_response_p99_ms:>10.1f}"
            f"{minimal.first_response_p99_ms:>10.1f}",
            f"{'CPU per upload (ms)':<36}{ours.cpu_per_upload_ms:>10.2f}{minimal.cpu_per_upload_ms:>10.2f}"
            f"{'':>10}{cpu_ratio:>11.2f}x ours/minimal",
            "",
            f"bound = ceil({n} / {concurrency}) x {delay:g} s.",
        ]
    )
