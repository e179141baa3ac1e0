"""Counting the instructions a bot executes during the measured burst, with valgrind's callgrind.

CPU seconds on a shared machine move from run to run (the same code measured 1.24x and 1.42x the
minimal bot in two runs of one afternoon); the instructions executed for the same work hardly do. The
bot runs under callgrind with instrumentation off, so that it starts and warms up at a few times its
speed; `counted` turns it on just before the burst and dumps the count of every thread after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from benchmarks.common.bots import BotSpec


def installed_valgrind() -> str:
    found = shutil.which("valgrind")
    if found is None:
        raise RuntimeError("--mode instructions counts with valgrind: apt-get install valgrind")
    return found


def under_callgrind(spec: BotSpec, out: Path) -> BotSpec:
    """`spec` run under callgrind, counting nothing until `counted` says so; its counts go to `out`.N."""
    callgrind = [
        installed_valgrind(),
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
    ]
    return replace(spec, argv=[*callgrind, *spec.argv], instructions=out)


#: How long callgrind_control may take to reach the process (through valgrind's gdb server).
CONTROL_TIMEOUT = 60.0


async def _control(pid: int, *args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "callgrind_control", *args, str(pid),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, errors = await asyncio.wait_for(proc.communicate(), CONTROL_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(
            f"callgrind_control {' '.join(args)} {pid}: no answer in {CONTROL_TIMEOUT:g}s"
        ) from None
    if proc.returncode != 0:
        raise RuntimeError(f"callgrind_control {' '.join(args)} {pid}: {errors.decode(errors='replace')}")


@contextlib.asynccontextmanager
async def counted(pid: int) -> AsyncIterator[None]:
    """Callgrind counts every thread of `pid` while the block runs, then dumps the count (`read_count`)."""
    await _control(pid, "--instr=on")
    await _control(pid, "--zero")
    try:
        yield
    finally:
        await _control(pid, "--dump")
        await _control(pid, "--instr=off")


def read_count(out: Path) -> int:
    """The instructions counted in the last `counted` block: the summary of callgrind's latest dump
    beside `out` (`out`.1, `out`.2 ...: one per block)."""
    numbered = {int(p.suffix[1:]): p for p in out.parent.glob(out.name + ".*") if p.suffix[1:].isdigit()}
    if not numbered:
        raise RuntimeError(f"callgrind dumped nothing beside {out}")
    latest = numbered[max(numbered)]
    for line in latest.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"no summary in callgrind's dump {latest}")
