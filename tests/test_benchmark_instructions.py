"""The benchmark's instruction count: callgrind counts a process only while `counted` runs, and the
table holds each bot against the minimal bot and against the minimal bot on the same event loop."""

from __future__ import annotations

import argparse
import asyncio
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

#: Says it runs, then stays busy: what it executes depends on how long the counting window is.
WORK = (
    "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\nprint('ready', flush=True)\n"
    "end = time.time() + 120\nwhile time.time() < end:\n    sum(range(2000))\n"
)


async def test_only_the_counted_window_is_counted(tmp_path: Path) -> None:
    out = tmp_path / "work.callgrind"
    spec = under_callgrind(BotSpec("work", [sys.executable, "-c", WORK]), out)
    assert spec.argv[0].endswith("valgrind") and spec.argv[-3:] == [sys.executable, "-c", WORK]
    proc = await asyncio.create_subprocess_exec(
        *spec.argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    assert proc.stdout is not None
    try:
        assert await asyncio.wait_for(proc.stdout.readline(), 120) == b"ready\n"  # started, uncounted
        async with counted(proc.pid):
            await asyncio.sleep(0.5)
        short = read_count(out)
        async with counted(proc.pid):
            await asyncio.sleep(2.0)
        long = read_count(out)
    finally:
        proc.terminate()  # valgrind removes its gdb server's pipes on the way out
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
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
    text = instructions.report(run)
    rows = {line[:30].strip(): line[30:].split() for line in text.splitlines()[3:7]}
    assert rows["minimal bot, asyncio"] == ["4.00", "1.00x", "-", "-"]
    assert rows["minimal bot, uvloop"] == ["3.60", "0.90x", "-", "-"]
    assert rows["ours, asyncio"] == ["5.20", "1.30x", "1.30x", "0.00"]
    assert rows["ours, uvloop (as shipped)"] == ["4.50", "1.12x", "1.25x", "0.00"]
    assert "as written: 1.12x (target <= 1.2x: ok)" in text
    assert "both on uvloop: 1.25x (target <= 1.2x: OVER)" in text
    run.figures["instructions/ours"] = [replace(figures(4.2e6))]
    assert "both on uvloop: 1.17x (target <= 1.2x: ok)" in instructions.report(run)


def test_each_bot_runs_on_its_own_loop_whatever_the_callers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_LOOP", "asyncio")
    for key, (_, _, loop) in instructions.BOTS.items():
        assert instructions.spec(key, Path("out")).env["BENCH_LOOP"] == loop
