"""The floor: what durability alone costs. The minimal bot, the minimal bot with our upload store and the
three writes our upload path makes of it (record before sending, settle before showing, mark shown:
what "a kill -9 loses nothing, nothing is sent twice" takes), and our bot, in the same sync burst.

durable/minimal is the least any bot that keeps that promise can reach with this store; ours/durable is
what every other feature of our bot costs on top."""

from __future__ import annotations

from benchmarks.common.bots import loops_note
from benchmarks.common.scenario import Run, sync_burst, sync_medians

NAME = "floor"
HELP = "the minimal bot with our upload store beside the minimal bot and ours: what durability alone costs"
BOTS = ("minimal", "minimal-durable", "ours")

#: (label, Figures attribute, format)
ROWS = (
    ("CPU per upload (ms)", "cpu_per_upload_ms", ".2f"),
    ("  of it the event loop thread (ms)", "loop_cpu_per_upload_ms", ".3f"),
    ("  of it the store's thread (ms)", "store_cpu_per_upload_ms", ".3f"),
    ("store statements per upload", "statements_per_upload", ".2f"),
    ("garbage collection per upload (ms)", "gc_per_upload_ms", ".3f"),
    ("first response p99 (ms)", "first_response_p99_ms", ".1f"),
    ("peak memory VmHWM (MiB)", "peak_mib", ".1f"),
)


async def run_round(run: Run, round_: int) -> None:
    for which in BOTS if round_ % 2 == 0 else BOTS[::-1]:  # who goes first alternates
        await sync_burst(run, round_, which)


def report(run: Run) -> str:
    minimal, durable, ours = (sync_medians(run, which) for which in BOTS)
    lines = [
        f"the floor: {run.args.n} x /upload url: (sync), the minimal bot with and without our upload "
        f"store{run.rounds_note}",
        loops_note().replace("the minimal bot", "the minimal bots"),
        "",
        f"{'':<36}{'minimal':>10}{'durable':>10}{'ours':>10}{'dur/min':>10}{'ours/min':>10}{'ours/dur':>10}",
    ]
    for label, name, fmt in ROWS:
        a, b, c = (getattr(f, name) for f in (minimal, durable, ours))
        ratios = "".join(f"{x / y:>9.2f}x" if y else f"{'-':>10}" for x, y in ((b, a), (c, a), (c, b)))
        lines.append(f"{label:<36}{a:>10{fmt}}{b:>10{fmt}}{c:>10{fmt}}{ratios}")
    lines += ["", f"durable: {durable.detail}", f"ours: {ours.detail}"]
    return "\n".join(lines)
