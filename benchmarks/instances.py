"""Instances: on PostgreSQL (a server of the run's own), one instance running both shards of
SHARD_COUNT=2 against two instances (SHARD_IDS 0 and 1); interactions from servers of both shards in
turn, callbacks sent to the instances in turn, measured once the instances have settled their shares of
MUSICAPI_CONCURRENCY. CPU and memory are summed over the instances."""

from __future__ import annotations

import argparse
import asyncio
import math
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.common.bots import BotProcess, BotSpec, callback_bot, our_bot, start_bot, stop_bot
from benchmarks.common.bursts import callback_batch, measure_burst
from benchmarks.common.fakes import bench_harness, link_uploads, warm_up
from benchmarks.common.figures import (
    CallbackFigures,
    Figures,
    median_callback_figures,
    median_figures,
    summarize,
    summarize_callbacks,
)
from benchmarks.common.postgres import server_cpu
from benchmarks.common.scenario import Run, against_minimal, progress, sync_burst
from benchmarks.common.tables import callback_rows, comparison, sync_rows
from tests.bot.test_instances import guild_on_shard
from tests.harness import Harness, free_port
from tests.support.postgres import PostgresServer

#: The instances benchmark runs the bot on this many shards: in one process, or one shard per instance.
SHARDS = 2
#: Servers of each shard the interactions of the instances benchmark come from.
GUILDS_PER_SHARD = 4


#: An instance's log line when it resizes its share of the deployment's limit (bot/domain/instances.py).
SHARE_LINE = re.compile(r"sends at most (\d+) upload")


def shard_guilds() -> list[int]:
    """Servers of every shard in turn (shard 0, shard 1, shard 0, ...), GUILDS_PER_SHARD of each."""
    return [
        guild_on_shard(shard, SHARDS) + k * (SHARDS << 22)  # the same shard: (G >> 22) % SHARDS is kept
        for k in range(GUILDS_PER_SHARD)
        for shard in range(SHARDS)
    ]


def instance_specs(count: int, database_url: str, concurrency: int, callbacks: bool) -> list[BotSpec]:
    """`count` instances of our bot on SHARDS shards and one database: one instance runs every shard
    (SHARD_COUNT alone), or each runs its own (SHARD_IDS). In callback mode each has its own callback
    server (WEB_PORT, PUBLIC_URL)."""
    specs = []
    for i in range(count):
        base = callback_bot(free_port(), concurrency) if callbacks else our_bot(concurrency)
        env = {"DATABASE_URL": database_url, "SHARD_COUNT": str(SHARDS)}
        if count > 1:
            env["SHARD_IDS"] = str(i)
        name = "one-instance" if count == 1 else f"instance-{i}"
        specs.append(BotSpec(name, base.argv, {**base.env, **env}))
    return specs


async def wait_until_sharded(harness: Harness, bots: Sequence[BotProcess], within: float = 30.0) -> None:
    """Until every shard has identified on the fake gateway; fail early if an instance exits."""
    wanted = {(shard, SHARDS) for shard in range(SHARDS)}
    try:
        async with asyncio.timeout(within):
            while set(harness.discord.shard_of.values()) != wanted:
                if any(bot.proc.returncode is not None for bot in bots):
                    break
                await asyncio.sleep(0.05)
    except TimeoutError:
        pass
    if set(harness.discord.shard_of.values()) != wanted:
        tails = "\n".join(f"{b.spec.name} (status {b.proc.returncode}):\n{b.log_tail()}" for b in bots)
        raise RuntimeError(f"not every shard identified:\n{tails}")
    await asyncio.sleep(0.5)  # READY reaches each bot just after its IDENTIFY reached the fake


async def wait_for_shares(bots: Sequence[BotProcess], concurrency: int, within: float = 30.0) -> None:
    """Until each instance sends its equal share of MUSICAPI_CONCURRENCY, as its log says: a newcomer
    starts with what the others leave free and grows at their next heartbeats (every <= 5 s). A lone
    instance keeps the whole limit and says nothing."""
    share = concurrency // len(bots)

    def settled(bot: BotProcess) -> bool:
        found = SHARE_LINE.findall(bot.log_path.read_text(errors="replace"))
        return int(found[-1]) == share if found else share == concurrency

    try:
        async with asyncio.timeout(within):
            while not all(settled(bot) for bot in bots):  # noqa: ASYNC110 - no event for a log line
                await asyncio.sleep(0.2)
    except TimeoutError:
        tails = "\n".join(f"{b.spec.name}:\n{b.log_tail()}" for b in bots)
        raise RuntimeError(f"the instances did not settle their shares of {concurrency}:\n{tails}") from None


def round_robin(ports: Sequence[int]) -> Callable[[int, str], str]:
    """A load balancer: the i-th callback goes to the instance listening on ports[i % len(ports)],
    whichever instance started its upload."""

    def route(i: int, url: str) -> str:
        path = url.split("/", 3)[3]
        return f"http://127.0.0.1:{ports[i % len(ports)]}/{path}"

    return route


async def run_instances_burst(
    server: PostgresServer,
    count: int,
    *,
    n: int,
    delay: float,
    warmup: int,
    concurrency: int,
    callbacks: bool,
) -> Figures | CallbackFigures:
    """`count` instances of our bot on one fresh PostgreSQL database and fresh fakes: every shard
    identified, the shares of the limit settled, a warm-up answered on both shards; then a burst of N
    link uploads from servers of both shards in turn (sync), or N uploads whose callbacks go to the
    instances in turn (callback mode). CPU and memory are summed over the instances."""
    database_url = await server.new_database()
    side = server_cpu(server)
    specs = instance_specs(count, database_url, concurrency, callbacks)
    guilds = shard_guilds()
    warmup = max(warmup, SHARDS)  # at least one upload on each shard
    with tempfile.TemporaryDirectory(prefix=f"burst-instances-{count}-") as tmp:
        workdir = Path(tmp)
        async with bench_harness(workdir) as harness:
            bots: list[BotProcess] = []
            try:
                for spec in specs:
                    bots.append(await start_bot(spec, harness, workdir))
                await wait_until_sharded(harness, bots)
                await wait_for_shares(bots, concurrency)
                first, others = bots[0], bots[1:]
                if callbacks:
                    route = round_robin([int(spec.env["WEB_PORT"]) for spec in specs])
                    harness.musicapi.delay = 0.0
                    await callback_batch(
                        harness,
                        first,
                        link_uploads(warmup, tag="warmup", guilds=guilds),
                        within=30,
                        measured=False,
                        others=others,
                        route=route,
                    )
                    batch = link_uploads(n, tag="callback", guilds=guilds)
                    run, result = await callback_batch(
                        harness,
                        first,
                        batch,
                        within=60 + n * 0.2,
                        measured=True,
                        others=others,
                        route=route,
                        side_cpu=side,
                    )
                    figures: Figures | CallbackFigures = summarize_callbacks(batch, run, result)
                else:
                    await warm_up(harness, warmup, guilds=guilds)
                    harness.musicapi.delay = delay
                    batch = link_uploads(n, guilds=guilds)
                    within = 60 + delay * math.ceil(n / 100) * 2
                    result = await measure_burst(
                        harness, first, batch, within=within, others=others, side_cpu=side
                    )
                    figures = summarize(result)
            finally:
                for bot in bots:
                    status = await stop_bot(bot)
                    if status != 0:
                        print(
                            f"{bot.spec.name}: exited with status {status}\n{bot.log_tail()}", file=sys.stderr
                        )
            if len(harness.musicapi.uploads) != warmup + n:
                raise RuntimeError(
                    f"{count} instance(s): MusicAPI saw {len(harness.musicapi.uploads)} uploads"
                )
    return figures


def instances_concurrency(args: argparse.Namespace) -> int:
    """MUSICAPI_CONCURRENCY for the instances benchmark: each of two instances' shares holds a whole
    burst, so that the line never makes an upload wait."""
    burst: int = max(args.n, args.callback_n, 500)
    return SHARDS * burst


NAME = "instances"
HELP = "two instances on shard ranges beside one, on PostgreSQL (starts a PostgreSQL server)"


async def run_round(run: Run, round_: int) -> None:
    """One instance against two, sync then callback mode; who goes first alternates between rounds."""
    args, server = run.args, run.postgres()
    concurrency = instances_concurrency(args)
    for count in (1, 2) if round_ % 2 == 0 else (2, 1):
        for callbacks in (False, True):
            mode = "callback" if callbacks else "sync"
            progress(run, round_, f"{count} instance(s) on PostgreSQL, {mode}")
            figures = await run_instances_burst(
                server,
                count,
                n=args.callback_n if callbacks else args.n,
                delay=args.delay,
                warmup=args.warmup,
                concurrency=concurrency,
                callbacks=callbacks,
            )
            run.figures[f"instances/{count}/{mode}"].append(figures)
    await sync_burst(run, round_, "minimal")


def report(run: Run) -> str:
    args = run.args
    heads = ("one", "two", "two/one")
    shape = (
        f"PostgreSQL, SHARD_COUNT={SHARDS}: one instance running both shards against two (SHARD_IDS 0 and 1), "
        f"MUSICAPI_CONCURRENCY={instances_concurrency(args)}; uploads from {GUILDS_PER_SHARD} servers of each "
        "shard in turn"
    )
    sync = {count: median_figures(run.figures[f"instances/{count}/sync"]) for count in (1, 2)}
    callback = {
        count: median_callback_figures(run.figures[f"instances/{count}/callback"]) for count in (1, 2)
    }
    return "\n\n".join(
        [
            comparison(
                f"instances, sync mode: {args.n} x /upload url:, MusicAPI delay {args.delay:g} s"
                f"{run.rounds_note}\n({shape})",
                heads,
                sync_rows(sync[1], sync[2], "all instances"),
            ),
            comparison(
                f"instances, callback mode: {args.callback_n} uploads, then all callbacks at once, sent to the "
                f"instances in turn{run.rounds_note}",
                heads,
                callback_rows(callback[1], callback[2], "all instances"),
            ),
            "\n".join(
                against_minimal(run, f"{count} instance(s), {mode}, instances + server", cpu)
                for count in (1, 2)
                for mode, cpu in (
                    ("sync", sync[count].cpu_per_upload_ms + sync[count].server_cpu_per_upload_ms),
                    (
                        "callback",
                        callback[count].cpu_per_upload_ms + callback[count].server_cpu_per_upload_ms,
                    ),
                )
            ),
            "CPU and peak memory are summed over the instances' processes.",
        ]
    )
