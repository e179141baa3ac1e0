"""The bots under measurement: how each is started (under benchmarks/launch.py), stopped and marked."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import json
import os
import signal
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.composition import CONNECTIONS_PER_HOST, SPARE_CONNECTIONS
from tests.harness import Harness

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class BotSpec:
    """How to run one bot: its command line and its environment beyond harness.env()."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    #: Where py-spy's samples of the measured burst go (benchmarks/common/profiling.py), if anywhere.
    profile: Path | None = None
    #: Where callgrind's count of the measured burst goes (benchmarks/common/instructions.py), if anywhere.
    instructions: Path | None = None
    #: Where the count of opcodes by function of the measured burst goes (benchmarks/common/opcodes.py).
    opcodes: Path | None = None

    @property
    def slowed(self) -> bool:
        """Counted in a way that runs it many times slower than it runs (callgrind, opcode tracing)."""
        return self.instructions is not None or self.opcodes is not None


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
            # A ceiling the burst never reaches: every upload is reserved against the day's total, as by
            # default, and none is refused.
            "TOTAL_DAILY_CREDITS": "100000000",
        },
    )


def pin_cores() -> str | None:
    """On a machine of two cores or more, this process (the fakes and the load they send) keeps to the
    first and every bot to the others: BENCH_CPU, inherited by the bots, tells benchmarks/launch.py which.
    Sharing one pool of cores, a bot's CPU per upload moved with how the fakes' work fell beside it (the
    minimal bot's from 1.20 to 1.99 ms between rounds of one run; 1.62 to 1.77 ms kept apart). Returns the
    bots' cores, or None when there are too few to keep apart. A PostgreSQL server the run starts later
    shares the first core with the fakes."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) < 2:
        return None
    os.sched_setaffinity(0, {cores[0]})
    os.environ["BENCH_CPU"] = ",".join(str(core) for core in cores[1:])
    return os.environ["BENCH_CPU"]


def loops_note() -> str:
    """Which event loop each bot runs on in this run (benchmarks/launch.py, BENCH_LOOP)."""
    chosen = os.environ.get("BENCH_LOOP", "")
    if chosen:
        return f"both bots on {chosen}'s event loop (BENCH_LOOP)"
    ours = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"ours on {ours}'s event loop (as shipped), the minimal bot on asyncio's (as written)"


def with_env(spec: BotSpec, **env: str) -> BotSpec:
    """`spec` with more environment (which has the last word)."""
    return replace(spec, env={**spec.env, **env})


def minimal_bot(concurrency: int | None = 1000) -> BotSpec:
    """The minimal bot, holding as many connections to MusicAPI as our bot with `concurrency` would
    (bot.composition.new_http_session): in the sync burst neither bot makes an upload wait for a
    connection. `None`: aiohttp's default pool (100 per host), the minimal bot's own line."""
    env = (
        {} if concurrency is None else {"BENCH_CONNECTIONS_PER_HOST": str(connections_per_host(concurrency))}
    )
    return BotSpec("minimal", [sys.executable, str(ROOT / "benchmarks" / "launch.py"), "minimal"], env)


def durable_minimal_bot(concurrency: int | None = 1000) -> BotSpec:
    """The minimal bot with our bot's upload store and the three writes our upload path makes of it
    (benchmarks/minimal_bot.py, BENCH_DURABLE_DB): what durability alone costs. Its database is a fresh
    file in the bot's working directory."""
    spec = minimal_bot(concurrency)
    return replace(with_env(spec, BENCH_DURABLE_DB="minimal-durable.db"), name="minimal-durable")


def connections_per_host(concurrency: int) -> int:
    """The connections per host our bot's HTTP session holds with MUSICAPI_CONCURRENCY=`concurrency`."""
    return max(CONNECTIONS_PER_HOST, concurrency + SPARE_CONNECTIONS)


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
    return with_env(spec, **callback_env)


def minimal_callback_bot(port: int) -> BotSpec:
    """The minimal bot in callback mode (benchmarks/minimal_bot.py), its callback server on loopback `port`."""
    spec = minimal_bot()
    env = {"PUBLIC_URL": f"http://127.0.0.1:{port}", "WEB_HOST": "127.0.0.1", "WEB_PORT": str(port)}
    return with_env(spec, **env)


def profiled(spec: BotSpec, out: Path) -> BotSpec:
    """`spec` with every thread sampled during the measured burst into `out`."""
    return replace(spec, profile=out)


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
        **({"BENCH_OPCODES": str(spec.opcodes)} if spec.opcodes else {}),
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
