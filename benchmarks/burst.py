"""A burst of `/upload url:` interactions against this bot and against a minimal baseline bot.

    python benchmarks/burst.py [--mode sync|callback|line|metrics|both|stores|instances] [--n 200]
                               [--callback-n 500] [--delay 2.0] [--warmup 5] [--rounds 1] [--profile DIR]

Each bot runs as its own subprocess against fresh loopback fakes of Discord and MusicAPI
(tests/harness.py). The benchmark waits until the bot has identified, warms it up with a few uploads,
then sends N INTERACTION_CREATE events from N distinct members as fast as the fake gateway takes them,
MusicAPI answering each upload after --delay seconds. It records, per interaction, when the interaction
callback (the defer) and the edit carrying the clip_id reach the fake Discord, and samples the bot's
CPU time and memory from /proc before and after the burst. `--mode sync` runs only this comparison,
exactly as before callback mode was added.

Callback mode (`--mode callback`, or the default `both`): our bot runs with PUBLIC_URL/WEB_HOST/WEB_PORT
on a free loopback port (polling pushed out to an hour) and gets --callback-n link uploads; once MusicAPI
holds every task and every member saw the "processing" edit, all the callbacks are POSTed at once, each
on its own connection. Reported: per upload, callback sent -> its clip_id edit at the fake Discord
(target: every one within 2 s), and CPU per upload over the whole scenario against our bot's CPU per
upload in the sync burst of the same run (target: at most 1.5x); `--mode callback` runs our bot's sync
burst too, for that reference, but not the minimal bot.

`--mode stores` runs our bot's sync burst (--n) and callback burst (--callback-n) on SQLite and on
PostgreSQL; `--mode instances` runs them on PostgreSQL with one instance running both shards of
SHARD_COUNT=2 and with two instances (SHARD_IDS 0 and 1), the interactions coming from servers of both
shards in turn and the callbacks going to the instances in turn, as a load balancer would send them.
Both start a PostgreSQL server of their own (tests/support/postgres.py; a fresh database per run) and
report CPU per upload of the bot (summed over the instances) and, beside it, of the PostgreSQL server
(the postmaster and its backends), as ratios PostgreSQL/SQLite and two/one.

The measuring helpers (`BenchHarness`, `start_bot`, `wait_until_identified`, `warm_up`, `measure_burst`,
`summarize`, `stop_bot`) are scenario-agnostic, so that another burst (callback mode, say) can reuse them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import json
import math
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from bot.composition import CONNECTIONS_PER_HOST, SPARE_CONNECTIONS  # noqa: E402
from tests.bot.test_instances import guild_on_shard, in_guild  # noqa: E402
from tests.fakes import payloads  # noqa: E402
from tests.fakes.discord_api import FakeDiscord  # noqa: E402
from tests.fakes.musicapi import FakeMusicAPI, task_callback  # noqa: E402
from tests.harness import Harness, free_port, serve  # noqa: E402
from tests.support.postgres import PostgresServer, start_server  # noqa: E402

#: The clip_ids FakeMusicAPI hands out (a UUID), as they appear in the bot's answer.
CLIP_ID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: The per-ratio target: our bot may cost at most this much more than the minimal bot.
TARGET = 1.2
#: After the last answer, how long the bot may keep working (bookkeeping) before CPU is sampled.
SETTLE = 0.5
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- what reached the fake Discord, and when -----------------------------------------------------------
@dataclass
class InteractionTimes:
    """Timestamps (time.perf_counter() in this process) of one interaction."""

    dispatched: float | None = None
    first_response: float | None = None  # the interaction callback (defer or message) arrived
    answered: float | None = None  # the first edit of @original that carries a clip_id arrived
    clip_id: str | None = None
    first_edit: float | None = None  # the first edit of @original arrived (callback mode: "processing")
    callback_sent: float | None = None  # callback mode: MusicAPI's callback for this upload was sent


@dataclass
class TimingDiscord(FakeDiscord):
    """FakeDiscord that also stamps, on arrival, each interaction's callback and clip_id edit by token."""

    times: dict[str, InteractionTimes] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, token: str) -> InteractionTimes:
        return self.times.setdefault(token, InteractionTimes())

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        now = time.perf_counter()
        parts = request.match_info["path"].split("/")
        if (
            request.method == "POST"
            and len(parts) == 4
            and parts[0] == "interactions"
            and parts[3] == "callback"
        ):
            times = self.of(parts[2])
            if times.first_response is None:
                times.first_response = now
                self.changed.set()
        elif request.method == "PATCH" and parts[0] == "webhooks" and parts[3:] == ["messages", "@original"]:
            found = CLIP_ID.search(await request.read())  # the body stays readable for FakeDiscord
            times = self.of(parts[2])
            if times.first_edit is None:
                times.first_edit = now
                self.changed.set()
            if found and times.answered is None:
                times.answered, times.clip_id = now, found.group().decode()
                self.changed.set()
        return await super()._rest(request)

    async def wait_until(self, done: Callable[[], bool], within: float) -> None:
        """Wait until `done()` holds, re-checking on every stamped arrival; TimeoutError after `within` s."""
        async with asyncio.timeout(within):
            while not done():
                self.changed.clear()
                await self.changed.wait()


@dataclass
class BenchHarness(Harness):
    discord: TimingDiscord


@contextlib.asynccontextmanager
async def bench_harness(tmp_path: Path) -> AsyncIterator[BenchHarness]:
    """Fresh fakes on loopback, like tests.harness.make_harness, with the timing FakeDiscord.

    The bot runs in a subprocess, so discord.py's Route.BASE is not patched in this process.
    """
    fake_discord, fake_music = TimingDiscord(), FakeMusicAPI()
    d_runner, d_url = await serve(fake_discord.app())
    m_runner, m_url = await serve(fake_music.app())
    fake_discord.base_url = d_url
    try:
        yield BenchHarness(fake_discord, fake_music, d_url, m_url, tmp_path)
    finally:
        for ws in list(fake_discord.sockets):
            await ws.close()
        await d_runner.cleanup()
        await m_runner.cleanup()


# -- the bot processes ------------------------------------------------------------------------------------
@dataclass
class BotSpec:
    """How to run one bot: its command line and its environment beyond harness.env()."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def our_bot(concurrency: int = 1000) -> BotSpec:
    """Our bot; by default its upload line lets every upload of a burst go to MusicAPI at once, so that
    the comparison with the minimal bot measures everything but the line."""
    return BotSpec(
        "ours",
        [sys.executable, str(ROOT / "benchmarks" / "launch.py"), "ours"],
        # Distinct members already escape the per-member limit; a high limit keeps it out of the way.
        {
            "MAX_UPLOADS_PER_USER": "100000",
            "PUBLIC_URL": "",
            "DEV_GUILD_ID": "",
            "LOG_LEVEL": "INFO",
            "MUSICAPI_CONCURRENCY": str(concurrency),
            "MAX_QUEUE": "100000",
        },
    )


def with_env(spec: BotSpec, **env: str) -> BotSpec:
    """`spec` with more environment (which has the last word)."""
    return BotSpec(spec.name, spec.argv, {**spec.env, **env})


def minimal_bot(concurrency: int | None = 1000) -> BotSpec:
    """The minimal bot, holding as many connections to MusicAPI as our bot with `concurrency` would
    (bot.composition.new_http_session): in the sync burst neither bot makes an upload wait for a
    connection. `None`: aiohttp's default pool (100 per host), the minimal bot's own line."""
    env = (
        {} if concurrency is None else {"BENCH_CONNECTIONS_PER_HOST": str(connections_per_host(concurrency))}
    )
    return BotSpec("minimal", [sys.executable, str(ROOT / "benchmarks" / "launch.py"), "minimal"], env)


def connections_per_host(concurrency: int) -> int:
    """The connections per host our bot's HTTP session holds with MUSICAPI_CONCURRENCY=`concurrency`."""
    return max(CONNECTIONS_PER_HOST, concurrency + SPARE_CONNECTIONS)


@dataclass
class BotProcess:
    spec: BotSpec
    proc: asyncio.subprocess.Process
    log_path: Path
    marks_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def mark(self, within: float = 5.0) -> dict[str, Any]:
        """SIGUSR1 to benchmarks/launch.py: what the bot counted so far, and its threads' labels."""
        seen = self._marks()
        self.proc.send_signal(signal.SIGUSR1)
        async with asyncio.timeout(within):
            while len(lines := self._marks()) == len(seen):  # noqa: ASYNC110 - no event for a file
                await asyncio.sleep(0.01)
        return dict(json.loads(lines[-1]))

    def _marks(self) -> list[str]:
        try:
            return self.marks_path.read_text().splitlines()
        except FileNotFoundError:
            return []

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the benchmark dies, so that no bot outlives it."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def start_bot(spec: BotSpec, harness: Harness, workdir: Path) -> BotProcess:
    """Start the bot against `harness`'s fakes, with a fresh database in `workdir`; output goes to a log."""
    overrides = {
        "DATABASE_URL": f"sqlite:///{workdir / f'{spec.name}.db'}",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "BENCH_MARKS_OUT": str(workdir / f"{spec.name}.marks"),
        **spec.env,  # the spec has the last word
    }
    env = harness.env(**overrides)
    log_path = workdir / f"{spec.name}.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *spec.argv,
            env=env,
            cwd=workdir,  # not the repo root: a developer's .env must not leak into the run
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # no threads run in this process yet
        )
    return BotProcess(spec, proc, log_path, workdir / f"{spec.name}.marks")


async def stop_bot(bot: BotProcess, within: float = 15.0) -> int:
    """SIGTERM, wait up to `within` seconds, then SIGKILL; return the exit status."""
    proc = bot.proc
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), within)
        except TimeoutError:
            print(f"{bot.spec.name}: no exit {within:.0f}s after SIGTERM; killing it", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await asyncio.wait_for(proc.wait(), 5)
    assert proc.returncode is not None
    return proc.returncode


async def wait_until_identified(harness: Harness, bot: BotProcess, within: float = 30.0) -> None:
    """Until the bot has identified on the fake gateway; fail early if it exits first."""
    identified = asyncio.ensure_future(harness.discord.identified.wait())
    exited = asyncio.ensure_future(bot.proc.wait())
    try:
        await asyncio.wait({identified, exited}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        identified.cancel()
        exited.cancel()
    if not harness.discord.identified.is_set():
        why = f"exited with {bot.proc.returncode}" if bot.proc.returncode is not None else "timed out"
        raise RuntimeError(f"{bot.spec.name} did not identify ({why}):\n{bot.log_tail()}")


# -- sampling the process ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProcessSample:
    cpu_seconds: float  # CPU time of every live thread of the process (schedstat, nanoseconds)
    rss_kib: int  # VmRSS
    hwm_kib: int  # VmHWM: the peak RSS so far
    threads: dict[int, float] = field(default_factory=dict)  # thread id -> its CPU seconds
    loops: frozenset[int] = frozenset()  # the ids of the event loops' threads (the processes' main threads)


def read_thread_cpu_seconds(pid: int) -> dict[int, float]:
    """Each live thread's CPU time so far, by thread id: the first field of /proc/<pid>/task/<tid>/schedstat,
    in nanoseconds (utime and stime in /proc/<pid>/stat count 10 ms ticks: too coarse per thread)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found[int(task.name)] = int((task / "schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
    return found


def read_memory_kib(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def sample_process(pid: int) -> ProcessSample:
    memory = read_memory_kib(pid)
    threads = read_thread_cpu_seconds(pid)
    return ProcessSample(sum(threads.values()), memory["VmRSS"], memory["VmHWM"], threads, frozenset({pid}))


def sample_processes(pids: Sequence[int]) -> ProcessSample:
    """The sum over several processes (several instances of the bot): CPU, and memory (the sum of each
    process's peak stands in for the peak of the whole)."""
    samples = [sample_process(pid) for pid in pids]
    return ProcessSample(
        sum(s.cpu_seconds for s in samples),
        sum(s.rss_kib for s in samples),
        sum(s.hwm_kib for s in samples),
        {tid: cpu for s in samples for tid, cpu in s.threads.items()},
        frozenset(pid for s in samples for pid in s.loops),
    )


#: The threads the benchmark names: the event loop's, and a store's worker thread; the rest are "other".
LOOP, STORE, OTHER = "event loop", "store", "other"


def thread_cpu(before: ProcessSample, after: ProcessSample, labels: dict[int, str]) -> dict[str, float]:
    """CPU seconds spent between two samples, by LOOP, STORE and OTHER (labels: thread id -> label)."""
    spent = {LOOP: 0.0, STORE: 0.0, OTHER: 0.0}
    for tid, cpu in after.threads.items():
        label = LOOP if tid in after.loops else labels.get(tid, OTHER)
        spent[label if label in spent else OTHER] += cpu - before.threads.get(tid, 0.0)
    return spent


@dataclass(frozen=True)
class Counts:
    """What benchmarks/launch.py counted in the bot processes between two marks."""

    statements: dict[str, int]  # SQLite statements run, by first word
    store_calls: dict[str, int]  # calls into the upload store, by method
    wakeups: int  # the event loop woken from another thread (a trip through a thread)
    labels: dict[int, str]  # thread id -> label

    @staticmethod
    def between(before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]) -> Counts:
        def spent(key: str) -> dict[str, int]:
            counted: Counter[str] = Counter()
            for mark in after:
                counted.update(mark[key])
            for mark in before:
                counted.subtract(mark[key])
            return {k: v for k, v in sorted(counted.items()) if v}

        return Counts(
            spent("statements"),
            spent("store_calls"),
            sum(m["wakeups"] for m in after) - sum(m["wakeups"] for m in before),
            {int(tid): label for m in after for tid, label in m["threads"].items()},
        )

    @property
    def statement_total(self) -> int:
        return sum(self.statements.values())

    def detail(self, n: int) -> str:
        """Per upload: the store calls by method, and the statements by first word."""
        calls = ", ".join(f"{k} {v / n:.2f}" for k, v in self.store_calls.items()) or "none"
        run = ", ".join(f"{k} {v / n:.2f}" for k, v in self.statements.items()) or "none"
        return f"store calls per upload: {calls}\nSQLite statements per upload: {run}"


def read_tree_cpu_seconds(pid: int) -> float:
    """CPU of a server process and its children: its own, what its reaped children used (cutime, cstime),
    and what its live children used so far. A PostgreSQL server's backends are such children."""
    total = 0.0
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_path.read_text()
        except OSError:
            continue  # it exited meanwhile: its CPU is in its parent's cutime now
        fields = stat[stat.rindex(")") + 2 :].split()
        this = int(stat_path.parent.name)
        if this == pid or int(fields[1]) == pid:  # field 4 of proc(5): the parent's pid
            total += sum(int(v) for v in fields[11:15]) / CLK_TCK  # utime, stime, cutime, cstime
    return total


# -- interactions -----------------------------------------------------------------------------------------
_users = iter(range(610_000_000_000_000_001, 2**63))


def link_uploads(n: int, tag: str = "burst", guilds: Sequence[int] = ()) -> list[dict[str, Any]]:
    """`/upload url:` payloads, each from a member who has not uploaded before; with `guilds`, sent from
    those servers in turn (the fake Discord's own server otherwise)."""
    made = [
        payloads.upload(url=f"https://files.example.com/{tag}/{i}.mp3", user_id=next(_users))
        for i in range(n)
    ]
    return [in_guild(p, guilds[i % len(guilds)]) for i, p in enumerate(made)] if guilds else made


async def dispatch_all(harness: BenchHarness, batch: Sequence[dict[str, Any]]) -> None:
    """Send every payload through the fake gateway back to back, stamping each just before it goes."""
    for payload in batch:
        harness.discord.of(payload["token"]).dispatched = time.perf_counter()
        await harness.discord.dispatch("INTERACTION_CREATE", payload)


def all_answered(harness: BenchHarness, batch: Sequence[dict[str, Any]]) -> Callable[[], bool]:
    tokens = [p["token"] for p in batch]
    return lambda: all(harness.discord.of(t).answered is not None for t in tokens)


async def warm_up(
    harness: BenchHarness, count: int, within: float = 30.0, guilds: Sequence[int] = ()
) -> None:
    """A few uploads answered at once, so that imports, connections and caches are in place."""
    delay, harness.musicapi.delay = harness.musicapi.delay, 0.0
    try:
        batch = link_uploads(count, tag="warmup", guilds=guilds)
        await dispatch_all(harness, batch)
        await harness.discord.wait_until(all_answered(harness, batch), within)
    finally:
        harness.musicapi.delay = delay


@dataclass
class BurstResult:
    n: int
    times: list[InteractionTimes]
    before: ProcessSample
    after: ProcessSample
    counts: Counts
    side_cpu_seconds: float = 0.0  # CPU counted outside the bot during the burst (the database server)


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
) -> BurstResult:
    """Dispatch `batch` at once and wait until each interaction got its clip_id (or `is_done()` holds).

    `alongside`, if given, runs during the burst and is cancelled after it (a callback-mode scenario can
    send MusicAPI's callbacks from there). CPU and memory are sampled before the first dispatch and
    SETTLE seconds after the last answer, summed over `bot` and `others` (further instances); `side_cpu`,
    if given, is a CPU counter (seconds) outside the bot, read at the same moments.
    """
    done = is_done or all_answered(harness, batch)
    bots = [bot, *others]
    pids = [b.pid for b in bots]
    marks_before = [await b.mark() for b in bots]
    side_before = side_cpu() if side_cpu else 0.0
    before = sample_processes(pids)
    helper = asyncio.create_task(alongside()) if alongside else None
    try:
        await dispatch_all(harness, batch)
        try:
            await harness.discord.wait_until(done, within)
        except TimeoutError:
            missing = sum(harness.discord.of(p["token"]).answered is None for p in batch)
            tails = "\n".join(b.log_tail() for b in (bot, *others))
            raise RuntimeError(
                f"{bot.spec.name}: {missing} of {len(batch)} interactions unanswered after {within:.0f}s"
                f"\n{tails}"
            ) from None
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
    return BurstResult(len(batch), times, before, after, counts, side)


# -- figures ----------------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Figures:
    n: int
    first_response_p50_ms: float
    first_response_p99_ms: float
    answer_p50_s: float
    answer_p99_s: float
    all_delivered_s: float
    cpu_per_upload_ms: float
    loop_cpu_per_upload_ms: float  # the event loop's thread
    store_cpu_per_upload_ms: float  # the store's worker thread
    other_threads_cpu_per_upload_ms: float  # every other thread
    statements_per_upload: float  # SQLite statements run
    store_calls_per_upload: float  # calls into the upload store (each a statement, alone or batched)
    wakeups_per_upload: float  # trips through another thread back to the event loop
    peak_mib: float
    rss_before_mib: float
    rss_after_mib: float
    server_cpu_per_upload_ms: float = 0.0  # the database server's CPU (PostgreSQL), beside the bot's
    detail: str = ""  # the store calls and statements by kind (of the last round, when medians are taken)

    @property
    def rss_growth_mib(self) -> float:
        return self.rss_after_mib - self.rss_before_mib


def median_figures(runs: Sequence[Figures]) -> Figures:
    """Each figure's median over several runs of the same bot."""
    values = {
        f.name: statistics.median(getattr(r, f.name) for r in runs)
        for f in dataclasses.fields(Figures)
        if f.name != "detail"
    }
    values["n"], values["detail"] = runs[0].n, runs[-1].detail
    return Figures(**values)


def per_upload(result: BurstResult) -> dict[str, float]:
    """CPU per upload (ms), of the whole process and by thread, and the counts per upload."""
    by_thread = thread_cpu(result.before, result.after, result.counts.labels)
    ms = 1000 / result.n
    return {
        "cpu_per_upload_ms": (result.after.cpu_seconds - result.before.cpu_seconds) * ms,
        "loop_cpu_per_upload_ms": by_thread[LOOP] * ms,
        "store_cpu_per_upload_ms": by_thread[STORE] * ms,
        "other_threads_cpu_per_upload_ms": by_thread[OTHER] * ms,
        "statements_per_upload": result.counts.statement_total / result.n,
        "store_calls_per_upload": sum(result.counts.store_calls.values()) / result.n,
        "wakeups_per_upload": result.counts.wakeups / result.n,
    }


def summarize(result: BurstResult) -> Figures:
    times = result.times
    if any(t.dispatched is None or t.first_response is None or t.answered is None for t in times):
        raise ValueError("an interaction of the burst has no complete timing")
    if len({t.clip_id for t in times}) != len(times):
        raise ValueError("two interactions were answered with the same clip_id")
    dispatched = [t.dispatched for t in times if t.dispatched is not None]
    first = [t.first_response - t.dispatched for t in times if t.first_response and t.dispatched]
    answer = [t.answered - t.dispatched for t in times if t.answered and t.dispatched]
    last = max(t.answered for t in times if t.answered)
    return Figures(
        n=result.n,
        first_response_p50_ms=percentile(first, 50) * 1000,
        first_response_p99_ms=percentile(first, 99) * 1000,
        answer_p50_s=percentile(answer, 50),
        answer_p99_s=percentile(answer, 99),
        all_delivered_s=last - min(dispatched),
        **per_upload(result),
        peak_mib=result.after.hwm_kib / 1024,
        rss_before_mib=result.before.rss_kib / 1024,
        rss_after_mib=result.after.rss_kib / 1024,
        server_cpu_per_upload_ms=result.side_cpu_seconds / result.n * 1000,
        detail=result.counts.detail(result.n),
    )


# -- the link burst (sync mode) -----------------------------------------------------------------------------
def profiled(spec: BotSpec, out: Path) -> BotSpec:
    """`spec` with its event loop profiled during the measured burst (benchmarks/launch.py)."""
    return with_env(spec, BENCH_PROFILE_OUT=str(out))


async def run_link_burst(
    spec: BotSpec,
    n: int,
    delay: float,
    warmup: int,
    profile_dir: Path | None = None,
    side_cpu: Callable[[], float] | None = None,
) -> Figures:
    """One bot, fresh fakes and database: identify, warm up, burst of N link uploads, SIGTERM.

    With `profile_dir`, the bot's event loop thread is profiled during the burst into DIR/<name>.prof.
    The database is a fresh SQLite file unless the spec names another DATABASE_URL; `side_cpu` is the
    CPU counter of the database server, if there is one.
    """
    profile = profile_dir / f"{spec.name}.prof" if profile_dir else None
    if profile is not None:
        spec = profiled(spec, profile)
    with tempfile.TemporaryDirectory(prefix=f"burst-{spec.name}-") as tmp:
        workdir = Path(tmp)
        async with bench_harness(workdir) as harness:
            bot = await start_bot(spec, harness, workdir)
            try:
                await wait_until_identified(harness, bot)
                await warm_up(harness, warmup)
                harness.musicapi.delay = delay
                batch = link_uploads(n)
                # aiohttp's default pool (100 connections) lets about 100 uploads wait on MusicAPI at once.
                within = 60 + delay * math.ceil(n / 100) * 2
                result = await measure_burst(harness, bot, batch, within=within, side_cpu=side_cpu)
            finally:
                status = await stop_bot(bot)
            if status != 0:
                print(f"{spec.name}: exited with status {status}\n{bot.log_tail()}", file=sys.stderr)
            if len(harness.musicapi.uploads) != warmup + n:
                raise RuntimeError(f"{spec.name}: MusicAPI saw {len(harness.musicapi.uploads)} uploads")
    return summarize(result)


# -- the callback burst (callback mode) -------------------------------------------------------------------
#: Callback mode's targets: every clip_id reaches Discord within this many seconds of its callback ...
CALLBACK_LATENCY_TARGET = 2.0
#: ... and an upload costs the bot at most this much more CPU than in sync mode.
CALLBACK_CPU_TARGET = 1.5
JSON_HEADERS = {"Content-Type": "application/json"}


def callback_bot(port: int, concurrency: int = 1000) -> BotSpec:
    """Our bot in callback mode, its callback server on loopback `port`; polling kept out of the way."""
    spec = our_bot(concurrency)
    callback_env = {
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(port),
        "MUSICAPI_POLL_AFTER": "3600",
        "MUSICAPI_POLL_DEADLINE": "7200",  # not below MUSICAPI_POLL_AFTER, or the bot refuses to start
    }
    return BotSpec(spec.name, spec.argv, {**spec.env, **callback_env})


def option_url(payload: dict[str, Any]) -> str:
    """The `url:` option of an `/upload url:` payload."""
    return next(str(o["value"]) for o in payload["data"]["options"] if o["name"] == "url")


def tasks_by_token(harness: BenchHarness, batch: Sequence[dict[str, Any]]) -> dict[str, str]:
    """MusicAPI's task id of each upload of `batch` it has taken, by interaction token."""
    token_of = {option_url(p): p["token"] for p in batch}
    return {
        token_of[task["url"]]: task_id
        for task_id, task in harness.musicapi.tasks.items()
        if task["url"] in token_of
    }


def all_processing(harness: BenchHarness, batch: Sequence[dict[str, Any]]) -> Callable[[], bool]:
    """Every upload of `batch` is a MusicAPI task and its member saw the first ("processing") edit."""
    tokens = [p["token"] for p in batch]
    return lambda: (
        all(harness.discord.of(t).first_edit is not None for t in tokens)
        and len(tasks_by_token(harness, batch)) == len(tokens)
    )


@dataclass
class CallbackRun:
    """What the callback side of one batch did: MusicAPI's tasks, the callbacks sent and the bot's replies."""

    tasks: dict[str, str] = field(default_factory=dict)  # interaction token -> task id
    clip_ids: dict[str, str] = field(default_factory=dict)  # interaction token -> clip_id sent back
    replied: dict[str, float] = field(default_factory=dict)  # the bot answered the callback's POST
    statuses: list[int] = field(default_factory=list)
    all_processing: float | None = None  # the last "processing" edit had arrived
    fired: float | None = None  # just before the first callback was sent
    waiting: ProcessSample | None = None  # the bot, once every upload waited for its callback
    replies_in: bool = False  # every callback was sent and the bot's reply to it read
    error: BaseException | None = None


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
    )
    if run.error is not None:
        raise RuntimeError(f"{bot.spec.name}: callback mode: {run.error}\n{bot.log_tail()}") from run.error
    return run, result


@dataclass(frozen=True)
class CallbackFigures:
    n: int
    processing_s: float  # first interaction sent -> last "processing" edit (all uploads wait for callbacks)
    first_response_p99_ms: float
    latency_p50_s: float  # an upload's callback sent -> its clip_id edit arrived at Discord
    latency_p99_s: float
    latency_max_s: float
    within_target: int  # uploads whose clip_id arrived within CALLBACK_LATENCY_TARGET of the callback
    callback_reply_p99_ms: float  # callback sent -> the bot's HTTP reply to it
    all_delivered_s: float  # first callback sent -> last clip_id edit
    cpu_per_upload_ms: float  # the whole scenario: interactions, then callbacks
    interaction_cpu_per_upload_ms: float  # until every upload waits for its callback
    callback_cpu_per_upload_ms: float  # from then until the last clip_id edit (+ SETTLE)
    loop_cpu_per_upload_ms: float
    store_cpu_per_upload_ms: float
    other_threads_cpu_per_upload_ms: float
    statements_per_upload: float
    store_calls_per_upload: float
    wakeups_per_upload: float
    peak_mib: float
    rss_before_mib: float
    rss_after_mib: float
    server_cpu_per_upload_ms: float = 0.0  # the database server's CPU (PostgreSQL), whole scenario
    detail: str = ""

    @property
    def rss_growth_mib(self) -> float:
        return self.rss_after_mib - self.rss_before_mib


def _stamp(value: float | None) -> float:
    if value is None:
        raise ValueError("an upload of the callback burst has no complete timing")
    return value


def summarize_callbacks(
    batch: Sequence[dict[str, Any]], run: CallbackRun, result: BurstResult
) -> CallbackFigures:
    pairs = list(zip((p["token"] for p in batch), result.times, strict=True))
    wrong = sum(t.clip_id != run.clip_ids.get(token) for token, t in pairs)
    if wrong:
        raise ValueError(f"{wrong} interaction(s) answered with a clip_id not from their own callback")
    first = [_stamp(t.first_response) - _stamp(t.dispatched) for _, t in pairs]
    latency = [_stamp(t.answered) - _stamp(t.callback_sent) for _, t in pairs]
    reply = [run.replied[token] - _stamp(t.callback_sent) for token, t in pairs]
    start = min(_stamp(t.dispatched) for _, t in pairs)
    before, waiting, after = result.before, run.waiting, result.after
    if waiting is None or run.all_processing is None or run.fired is None:
        raise ValueError("the callback burst was not sampled between its two phases")
    ms = 1000 / result.n
    return CallbackFigures(
        n=result.n,
        processing_s=run.all_processing - start,
        first_response_p99_ms=percentile(first, 99) * 1000,
        latency_p50_s=percentile(latency, 50),
        latency_p99_s=percentile(latency, 99),
        latency_max_s=max(latency),
        within_target=sum(x <= CALLBACK_LATENCY_TARGET for x in latency),
        callback_reply_p99_ms=percentile(reply, 99) * 1000,
        all_delivered_s=max(_stamp(t.answered) for _, t in pairs) - run.fired,
        **per_upload(result),
        interaction_cpu_per_upload_ms=(waiting.cpu_seconds - before.cpu_seconds) * ms,
        callback_cpu_per_upload_ms=(after.cpu_seconds - waiting.cpu_seconds) * ms,
        peak_mib=after.hwm_kib / 1024,
        rss_before_mib=before.rss_kib / 1024,
        rss_after_mib=after.rss_kib / 1024,
        server_cpu_per_upload_ms=result.side_cpu_seconds * ms,
        detail=result.counts.detail(result.n),
    )


def median_callback_figures(runs: Sequence[CallbackFigures]) -> CallbackFigures:
    values: dict[str, Any] = {
        f.name: statistics.median(getattr(r, f.name) for r in runs)
        for f in dataclasses.fields(CallbackFigures)
        if f.name != "detail"
    }
    values["n"], values["detail"] = runs[0].n, runs[-1].detail
    values["within_target"] = min(r.within_target for r in runs)  # the worst round
    return CallbackFigures(**values)


async def run_callback_burst(
    n: int,
    warmup: int,
    profile_dir: Path | None = None,
    env: dict[str, str] | None = None,
    side_cpu: Callable[[], float] | None = None,
) -> CallbackFigures:
    """Our bot in callback mode, fresh fakes and database: identify, warm up (callbacks included), then
    N link uploads; once each waits for its callback, all N callbacks at once; SIGTERM.

    With `profile_dir`, the bot's event loop thread is profiled during the burst into
    DIR/<name>-callback.prof. `env` adds to the bot's environment (DATABASE_URL, say); `side_cpu` is the
    CPU counter of the database server, if there is one.
    """
    spec = with_env(callback_bot(free_port()), **(env or {}))
    profile = profile_dir / f"{spec.name}-callback.prof" if profile_dir else None
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


def callback_report(cb: CallbackFigures, sync: Figures, sync_delay: float, rounds: int = 1) -> str:
    """Callback mode against its targets, its CPU and memory beside our bot's in sync mode."""
    cpu_ratio = cb.cpu_per_upload_ms / sync.cpu_per_upload_ms if sync.cpu_per_upload_ms else math.inf
    cpu_ok = "ok" if cpu_ratio <= CALLBACK_CPU_TARGET else "OVER"
    late_ok = "ok" if cb.latency_max_s <= CALLBACK_LATENCY_TARGET else "OVER"
    target = f"{CALLBACK_LATENCY_TARGET:g} s"

    def row(label: str, value: float, fmt: str, note: str = "") -> str:
        return f"{label:<40}{value:>10{fmt}}{note}"

    def beside(label: str, value: float, reference: float, fmt: str, note: str = "") -> str:
        ratio = f"{value / reference:>10.2f}x" if reference else f"{'-':>11}"
        return f"{label:<40}{value:>10{fmt}}{reference:>10{fmt}}{ratio}{note}"

    return "\n".join(
        [
            f"callback mode: {cb.n} x /upload url: from {cb.n} distinct members; once each waits for its "
            f"callback, all {cb.n} callbacks sent at once"
            + (f", median of {rounds} rounds" if rounds > 1 else ""),
            f"(sync: our bot's sync-mode burst in this run, {sync.n} uploads, MusicAPI delay {sync_delay:g} s)",
            "",
            f"{'':<40}{'callback':>10}{'sync':>10}{'cb/sync':>11}   target",
            beside(
                "CPU per upload, whole scenario (ms)",
                cb.cpu_per_upload_ms,
                sync.cpu_per_upload_ms,
                ".2f",
                f"   <= {CALLBACK_CPU_TARGET}x {cpu_ok}",
            ),
            beside("peak memory VmHWM (MiB)", cb.peak_mib, sync.peak_mib, ".1f"),
            beside("RSS growth during burst (MiB)", cb.rss_growth_mib, sync.rss_growth_mib, ".1f"),
            *(
                beside(label, getattr(cb, name), getattr(sync, name), fmt)
                for label, name, fmt in thread_row_specs()
            ),
            "",
            f"{'':<40}{'callback':>10}   target",
            row("callback -> clip_id edit p50 (s)", cb.latency_p50_s, ".3f"),
            row("callback -> clip_id edit p99 (s)", cb.latency_p99_s, ".3f"),
            row("callback -> clip_id edit max (s)", cb.latency_max_s, ".3f", f"   <= {target} {late_ok}"),
            f"{'clip_ids within ' + target + ' of callback':<40}{f'{cb.within_target}/{cb.n}':>10}",
            row("callback -> bot's HTTP reply p99 (ms)", cb.callback_reply_p99_ms, ".1f"),
            row("first callback -> last clip_id (s)", cb.all_delivered_s, ".3f"),
            "",
            row("CPU/upload, interactions phase (ms)", cb.interaction_cpu_per_upload_ms, ".2f"),
            row("CPU/upload, callbacks phase (ms)", cb.callback_cpu_per_upload_ms, ".2f"),
            row("first response p99 (ms)", cb.first_response_p99_ms, ".1f"),
            row("all uploads waiting for callback (s)", cb.processing_s, ".2f"),
            row("RSS before burst (MiB)", cb.rss_before_mib, ".1f"),
            "",
            cb.detail,
        ]
    )


# -- PostgreSQL beside SQLite, two instances beside one ---------------------------------------------------
@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server (tests/support/postgres.py) for the run: stopped and removed at the end,
    even when the run fails."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


def server_cpu(server: PostgresServer) -> Callable[[], float]:
    """A CPU counter (seconds) of the PostgreSQL server: the postmaster and its backends."""
    pid = int((server.data / "postmaster.pid").read_text().split()[0])
    return lambda: read_tree_cpu_seconds(pid)


@dataclass
class StoreRuns:
    """One store's runs: our bot's sync bursts and callback bursts."""

    sync: list[Figures] = field(default_factory=list)
    callback: list[CallbackFigures] = field(default_factory=list)


async def run_store_round(
    server: PostgresServer, runs: dict[str, StoreRuns], args: argparse.Namespace, round_: int
) -> None:
    """Our bot's sync burst and callback burst, each on SQLite and on PostgreSQL (a fresh database for
    each bot run); who goes first alternates between rounds. With --profile DIR, the profiles go to
    DIR/sqlite/ and DIR/postgresql/."""
    stores = ("sqlite", "postgresql") if round_ % 2 == 0 else ("postgresql", "sqlite")
    for store in stores:
        profile: Path | None = args.profile / store if args.profile else None
        if profile is not None:
            await asyncio.to_thread(profile.mkdir, parents=True, exist_ok=True)
        env = {"DATABASE_URL": await server.new_database()} if store == "postgresql" else {}
        side = server_cpu(server) if store == "postgresql" else None
        print(f"round {round_ + 1}/{args.rounds}: ours on {store}, sync ...", file=sys.stderr, flush=True)
        spec = with_env(our_bot(), **env)
        runs[store].sync.append(
            await run_link_burst(spec, args.n, args.delay, args.warmup, profile, side_cpu=side)
        )
        env = {"DATABASE_URL": await server.new_database()} if store == "postgresql" else {}
        print(f"round {round_ + 1}/{args.rounds}: ours on {store}, callback ...", file=sys.stderr, flush=True)
        runs[store].callback.append(
            await run_callback_burst(args.callback_n, args.warmup, profile, env=env, side_cpu=side)
        )


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


@dataclass
class InstanceRuns:
    """The runs of one or of two instances: sync bursts and callback bursts."""

    sync: list[Figures] = field(default_factory=list)
    callback: list[CallbackFigures] = field(default_factory=list)


def instances_concurrency(args: argparse.Namespace) -> int:
    """MUSICAPI_CONCURRENCY for the instances benchmark: each of two instances' shares holds a whole
    burst, so that the line never makes an upload wait."""
    burst: int = max(args.n, args.callback_n, 500)
    return SHARDS * burst


async def run_instances_round(
    server: PostgresServer, runs: dict[int, InstanceRuns], args: argparse.Namespace, round_: int
) -> None:
    """One instance against two, sync then callback mode; who goes first alternates between rounds."""
    concurrency = instances_concurrency(args)
    for count in (1, 2) if round_ % 2 == 0 else (2, 1):
        for callbacks in (False, True):
            mode = "callback" if callbacks else "sync"
            print(
                f"round {round_ + 1}/{args.rounds}: {count} instance(s) on PostgreSQL, {mode} ...",
                file=sys.stderr,
                flush=True,
            )
            figures = await run_instances_burst(
                server,
                count,
                n=args.callback_n if callbacks else args.n,
                delay=args.delay,
                warmup=args.warmup,
                concurrency=concurrency,
                callbacks=callbacks,
            )
            if isinstance(figures, CallbackFigures):
                runs[count].callback.append(figures)
            else:
                runs[count].sync.append(figures)


def comparison(
    title: str, heads: tuple[str, str, str], rows: Sequence[tuple[str, float, float, str] | None]
) -> str:
    """A table of figures of two configurations and their ratio (second / first); None is a blank line."""
    lines = [title, "", f"{'':<44}{heads[0]:>11}{heads[1]:>11}{heads[2]:>11}"]
    for row in rows:
        if row is None:
            lines.append("")
            continue
        label, a, b, fmt = row
        ratio = f"{b / a:>10.2f}x" if a else f"{'-':>11}"
        lines.append(f"{label:<44}{a:>11{fmt}}{b:>11{fmt}}{ratio}")
    return "\n".join(lines)


def sync_rows(a: Figures, b: Figures, bot: str) -> list[tuple[str, float, float, str] | None]:
    return [
        (f"CPU per upload, {bot} (ms)", a.cpu_per_upload_ms, b.cpu_per_upload_ms, ".2f"),
        (
            "CPU per upload, PostgreSQL server (ms)",
            a.server_cpu_per_upload_ms,
            b.server_cpu_per_upload_ms,
            ".2f",
        ),
        (
            f"CPU per upload, {bot} + server (ms)",
            a.cpu_per_upload_ms + a.server_cpu_per_upload_ms,
            b.cpu_per_upload_ms + b.server_cpu_per_upload_ms,
            ".2f",
        ),
        *thread_rows(a, b),
        ("peak memory VmHWM (MiB)", a.peak_mib, b.peak_mib, ".1f"),
        ("first response p99 (ms)", a.first_response_p99_ms, b.first_response_p99_ms, ".1f"),
        ("all clip_ids delivered (s)", a.all_delivered_s, b.all_delivered_s, ".2f"),
    ]


def thread_rows(
    a: Figures | CallbackFigures, b: Figures | CallbackFigures
) -> list[tuple[str, float, float, str] | None]:
    return [
        (label.strip(), getattr(a, name), getattr(b, name), fmt) for label, name, fmt in thread_row_specs()
    ]


def callback_rows(
    a: CallbackFigures, b: CallbackFigures, bot: str
) -> list[tuple[str, float, float, str] | None]:
    return [
        (f"CPU per upload, {bot} (ms)", a.cpu_per_upload_ms, b.cpu_per_upload_ms, ".2f"),
        (
            "CPU per upload, PostgreSQL server (ms)",
            a.server_cpu_per_upload_ms,
            b.server_cpu_per_upload_ms,
            ".2f",
        ),
        (
            f"CPU per upload, {bot} + server (ms)",
            a.cpu_per_upload_ms + a.server_cpu_per_upload_ms,
            b.cpu_per_upload_ms + b.server_cpu_per_upload_ms,
            ".2f",
        ),
        (
            "CPU/upload, interactions phase (ms)",
            a.interaction_cpu_per_upload_ms,
            b.interaction_cpu_per_upload_ms,
            ".2f",
        ),
        (
            "CPU/upload, callbacks phase (ms)",
            a.callback_cpu_per_upload_ms,
            b.callback_cpu_per_upload_ms,
            ".2f",
        ),
        *thread_rows(a, b),
        ("peak memory VmHWM (MiB)", a.peak_mib, b.peak_mib, ".1f"),
        ("first response p99 (ms)", a.first_response_p99_ms, b.first_response_p99_ms, ".1f"),
        ("callback -> clip_id edit p99 (s)", a.latency_p99_s, b.latency_p99_s, ".3f"),
    ]


def stores_report(runs: dict[str, StoreRuns], args: argparse.Namespace) -> str:
    rounds = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    heads = ("SQLite", "PostgreSQL", "PG/SQLite")
    sqlite, postgres = runs["sqlite"], runs["postgresql"]
    sync = comparison(
        f"stores, sync mode: {args.n} x /upload url: from {args.n} distinct members, MusicAPI delay "
        f"{args.delay:g} s{rounds}",
        heads,
        sync_rows(median_figures(sqlite.sync), median_figures(postgres.sync), "bot"),
    )
    callback = comparison(
        f"stores, callback mode: {args.callback_n} uploads, then all {args.callback_n} callbacks at once{rounds}",
        heads,
        callback_rows(
            median_callback_figures(sqlite.callback), median_callback_figures(postgres.callback), "bot"
        ),
    )
    note = (
        "The bot's CPU is its own process (SQLite's worker thread included); the PostgreSQL server's is the "
        "postmaster and its backends (/proc), beside it."
    )
    return "\n\n".join([sync, callback, note])


def instances_report(runs: dict[int, InstanceRuns], args: argparse.Namespace) -> str:
    rounds = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    heads = ("one", "two", "two/one")
    shape = (
        f"PostgreSQL, SHARD_COUNT={SHARDS}: one instance running both shards against two (SHARD_IDS 0 and 1), "
        f"MUSICAPI_CONCURRENCY={instances_concurrency(args)}; uploads from {GUILDS_PER_SHARD} servers of each "
        "shard in turn"
    )
    sync = comparison(
        f"instances, sync mode: {args.n} x /upload url:, MusicAPI delay {args.delay:g} s{rounds}\n({shape})",
        heads,
        sync_rows(median_figures(runs[1].sync), median_figures(runs[2].sync), "all instances"),
    )
    callback = comparison(
        f"instances, callback mode: {args.callback_n} uploads, then all callbacks at once, sent to the "
        f"instances in turn{rounds}",
        heads,
        callback_rows(
            median_callback_figures(runs[1].callback),
            median_callback_figures(runs[2].callback),
            "all instances",
        ),
    )
    return "\n\n".join([sync, callback, "CPU and peak memory are summed over the instances' processes."])


# -- the burst beyond the line's concurrency ----------------------------------------------------------------
#: With concurrency C and MusicAPI latency L, a burst of N is answered within ceil(N / C) x L, plus this.
LINE_TARGET = 1.10


#: Metrics may cost at most this much CPU per upload over the same bot without them.
METRICS_TARGET = 1.05


def metrics_report(on: Figures, off: Figures, n: int, delay: float, rounds: int) -> str:
    ratio = on.cpu_per_upload_ms / off.cpu_per_upload_ms if off.cpu_per_upload_ms else float("nan")
    verdict = "ok" if ratio <= METRICS_TARGET else "OVER"
    return "\n".join(
        [
            f"metrics: {n} x /upload url:, MusicAPI delay {delay:g} s, our bot with METRICS=on and off"
            + (f", median of {rounds} rounds" if rounds > 1 else ""),
            "",
            f"{'':<36}{'on':>10}{'off':>10}{'on/off':>11}   target",
            f"{'CPU per upload (ms)':<36}{on.cpu_per_upload_ms:>10.2f}{off.cpu_per_upload_ms:>10.2f}"
            f"{ratio:>10.2f}x   <= {METRICS_TARGET:.2f}x {verdict}",
            f"{'peak memory VmHWM (MiB)':<36}{on.peak_mib:>10.1f}{off.peak_mib:>10.1f}"
            f"{on.peak_mib / off.peak_mib:>10.2f}x",
            f"{'first response p99 (ms)':<36}{on.first_response_p99_ms:>10.1f}{off.first_response_p99_ms:>10.1f}",
        ]
    )


def line_report(ours: Figures, minimal: Figures, n: int, concurrency: int, delay: float, rounds: int) -> str:
    bound = math.ceil(n / concurrency) * delay
    verdict = "ok" if ours.all_delivered_s <= LINE_TARGET * bound else "OVER"
    lines = [
        f"line: {n} x /upload url: from {n} distinct members, MUSICAPI_CONCURRENCY={concurrency}, "
        f"MusicAPI delay {delay:g} s" + (f", median of {rounds} rounds" if rounds > 1 else ""),
        "",
        f"{'':<36}{'ours':>10}{'minimal':>10}{'bound':>10}{'ours/bound':>12}   target",
        f"{'all clip_ids delivered (s)':<36}{ours.all_delivered_s:>10.2f}{minimal.all_delivered_s:>10.2f}"
        f"{bound:>10.2f}{ours.all_delivered_s / bound:>11.2f}x   <= {LINE_TARGET:.2f}x {verdict}",
        f"{'clip_id answer p50 (s)':<36}{ours.answer_p50_s:>10.2f}{minimal.answer_p50_s:>10.2f}",
        f"{'first response p99 (ms)':<36}{ours.first_response_p99_ms:>10.1f}{minimal.first_response_p99_ms:>10.1f}",
        f"{'CPU per upload (ms)':<36}{ours.cpu_per_upload_ms:>10.2f}{minimal.cpu_per_upload_ms:>10.2f}",
        "",
        f"bound = ceil({n} / {concurrency}) x {delay:g} s; the minimal bot has no line (aiohttp's pool of"
        " 100 connections per host is its only limit) and shows no places.",
    ]
    return "\n".join(lines)


def table_row(label: str, ours: float, minimal: float, fmt: str, *, target: bool = False) -> str:
    ratio = f"{ours / minimal:>10.2f}x" if minimal else f"{'-':>11}"
    verdict = ("ok" if ours <= TARGET * minimal else "OVER") if target else ""
    goal = f"   <= {TARGET}x {verdict}" if target else ""
    return f"{label:<36}{ours:>10{fmt}}{minimal:>10{fmt}}{ratio}{goal}"


#: (label, Figures attribute, format, held to TARGET); None is a blank line.
ROWS: Sequence[tuple[str, str, str, bool] | None] = (
    ("CPU per upload (ms)", "cpu_per_upload_ms", ".2f", True),
    ("first response p99 (ms)", "first_response_p99_ms", ".1f", True),
    ("peak memory VmHWM (MiB)", "peak_mib", ".1f", True),
    None,
    ("  of it the event loop thread (ms)", "loop_cpu_per_upload_ms", ".3f", False),
    ("  of it the store's thread (ms)", "store_cpu_per_upload_ms", ".3f", False),
    ("  of it other threads (ms)", "other_threads_cpu_per_upload_ms", ".3f", False),
    ("store calls per upload", "store_calls_per_upload", ".2f", False),
    ("SQLite statements per upload", "statements_per_upload", ".2f", False),
    ("thread round trips per upload", "wakeups_per_upload", ".2f", False),
    ("first response p50 (ms)", "first_response_p50_ms", ".1f", False),
    ("clip_id answer p50 (s)", "answer_p50_s", ".2f", False),
    ("clip_id answer p99 (s)", "answer_p99_s", ".2f", False),
    ("all clip_ids delivered (s)", "all_delivered_s", ".2f", False),
    ("RSS before burst (MiB)", "rss_before_mib", ".1f", False),
    ("RSS growth during burst (MiB)", "rss_growth_mib", ".1f", False),
)


#: The rows that say where the CPU went, and what the bot asked of the store and its threads.
THREAD_ROWS = (
    "loop_cpu_per_upload_ms",
    "store_cpu_per_upload_ms",
    "other_threads_cpu_per_upload_ms",
    "store_calls_per_upload",
    "statements_per_upload",
    "wakeups_per_upload",
)


def thread_row_specs() -> list[tuple[str, str, str]]:
    """(label, attribute, format) of the THREAD_ROWS, as ROWS shows them."""
    return [(row[0], row[1], row[2]) for row in ROWS if row is not None and row[1] in THREAD_ROWS]


def report(ours: Figures, minimal: Figures, n: int, delay: float, rounds: int = 1) -> str:
    cores = os.cpu_count() or 1
    lines = [
        f"burst: {n} x /upload url: from {n} distinct members, MusicAPI delay {delay:g} s, "
        f"{cores} CPU core(s), Python {sys.version.split()[0]}"
        + (f", median of {rounds} rounds" if rounds > 1 else ""),
        "",
        f"{'':<36}{'ours':>10}{'minimal':>10}{'ours/min':>11}   target",
    ]
    for row in ROWS:
        if row is None:
            lines.append("")
            continue
        label, name, fmt, target = row
        lines.append(table_row(label, getattr(ours, name), getattr(minimal, name), fmt, target=target))
    return "\n".join([*lines, "", f"ours: {ours.detail}"])


async def main_postgres(args: argparse.Namespace) -> int:
    """`--mode stores` and `--mode instances`: a PostgreSQL server for the run, stopped at the end."""
    print("starting a PostgreSQL server ...", file=sys.stderr, flush=True)
    with postgres_server() as server:
        if args.mode == "stores":
            store_runs = {"sqlite": StoreRuns(), "postgresql": StoreRuns()}
            for round_ in range(args.rounds):
                await run_store_round(server, store_runs, args, round_)
            table = stores_report(store_runs, args)
        else:
            instance_runs = {1: InstanceRuns(), 2: InstanceRuns()}
            for round_ in range(args.rounds):
                await run_instances_round(server, instance_runs, args, round_)
            table = instances_report(instance_runs, args)
    cores = os.cpu_count() or 1
    print(f"{cores} CPU core(s), Python {sys.version.split()[0]}\n\n{table}")
    return 0


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--mode",
        choices=("sync", "callback", "line", "metrics", "both", "stores", "instances"),
        default="both",
        help="sync: ours vs the minimal bot; callback: our bot in callback mode, beside ours in sync "
        "mode; line: a burst several times the upload line's concurrency; metrics: ours with metrics on and "
        "off; both (default): all four; stores: ours in sync and callback mode on PostgreSQL beside "
        "SQLite; instances: two instances on shard ranges beside one, on PostgreSQL (both start a "
        "PostgreSQL server of their own)",
    )
    parser.add_argument(
        "--line-n", type=int, default=100, help="interactions in the line burst (default 100)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=10, help="MUSICAPI_CONCURRENCY in the line burst (default 10)"
    )
    parser.add_argument(
        "--line-delay", type=float, default=1.0, help="MusicAPI's answer delay in the line burst (default 1)"
    )
    parser.add_argument("--n", type=int, default=200, help="interactions in the sync burst (default 200)")
    parser.add_argument(
        "--callback-n", type=int, default=500, help="interactions in the callback burst (default 500)"
    )
    parser.add_argument("--delay", type=float, default=2.0, help="MusicAPI's answer delay (sync), seconds")
    parser.add_argument("--warmup", type=int, default=5, help="uploads before each burst (default 5)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="cProfile each bot's event loop during the burst into DIR/<bot>[-callback].prof "
        "(skews the figures)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="run each bot this many times; report medians (default 1)"
    )
    args = parser.parse_args(argv)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    # SIGTERM/SIGINT cancel the run, so that the `finally` blocks stop the bot processes.
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)

    # Callback mode is held against our bot's sync-mode CPU from the same run, so ours always runs in sync.
    runs: dict[str, list[Figures]] = {"ours": [], "minimal": []}
    line_runs: dict[str, list[Figures]] = {"ours": [], "minimal": []}
    metrics_runs: dict[str, list[Figures]] = {"on": [], "off": []}
    callback_runs: list[CallbackFigures] = []
    if args.mode in ("stores", "instances"):
        return await main_postgres(args)
    for round_ in range(args.rounds):
        if args.mode != "line":
            specs = [minimal_bot(), our_bot()] if args.mode != "callback" else [our_bot()]
            for spec in specs if round_ % 2 == 0 else specs[::-1]:  # alternate who goes first
                print(f"round {round_ + 1}/{args.rounds}: {spec.name} ...", file=sys.stderr, flush=True)
                runs[spec.name].append(
                    await run_link_burst(spec, args.n, args.delay, args.warmup, args.profile)
                )
        if args.mode in ("callback", "both"):
            print(f"round {round_ + 1}/{args.rounds}: ours, callback mode ...", file=sys.stderr, flush=True)
            callback_runs.append(await run_callback_burst(args.callback_n, args.warmup, args.profile))
        if args.mode in ("line", "both"):
            for spec in (our_bot(args.concurrency), minimal_bot(None)):
                print(f"round {round_ + 1}/{args.rounds}: {spec.name}, line ...", file=sys.stderr, flush=True)
                line_runs[spec.name].append(
                    await run_link_burst(spec, args.line_n, args.line_delay, args.warmup)
                )
        if args.mode in ("metrics", "both"):
            for switch in ("off", "on") if round_ % 2 == 0 else ("on", "off"):
                spec = our_bot()
                spec = BotSpec(spec.name, spec.argv, {**spec.env, "METRICS": switch})
                print(
                    f"round {round_ + 1}/{args.rounds}: ours, metrics {switch} ...",
                    file=sys.stderr,
                    flush=True,
                )
                metrics_runs[switch].append(await run_link_burst(spec, args.n, args.delay, args.warmup))
    tables = []
    if args.mode in ("sync", "both"):
        ours = median_figures(runs["ours"])
        tables.append(report(ours, median_figures(runs["minimal"]), args.n, args.delay, args.rounds))
    if callback_runs:
        ours = median_figures(runs["ours"])
        tables.append(callback_report(median_callback_figures(callback_runs), ours, args.delay, args.rounds))
    if line_runs["ours"]:
        ours_line, minimal_line = median_figures(line_runs["ours"]), median_figures(line_runs["minimal"])
        tables.append(
            line_report(ours_line, minimal_line, args.line_n, args.concurrency, args.line_delay, args.rounds)
        )
    if metrics_runs["on"]:
        tables.append(
            metrics_report(
                median_figures(metrics_runs["on"]),
                median_figures(metrics_runs["off"]),
                args.n,
                args.delay,
                args.rounds,
            )
        )
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except asyncio.CancelledError:
        sys.exit(130)
