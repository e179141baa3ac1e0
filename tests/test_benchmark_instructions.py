"""The benchmark's instruction count: callgrind counts a process only while `counted` runs, and the
table holds each bot against the minimal bot and against the minimal bot on the same event loop."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from benchmarks import instructions
from benchmarks.common.bots import BotSpec
from benchmarks.common.figures import Figures
from benchmarks.common.instructions import counted, read_count, under_callgrind
from benchmarks.common.scenario import Run

#: Busy for a while, then idle: what it executes depends on how long the counting window is.
WORK = "import time\nend = time.time() + 30\nwhile time.time() < end:\n    sum(range(2000))\n"


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is installed by .ci/run")
async def test_only_the_counted_window_is_counted(tmp_path: Path) -> None:
    out = tmp_path / "work.callgrind"
    spec = under_callgrind(BotSpec("work", [sys.executable, "-c", WORK]), out)
    assert spec.argv[0].endswith("valgrind") and spec.argv[-3:] == [sys.executable, "-c", WORK]
    proc = await asyncio.create_subprocess_exec(*spec.argv, stderr=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.sleep(3)  # valgrind starts Python, uncounted
        async with counted(proc.pid):
            await asyncio.sleep(0.5)
        short = read_count(out)
        async with counted(proc.pid):
            await asyncio.sleep(2.0)
        long = read_count(out)
    finally:
        proc.kill()
        await proc.wait()
    assert 1_000_000 < short < long  # each window counted on its own, from zero


def test_the_latest_dump_is_read_and_one_without_a_summary_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "x.callgrind"
    with pytest.raises(RuntimeError, match="dumped nothing"):
        read_count(out)
    for n, summary in ((1, "summary: 5"), (2, "summary: 7"), (10, "summary: 11")):
        out.with_name(f"x.callgrind.{n}").write_text(f"events: Ir\n{summary}\ntotals: 1\n")
    assert read_count(out) == 11
    out.with_name("x.callgrind.11").write_text("events: Ir\n")
    with pytest.raises(RuntimeError, match="no summary"):
        read_count(out)


def figures(count: float) -> Figures:
    zero: dict[str, Any] = dict.fromkeys(Figures.__dataclass_fields__, 0.0)
    zero.update(n=200, detail="", instructions_per_upload=count)
    return Figures(**zero)


def test_the_table_holds_ours_against_the_minimal_bot_and_against_the_same_loop() -> None:
    run = Run(argparse.Namespace(n=200, rounds=1))
    counts = {"minimal": 4e6, "minimal-uvloop": 3.6e6, "ours-asyncio": 5.2e6, "ours": 4.5e6}
    for key, count in counts.items():
        run.figures[f"instructions/{key}"].append(figures(count))
    rows = {line[:30].strip(): line[30:].split() for line in instructions.report(run).splitlines()[3:7]}
    assert rows["minimal bot, asyncio"] == ["4.00", "1.00x", "-"]
    assert rows["minimal bot, uvloop"] == ["3.60", "0.90x", "0.90x"]
    assert rows["ours, asyncio"] == ["5.20", "1.30x", "1.30x"]
    assert rows["ours, uvloop (as shipped)"] == ["4.50", "1.12x", "1.25x"]
    assert instructions.report(run).endswith("1.12x (target <= 1.2x: ok)")
    run.figures["instructions/ours"] = [replace(figures(5e6))]
    assert instructions.report(run).endswith("1.25x (target <= 1.2x: OVER)")
