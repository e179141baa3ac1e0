"""Python opcodes per upload, by function: the sync burst with each bot's event loop thread traced, and
the functions our bot spends the most bytecode in beyond the minimal bot's, for finding what to trim.

Both bots run on uvloop here, whatever BENCH_LOOP says: asyncio's own loop is Python code, which
would be counted for the minimal bot and not for ours as shipped, and hide the difference that matters.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

from benchmarks.common.bots import BotSpec, minimal_bot, our_bot, with_env
from benchmarks.common.bursts import run_link_burst
from benchmarks.common.opcodes import differences, read_counts
from benchmarks.common.scenario import Run, progress

NAME = "opcodes"
HELP = "Python opcodes per upload of our bot and the minimal bot (both on uvloop), and the functions ours spends most in beyond the minimal bot's"
#: Functions listed in the report.
TOP = 30
BOTS = ("minimal", "ours")


def spec(which: str, out: Path) -> BotSpec:
    base = our_bot() if which == "ours" else minimal_bot()
    return replace(with_env(base, BENCH_LOOP="uvloop"), opcodes=out)


async def run_round(run: Run, round_: int) -> None:
    args = run.args
    with tempfile.TemporaryDirectory(prefix="opcodes-") as tmp:
        where = Path(args.profile) if args.profile else Path(tmp)
        for which in BOTS if round_ % 2 == 0 else BOTS[::-1]:
            progress(run, round_, f"{which}, its opcodes counted")
            out = where / f"{which}.round{round_ + 1}.opcodes.json"
            await run_link_burst(spec(which, out), args.n, args.delay, args.warmup)
            run.figures[f"opcodes/{which}"].append(read_counts(out))


def _median_total(rounds: list[Counter[str]]) -> float:
    totals = sorted(sum(counts.values()) for counts in rounds)
    return float(totals[len(totals) // 2])


def report(run: Run) -> str:
    n = run.args.n
    rounds = {which: run.figures[f"opcodes/{which}"] for which in BOTS}
    totals = {which: _median_total(counted) / n for which, counted in rounds.items()}
    lines = [
        f"Python opcodes per upload (the event loop's thread), {n} x /upload url: (sync), both bots on "
        f"uvloop, Python {sys.version.split()[0]}, {os.cpu_count() or 1} CPU core(s){run.rounds_note}",
        "",
        f"{'minimal bot':<30}{totals['minimal']:>10.0f}",
        f"{'ours':<30}{totals['ours']:>10.0f}{totals['ours'] / totals['minimal']:>9.2f}x",
        "",
        f"the {TOP} functions ours runs most more opcodes in than the minimal bot (first round):",
        f"{'more':>8}{'ours':>8}  function",
    ]
    for name, more, ours in differences(rounds["ours"][0], rounds["minimal"][0], n, TOP):
        lines.append(f"{more:>8.0f}{ours:>8.0f}  {name}")
    return "\n".join(lines)
