"""Instructions per upload: the sync burst's work counted by callgrind rather than timed, for a ratio
against the minimal bot that the machine's load does not move.

Four bots: the minimal bot and ours, each on asyncio's own event loop and on uvloop's. Our bot runs on
uvloop wherever it is installed (bot/process.py), and the minimal bot, as written, on asyncio's loop:
ours on uvloop against the minimal bot on asyncio is what an operator's machine sees; ours against the
minimal bot on the same loop is what our bot's features cost, loop aside.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from benchmarks.common.bots import BotSpec, minimal_bot, our_bot, with_env
from benchmarks.common.bursts import run_link_burst
from benchmarks.common.figures import Figures, median_figures
from benchmarks.common.instructions import under_callgrind
from benchmarks.common.scenario import Run, progress

NAME = "instructions"
HELP = "instructions per upload (callgrind) of our bot and the minimal bot, on asyncio's loop and uvloop's"
TARGET = 1.2  # the sync burst's CPU per upload against the minimal bot's

#: key -> (what the table calls it, the bot, the loop it runs on)
BOTS: dict[str, tuple[str, str, str]] = {
    "minimal": ("minimal bot, asyncio", "minimal", "asyncio"),
    "minimal-uvloop": ("minimal bot, uvloop", "minimal", "uvloop"),
    "ours-asyncio": ("ours, asyncio", "ours", "asyncio"),
    "ours": ("ours, uvloop (as shipped)", "ours", "uvloop"),
}


def spec(which: str, out: Path) -> BotSpec:
    _, bot, loop = BOTS[which]
    base = our_bot() if bot == "ours" else minimal_bot()
    return under_callgrind(with_env(base, BENCH_LOOP=loop), out)  # whatever the caller's BENCH_LOOP


async def run_round(run: Run, round_: int) -> None:
    keys = list(BOTS) if round_ % 2 == 0 else list(BOTS)[::-1]
    args = run.args
    with tempfile.TemporaryDirectory(prefix="callgrind-") as tmp:
        # With --profile DIR, callgrind's dumps stay there, for callgrind_annotate (by C function).
        where = Path(args.profile) if args.profile else Path(tmp)
        for which in keys:
            progress(run, round_, f"{which} under callgrind")
            out = where / f"{which}.round{round_ + 1}.callgrind"
            figures = await run_link_burst(spec(which, out), args.n, args.delay, args.warmup)
            run.figures[f"instructions/{which}"].append(figures)


def report(run: Run) -> str:
    medians: dict[str, Figures] = {key: median_figures(run.figures[f"instructions/{key}"]) for key in BOTS}
    base = medians["minimal"].instructions_per_upload
    same_loop = {"ours": "minimal-uvloop", "ours-asyncio": "minimal"}
    lines = [
        f"instructions per upload (callgrind, every thread): {run.args.n} x /upload url: (sync), "
        f"{os.cpu_count() or 1} CPU core(s), Python {sys.version.split()[0]}{run.rounds_note}",
        "",
        f"{'':<30}{'M instr.':>10}{'/minimal':>10}{'/same loop':>12}{'statements':>12}",
    ]
    for key, (label, _, _) in BOTS.items():
        figures = medians[key]
        count = figures.instructions_per_upload
        against = medians[same_loop[key]].instructions_per_upload if key in same_loop else 0.0
        same = f"{count / against:>11.2f}x" if against else f"{'-':>12}"
        statements = f"{figures.statements_per_upload:>12.2f}" if key.startswith("ours") else f"{'-':>12}"
        lines.append(f"{label:<30}{count / 1e6:>10.2f}{count / base:>9.2f}x{same}{statements}")
    shipped = medians["ours"].instructions_per_upload / base
    alike = medians["ours"].instructions_per_upload / medians["minimal-uvloop"].instructions_per_upload
    lines += [
        "",
        f"ours as shipped / the minimal bot as written: {shipped:.2f}x "
        f"(target <= {TARGET:g}x: {'ok' if shipped <= TARGET else 'OVER'})",
        f"ours / the minimal bot, both on uvloop: {alike:.2f}x "
        f"(target <= {TARGET:g}x: {'ok' if alike <= TARGET else 'OVER'})",
        "",
        "statements: the store's per upload. Its writes wait a few milliseconds for one another; under",
        "callgrind the burst is spread over more time and fewer share one: compare with the sync burst's.",
    ]
    return "\n".join(lines)
