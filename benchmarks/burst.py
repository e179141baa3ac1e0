"""Bursts of `/upload` interactions against this bot and against a minimal baseline bot.

    python benchmarks/burst.py [--mode both|sync|floor|...|instructions|opcodes] [--n 200]
                               [--callback-n 500] [--delay 2.0] [--warmup 5] [--rounds 1] [--profile DIR]
                               [--no-pin]

Each bot runs as its own subprocess (benchmarks/launch.py, which counts what it asks of the store and of
its threads) against fresh loopback fakes of Discord and MusicAPI (tests/fakes, through
tests/harness.py). A scenario waits until the bot has identified, warms it up with a few uploads, then
sends its burst as fast as the fake gateway takes it; it records when each interaction's first response
and its clip_id reach the fake Discord, and samples the bot's CPU time (by thread) and memory from /proc
before and after. Each scenario is a module of benchmarks/ (see benchmarks/common/scenario.py for what
one provides); it prints its figures beside the minimal bot's from the same run, as ratios, with the
target beside each. `--mode both` (the default) runs sync, floor, callback, line and metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
if sys.path[0] == str(Path(__file__).resolve().parent):
    sys.path[0] = str(ROOT)  # benchmarks/ is a package: its modules are imported as benchmarks.<name>
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common.bots import pin_cores  # noqa: E402
from benchmarks.common.scenario import Run  # noqa: E402

#: The scenarios, each a module of benchmarks/; a new one is a module and its name here.
SCENARIOS = ("sync", "floor", "callback", "line", "metrics", "stores", "instances", "instructions", "opcodes")
#: What --mode both runs (the others start a PostgreSQL server of their own).
BOTH = ("sync", "floor", "callback", "line", "metrics")


def scenario(name: str) -> ModuleType:
    return importlib.import_module(f"benchmarks.{name}")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    modes = "; ".join(f"{name}: {scenario(name).HELP}" for name in SCENARIOS)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--mode",
        choices=("both", *SCENARIOS),
        default="both",
        help=f"both (default): {', '.join(BOTH)}; {modes}",
    )
    parser.add_argument("--n", type=int, default=200, help="interactions in the sync burst (default 200)")
    parser.add_argument(
        "--callback-n", type=int, default=500, help="interactions in the callback burst (default 500)"
    )
    parser.add_argument("--delay", type=float, default=2.0, help="MusicAPI's answer delay (sync), seconds")
    parser.add_argument(
        "--line-n", type=int, default=100, help="interactions in the line burst (default 100)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=10, help="MUSICAPI_CONCURRENCY in the line burst (default 10)"
    )
    parser.add_argument(
        "--line-delay", type=float, default=1.0, help="MusicAPI's answer delay in the line burst (default 1)"
    )
    parser.add_argument("--warmup", type=int, default=5, help="uploads before each burst (default 5)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample every thread of each bot with py-spy during the burst into DIR/<bot>[-callback].raw, "
        "with a summary in DIR/<bot>[-callback].raw.txt (skews the figures); instructions and opcodes "
        "keep their counts in DIR",
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the bots on cores of their own, apart from the fakes (default: on, given 2 cores or more)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="run each bot this many times; report medians (default 1)"
    )
    return parser.parse_args(argv)


async def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    # SIGTERM/SIGINT cancel the run, so that the `finally` blocks stop the bot processes.
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)

    if not args.pin:
        os.environ.pop("BENCH_CPU", None)  # not even as the shell had it
    elif cores := pin_cores():
        print(f"the fakes on one core, the bots on core(s) {cores}", file=sys.stderr, flush=True)
    chosen = [scenario(name) for name in (BOTH if args.mode == "both" else (args.mode,))]
    run = Run(args)
    with run.stack:
        for round_ in range(args.rounds):
            for module in chosen:
                await module.run_round(run, round_)
    print("\n\n".join(module.report(run) for module in chosen))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except asyncio.CancelledError:
        sys.exit(130)
