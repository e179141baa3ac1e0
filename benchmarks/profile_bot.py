"""Run a bot under cProfile, switched on by SIGUSR1 and off (stats written) by SIGUSR2.

    python benchmarks/profile_bot.py ours|minimal   (env: FAKE_DISCORD_URL, BENCH_PROFILE_OUT, ...)

`python benchmarks/burst.py --profile DIR` uses it to profile the bots' main thread during the burst
only (cProfile sees one thread: aiosqlite's worker thread is not in the profile).
"""

from __future__ import annotations

import cProfile
import os
import runpy
import signal
import sys
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
profiler = cProfile.Profile()


def _start(signum: int, frame: FrameType | None) -> None:
    profiler.enable()


def _stop(signum: int, frame: FrameType | None) -> None:
    profiler.disable()
    profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])


signal.signal(signal.SIGUSR1, _start)
signal.signal(signal.SIGUSR2, _stop)

which = sys.argv[1]
sys.argv = sys.argv[1:]
if which == "ours":
    runpy.run_path(str(ROOT / "tests" / "support" / "launch_bot.py"), run_name="__main__")
else:
    runpy.run_path(str(ROOT / "benchmarks" / "minimal_bot.py"), run_name="__main__")
