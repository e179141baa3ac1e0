"""What every scenario shares: the run (its options, the figures of each round, a PostgreSQL server
started when first asked for), and the sync bursts of our bot and of the minimal bot that the
scenarios' ratios are taken against.

A scenario is a module of `benchmarks/` named in `burst.SCENARIOS`, with
    NAME: str                                          its --mode
    HELP: str                                          one line for --help
    async def run_round(run: Run, round_: int) -> None its bots, once (figures go to run.figures)
    def report(run: Run) -> str                        its table: medians, ratios, the target beside each
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common.bots import durable_minimal_bot, minimal_bot, our_bot
from benchmarks.common.bursts import run_link_burst
from benchmarks.common.figures import Figures, median_figures
from benchmarks.common.postgres import postgres_server
from tests.support.postgres import PostgresServer


@dataclass
class Run:
    """One run of the benchmark: its options, and every figure measured so far, by key."""

    args: argparse.Namespace
    figures: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _postgres: PostgresServer | None = None

    @property
    def rounds_note(self) -> str:
        return f", median of {self.args.rounds} rounds" if self.args.rounds > 1 else ""

    def postgres(self) -> PostgresServer:
        """A PostgreSQL server for the rest of the run (started on first use, stopped when it ends)."""
        if self._postgres is None:
            print("starting a PostgreSQL server ...", file=sys.stderr, flush=True)
            self._postgres = self.stack.enter_context(postgres_server())
        return self._postgres


def progress(run: Run, round_: int, what: str) -> None:
    print(f"round {round_ + 1}/{run.args.rounds}: {what} ...", file=sys.stderr, flush=True)


async def sync_burst(run: Run, round_: int, which: str) -> Figures:
    """The sync burst of our bot ("ours"), of the minimal bot ("minimal") or of the minimal bot with our
    upload store ("minimal-durable") in this round: run once per round, however many scenarios hold
    their figures against it."""
    runs: list[Figures] = run.figures[f"sync/{which}"]
    if len(runs) <= round_:
        progress(run, round_, which)
        spec = {"ours": our_bot, "minimal": minimal_bot, "minimal-durable": durable_minimal_bot}[which]()
        args = run.args
        runs.append(await run_link_burst(spec, args.n, args.delay, args.warmup, args.profile))
    return runs[round_]


def sync_medians(run: Run, which: str) -> Figures:
    """Our bot's ("ours") or the minimal bot's ("minimal") sync burst, medians over the rounds."""
    return median_figures(run.figures[f"sync/{which}"])


def against_minimal(run: Run, label: str, cpu_per_upload_ms: float, target: float | None = None) -> str:
    """One line: a CPU figure per upload over the minimal bot's in this run's sync burst, and the target."""
    base = sync_medians(run, "minimal").cpu_per_upload_ms
    ratio = cpu_per_upload_ms / base if base else float("inf")
    goal = f" (target <= {target:g}x: {'ok' if ratio <= target else 'OVER'})" if target else ""
    return (
        f"{label}: {cpu_per_upload_ms:.2f} ms per upload, {ratio:.2f}x the minimal bot's {base:.2f} ms{goal}"
    )
