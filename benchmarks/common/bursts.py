"""Running a burst against a bot: sync-mode link uploads, and callback mode's uploads then callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.common.bots import (
    BotProcess,
    BotSpec,
    callback_bot,
    minimal_callback_bot,
    profiled,
    start_bot,
    stop_bot,
    wait_until_identified,
    with_env,
)
from benchmarks.common.fakes import (
    BenchHarness,
    all_answered,
    all_processing,
    bench_harness,
    dispatch_all,
    link_uploads,
    tasks_by_token,
    warm_up,
)
from benchmarks.common.figures import (
    BurstResult,
    CallbackFigures,
    CallbackRun,
    Figures,
    summarize,
    summarize_callbacks,
)
from benchmarks.common.instructions import counted, read_count
from benchmarks.common.profiling import sampled
from benchmarks.common.sampling import Counts, sample_processes
from tests.fakes.musicapi import task_callback
from tests.harness import free_port

#: After the last answer, how long the bot may keep working (bookkeeping) before CPU is sampled.
SETTLE = 0.5


async def measure_burst(
    harness: BenchHarness,
    bot: BotProcess,
    batch: Sequence[dict[str, Any]],
    *,
    within: float,
    is_done: Callable[[], bool] | None = None,
    alongside: Callable[[], Coroutine[Any, Any, None]] | None = None,
    others: Sequence[BotProcess] = (),
    side_cpu: Callable[[], float] | None = None,
    profile: bool = True,
) -> BurstResult:
    """Dispatch `batch` at once and wait until each interaction got its clip_id (or `is_done()` holds).

    `alongside`, if given, runs during the burst and is cancelled after it (a callback-mode scenario can
    send MusicAPI's callbacks from there). CPU and memory are sampled before the first dispatch and
    SETTLE seconds after the last answer, summed over `bot` and `others` (further instances); `side_cpu`,
    if given, is a CPU counter (seconds) outside the bot, read at the same moments. With `profile` (a
    warm-up goes without), py-spy samples `bot` when its spec names where to (`BotSpec.profile`).
    """
    done = is_done or all_answered(harness, batch)
    bots = [bot, *others]
    pids = [b.pid for b in bots]
    # py-spy attaches before the first sample is taken, and stops after the last; so does callgrind.
    counting = profile and bot.spec.instructions is not None
    async with (
        sampled(bot.pid, bot.spec.profile) if profile and bot.spec.profile else contextlib.nullcontext(),
        counted(bot.pid) if counting else contextlib.nullcontext(),
    ):
        marks_before = [await b.mark() for b in bots]
        side_before = side_cpu() if side_cpu else 0.0
        before = sample_processes(pids)
        helper = asyncio.create_task(alongside()) if alongside else None
        try:
            await dispatch_all(harness, batch)
            await wait_for(harness, bots, batch, done, within)
        finally:
            if helper is not None:
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
        await asyncio.sleep(SETTLE)
        after = sample_processes(pids)
        side = (side_cpu() - side_before) if side_cpu else 0.0
        counts = Counts.between(marks_before, [await b.mark() for b in bots])
    times = [harness.discord.of(p["token"]) for p in batch]
    instructions = read_count(bot.spec.instructions) if counting and bot.spec.instructions else 0
    return BurstResult(len(batch), times, before, after, counts, side, instructions)


async def wait_for(
    harness: BenchHarness,
    bots: Sequence[BotProcess],
    batch: Sequence[dict[str, Any]],
    done: Callable[[], bool],
    within: float,
) -> None:
    """Until `done()` holds; past `within` seconds, an error naming the unanswered and the bots' logs."""
    try:
        await harness.discord.wait_until(done, within)
    except TimeoutError:
        missing = sum(harness.discord.of(p["token"]).answered is None for p in batch)
        tails = "\n".join(b.log_tail() for b in bots)
        raise RuntimeError(
            f"{bots[0].spec.name}: {missing} of {len(batch)} interactions unanswered after {within:.0f}s"
            f"\n{tails}"
        ) from None


async def run_link_burst(
    spec: BotSpec,
    n: int,
    delay: float,
    warmup: int,
    profile_dir: Path | None = None,
    side_cpu: Callable[[], float] | None = None,
) -> Figures:
    """One bot, fresh fakes and database: identify, warm up, burst of N link uploads, SIGTERM.

    With `profile_dir`, py-spy samples the bot's threads during the burst into DIR/<name>.raw.
    The database is a fresh SQLite file unless the spec names another DATABASE_URL; `side_cpu` is the
    CPU counter of the database server, if there is one.
    """
    profile = profile_dir / f"{spec.name}.raw" if profile_dir else None
    if profile is not None:
        spec = profiled(spec, profile)
    with tempfile.TemporaryDirectory(prefix=f"burst-{spec.name}-") as tmp:
        workdir = Path(tmp)
        async with bench_harness(workdir) as harness:
            bot = await start_bot(spec, harness, workdir)
            try:
                await wait_until_identified(harness, bot, 300 if spec.slowed else 30)
                await warm_up(harness, warmup)
                harness.musicapi.delay = delay
                batch = link_uploads(n)
                # aiohttp's default pool (100 connections) lets about 100 uploads wait on MusicAPI at once.
                within = 60 + delay * math.ceil(n / 100) * 2
                within *= 10 if spec.slowed else 1  # callgrind or tracing: many times slower
                result = await measure_burst(harness, bot, batch, within=within, side_cpu=side_cpu)
            finally:
                status = await stop_bot(bot)
            if status != 0:
                print(f"{spec.name}: exited with status {status}\n{bot.log_tail()}", file=sys.stderr)
            if len(harness.musicapi.uploads) != warmup + n:
                raise RuntimeError(f"{spec.name}: MusicAPI saw {len(harness.musicapi.uploads)} uploads")
    return summarize(result)


JSON_HEADERS = {"Content-Type": "application/json"}


async def send_callbacks(
    harness: BenchHarness,
    batch: Sequence[dict[str, Any]],
    run: CallbackRun,
    *,
    within: float,
    sample_pids: Sequence[int] = (),
    route: Callable[[int, str], str] | None = None,
) -> None:
    """Wait until each upload of `batch` waits for its callback, then send all the callbacks at once.

    Bodies are built beforehand; each upload's `callback_sent` is stamped just before its POST. One
    session without a connection limit, so that the callbacks reach the bot together, each on its own
    connection, as MusicAPI's would. `route(i, callback_url)`, if given, says where the i-th callback goes
    (a load balancer in front of several instances).
    """
    await harness.discord.wait_until(all_processing(harness, batch), within)
    run.all_processing = time.perf_counter()
    if sample_pids:
        run.waiting = sample_processes(sample_pids)
    run.tasks = tasks_by_token(harness, batch)
    requests = []
    for i, (token, task_id) in enumerate(run.tasks.items()):
        run.clip_ids[token] = str(uuid.uuid4())
        body = json.dumps(task_callback(task_id, run.clip_ids[token])).encode()
        url = harness.musicapi.tasks[task_id]["callback_url"]
        requests.append((token, route(i, url) if route else url, body))
    timeout = aiohttp.ClientTimeout(total=within)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:

        async def post(token: str, url: str, body: bytes) -> None:
            harness.discord.of(token).callback_sent = time.perf_counter()
            async with session.post(url, data=body, headers=JSON_HEADERS) as resp:
                await resp.read()
                run.replied[token] = time.perf_counter()
                run.statuses.append(resp.status)

        run.fired = time.perf_counter()
        await asyncio.gather(*(post(*request) for request in requests))
    refused = [s for s in run.statuses if s != 200]
    if refused:
        raise RuntimeError(f"the bot refused {len(refused)} callback(s): statuses {sorted(set(refused))}")


async def callback_batch(
    harness: BenchHarness,
    bot: BotProcess,
    batch: Sequence[dict[str, Any]],
    *,
    within: float,
    measured: bool,
    others: Sequence[BotProcess] = (),
    route: Callable[[int, str], str] | None = None,
    side_cpu: Callable[[], float] | None = None,
) -> tuple[CallbackRun, BurstResult]:
    """Dispatch `batch`, send its callbacks once every upload waits for one, until every clip_id is in.

    Through `measure_burst`: CPU and memory are sampled before the first interaction and after the last
    clip_id (the whole scenario), and, when `measured`, in between, when every upload waits for its
    callback; over `bot` and `others` (further instances). A failure on the callback side ends the wait
    at once.
    """
    run = CallbackRun()
    answered = all_answered(harness, batch)
    pids = [bot.pid, *(other.pid for other in others)] if measured else []

    async def callbacks() -> None:
        try:
            await send_callbacks(harness, batch, run, within=within, sample_pids=pids, route=route)
        except Exception as exc:  # handed to the caller, which raises it
            run.error = exc
        else:
            run.replies_in = True  # measure_burst cancels this helper once done: not before the replies
        harness.discord.changed.set()

    result = await measure_burst(
        harness,
        bot,
        batch,
        within=within,
        is_done=lambda: run.error is not None or (run.replies_in and answered()),
        alongside=callbacks,
        others=others,
        side_cpu=side_cpu,
        profile=measured,
    )
    if run.error is not None:
        raise RuntimeError(f"{bot.spec.name}: callback mode: {run.error}\n{bot.log_tail()}") from run.error
    return run, result


async def run_callback_burst(
    n: int,
    warmup: int,
    profile_dir: Path | None = None,
    env: dict[str, str] | None = None,
    side_cpu: Callable[[], float] | None = None,
    *,
    minimal: bool = False,
) -> CallbackFigures:
    """Our bot (or, `minimal`, the minimal bot) in callback mode, fresh fakes and database: identify, warm
    up (callbacks included), then N link uploads; once each waits for its callback, all N callbacks at
    once; SIGTERM.

    With `profile_dir`, py-spy samples the bot's threads during the burst into DIR/<name>-callback.raw.
    `env` adds to the bot's environment (DATABASE_URL, say); `side_cpu` is the CPU counter of the
    database server, if there is one.
    """
    spec = with_env(
        minimal_callback_bot(free_port()) if minimal else callback_bot(free_port()), **(env or {})
    )
    profile = profile_dir / f"{spec.name}-callback.raw" if profile_dir else None
    if profile is not None:
        spec = profiled(spec, profile)
    # Phase 1 goes in waves of 100 uploads (the bot's per-host pool); phase 2 is one wave of callbacks.
    within = 60 + n * 0.2
    with tempfile.TemporaryDirectory(prefix=f"burst-{spec.name}-callback-") as tmp:
        workdir = Path(tmp)
        async with bench_harness(workdir) as harness:
            bot = await start_bot(spec, harness, workdir)
            try:
                await wait_until_identified(harness, bot)
                harness.musicapi.delay = 0.0
                if warmup:
                    await callback_batch(
                        harness, bot, link_uploads(warmup, tag="warmup"), within=30, measured=False
                    )
                batch = link_uploads(n, tag="callback")
                run, result = await callback_batch(
                    harness, bot, batch, within=within, measured=True, side_cpu=side_cpu
                )
            finally:
                status = await stop_bot(bot)
            if status != 0:
                print(
                    f"{spec.name} (callback): exited with status {status}\n{bot.log_tail()}", file=sys.stderr
                )
            if len(harness.musicapi.uploads) != warmup + n:
                raise RuntimeError(f"{spec.name}: MusicAPI saw {len(harness.musicapi.uploads)} uploads")
            if harness.musicapi.polls:
                print(f"{spec.name}: polled MusicAPI {len(harness.musicapi.polls)} times", file=sys.stderr)
    return summarize_callbacks(batch, run, result)
