"""Sampling a bot's every thread during the measured burst, with py-spy (cProfile would see one thread).

The samples go to <out> as py-spy's raw format (one collapsed stack per line, then its count; flamegraph
tools read it), and a short summary beside it, <out>.txt: the samples by thread, and the frames most
often on top of a stack (self time) and anywhere in one (total time).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

RATE = 997  # samples per second; not a multiple of the loop's timers
ATTACH = 1.0  # seconds given py-spy to attach before the burst starts
TOP = 30
OURS = re.compile(r"\((bot|cogs)/")  # py-spy names a frame `function (path/to/file.py:line)`


@contextlib.asynccontextmanager
async def sampled(pid: int, out: Path) -> AsyncIterator[None]:
    """py-spy samples every thread of `pid` (idle ones left out) while the block runs. An error inside the
    block goes on up as it is; py-spy's own failure (it could not attach, say) is raised after it."""
    py_spy = installed_py_spy()
    if py_spy is None:
        raise RuntimeError("--profile samples with py-spy: pip install py-spy")
    proc = await asyncio.create_subprocess_exec(
        py_spy, "record", "--pid", str(pid), "--threads", "--function", "--rate", str(RATE), "--nonblocking",
        "--format", "raw", "--output", str(out),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await asyncio.sleep(ATTACH)
        yield
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
        _, errors = await proc.communicate()
    if proc.returncode not in (0, -signal.SIGINT):
        raise RuntimeError(
            f"py-spy could not sample process {pid}: {errors.decode(errors='replace').strip()}"
        )
    await asyncio.to_thread(summarize_file, out)


def installed_py_spy() -> str | None:
    """py-spy's command: the one installed beside this Python (its environment need not be on PATH),
    else the one on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.is_file() else shutil.which("py-spy")


def summarize_file(out: Path) -> None:
    """<out>.txt: the summary of <out>'s samples, if py-spy wrote any."""
    if out.exists():
        out.with_name(out.name + ".txt").write_text(summary(out.read_text()))


def summary(raw: str) -> str:
    """Samples by thread, then the frames with the most self and total samples, and the bot's own frames
    by total samples (py-spy's raw lines: `thread (id): name;frame;frame;... count`)."""
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        threads[frames[0]] += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames[1:]):
            anywhere[frame] += int(count)
            if OURS.search(frame):
                ours[frame] += int(count)
    total = sum(threads.values()) or 1

    def table(title: str, counter: Counter[str]) -> list[str]:
        rows = [f"{100 * n / total:6.1f}%  {name}" for name, n in counter.most_common(TOP)]
        return [title, *rows, ""]

    return "\n".join(
        [
            f"{total} samples at {RATE}/s",
            "",
            *table("by thread", threads),
            *table("self (on top of the stack)", own),
            *table("total (anywhere in the stack)", anywhere),
            *table("the bot's own frames (bot/, cogs/), total", ours),
        ]
    )
