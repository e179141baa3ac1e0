"""The sync burst: /upload url: from distinct members, MusicAPI answering after --delay seconds, our bot
beside the minimal bot (defer, call MusicAPI, edit the answer: no validation, no store, no log). The
line's concurrency is set above the burst and both bots hold as many connections per host, so that this
compares everything but the line."""

from __future__ import annotations

import os
import sys

from benchmarks.common.bots import loops_note
from benchmarks.common.scenario import Run, sync_burst, sync_medians
from benchmarks.common.tables import ROWS, round_spread, table_row

NAME = "sync"
HELP = "our bot against the minimal bot, MusicAPI answering each upload itself"


async def run_round(run: Run, round_: int) -> None:
    for which in ("minimal", "ours") if round_ % 2 == 0 else ("ours", "minimal"):  # who goes first alternates
        await sync_burst(run, round_, which)


def report(run: Run) -> str:
    ours, minimal = sync_medians(run, "ours"), sync_medians(run, "minimal")
    args = run.args
    lines = [
        f"sync burst: {args.n} x /upload url: from {args.n} distinct members, MusicAPI delay {args.delay:g} s, "
        f"{os.cpu_count() or 1} CPU core(s), Python {sys.version.split()[0]}{run.rounds_note}",
        loops_note(),
        "",
        f"{'':<36}{'ours':>10}{'minimal':>10}{'ours/min':>11}   target",
    ]
    for row in ROWS:
        if row is None:
            lines.append("")
            continue
        label, name, fmt, target = row
        spread = round_spread(run.figures["sync/ours"], run.figures["sync/minimal"], name) if target else ""
        lines.append(
            table_row(label, getattr(ours, name), getattr(minimal, name), fmt, target=target, rounds=spread)
        )
    return "\n".join([*lines, "", f"ours: {ours.detail}"])
