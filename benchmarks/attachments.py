"""Memory while results arrive as files: a burst of follow-up results, each two songs of --mib MiB.

    python benchmarks/attachments.py [--n 50] [--mib 5] [--rounds 1]

The bot runs as `python -m bot` in its own process (tests/support/launch_bot.py) against the loopback
fakes of tests/harness.py. --n members each upload a link, press Extend and submit the form, while the
fake MusicAPI keeps every task running; then all the tasks finish at once, and the bot polls them,
fetches both songs (and their cover art) from the fake CDN and edits each member's answer with the files.
The bot's peak RSS (VmHWM, reset just before the burst through /proc/<pid>/clear_refs) is compared with
its RSS before the burst, once with ATTACHMENTS=on and once with ATTACHMENTS=off, in the same run.
Reported: the peak's growth in each case, their difference, and the files' total size beside it: a
bounded downloader grows by a few chunks, not by the total.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common.sampling import read_memory_kib as memory_kib  # noqa: E402
from tests.cogs.test_follow_ups import buttons_of, open_modal, upload_clip  # noqa: E402
from tests.fakes import payloads  # noqa: E402
from tests.fakes.discord_api import APP_ID, USER_ID  # noqa: E402
from tests.harness import Harness, make_harness  # noqa: E402

MIB = 1024 * 1024
LAUNCH = ROOT / "tests" / "support" / "launch_bot.py"


@dataclass(frozen=True)
class Figures:
    attachments: bool
    rss_before_mib: float
    peak_mib: float
    seconds: float
    files: int
    file_mib: float

    @property
    def growth_mib(self) -> float:
        return self.peak_mib - self.rss_before_mib


def _die_with_parent() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def reset_peak(pid: int) -> None:
    """VmHWM := VmRSS: the peak from now on (proc(5), clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@contextlib.asynccontextmanager
async def bot_process(
    harness: Harness, workdir: Path, **env: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot` against the harness's fakes until the block ends (SIGTERM, then SIGKILL)."""
    harness.discord.identified.clear()
    full = harness.env(
        DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **env
    )
    with (workdir / "bot.log").open("ab") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(LAUNCH), env=full, cwd=workdir, stdin=asyncio.subprocess.DEVNULL,
            stdout=log, stderr=asyncio.subprocess.STDOUT, preexec_fn=_die_with_parent,
        )  # fmt: skip
    try:
        async with asyncio.timeout(30):
            await harness.discord.identified.wait()
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def submit_extend(harness: Harness, member: int) -> dict[str, object]:
    """One member: upload a link, press Extend, submit the form; return the submit payload."""
    components = await upload_clip(harness, user_id=member)
    extend = next(b for b in buttons_of(components) if b.get("label") == "Extend")
    modal = await open_modal(harness, extend["custom_id"], components, user_id=member)
    return await harness.interact(payloads.modal_submit(modal, {2: "lo-fi"}, user_id=member))


async def one_round(args: argparse.Namespace, attachments: bool) -> Figures:
    with tempfile.TemporaryDirectory(prefix="bench-attach-") as tmp:
        workdir = Path(tmp)
        async with make_harness(workdir) as harness:
            harness.musicapi.song_bytes = args.mib * MIB
            harness.musicapi.generation_outcome = "running"
            env = {
                "ATTACHMENTS": "on" if attachments else "off",
                "MUSICAPI_POLL_INTERVAL": "0.5", "FOLLOW_UP_COOLDOWN": "0", "GUILD_DAILY_CREDITS": "0",
                "MAX_UPLOADS_PER_USER": "1000", "MUSICAPI_CONCURRENCY": "200", "LOG_LEVEL": "WARNING",
            }  # fmt: skip
            harness.musicapi.credits = 100 * args.n
            async with bot_process(harness, workdir, **env) as proc:
                submits = [await submit_extend(harness, USER_ID + 1 + i) for i in range(args.n)]
                await harness.musicapi.wait_for_creates(args.n, within=60)
                await asyncio.sleep(1.0)  # every follow-up has recorded its task and shown "extending"
                reset_peak(proc.pid)
                before = memory_kib(proc.pid)["VmRSS"]
                started = time.monotonic()
                harness.musicapi.generation_outcome = "succeeded"
                tokens = {str(s["token"]) for s in submits}

                def final(call: object) -> bool:
                    path = getattr(call, "path", "")
                    content = str((getattr(call, "json", None) or {}).get("content", ""))
                    return path.split("/")[3] in tokens and "🎶" in content

                calls = await harness.discord.wait_for(
                    "PATCH", f"/webhooks/{APP_ID}/", count=args.n, timeout=300, where=final
                )
                seconds = time.monotonic() - started
                peak = memory_kib(proc.pid)["VmHWM"]
            files = [f for c in calls for f in c.files if f.filename.endswith(".mp3")]
            if attachments and len(files) != 2 * args.n:
                raise RuntimeError(f"expected {2 * args.n} songs attached, got {len(files)}")
            return Figures(
                attachments, before / 1024, peak / 1024, seconds, len(files), sum(f.size for f in files) / MIB
            )


def report(on: list[Figures], off: list[Figures], args: argparse.Namespace) -> str:
    def med(runs: list[Figures], key: str) -> float:
        return statistics.median(getattr(r, key) for r in runs)

    grow_on, grow_off = med(on, "growth_mib"), med(off, "growth_mib")
    total = med(on, "file_mib")
    lines = [
        f"{args.n} results of two {args.mib} MiB songs each, median of {args.rounds} round(s):",
        f"{'':38} {'files':>10} {'links':>10}",
        f"{'RSS before the burst (MiB)':38} {med(on, 'rss_before_mib'):10.1f} {med(off, 'rss_before_mib'):10.1f}",
        f"{'peak RSS during the burst (MiB)':38} {med(on, 'peak_mib'):10.1f} {med(off, 'peak_mib'):10.1f}",
        f"{'peak growth (MiB)':38} {grow_on:10.1f} {grow_off:10.1f}",
        f"{'burst until the last answer (s)':38} {med(on, 'seconds'):10.1f} {med(off, 'seconds'):10.1f}",
        f"songs attached: {med(on, 'files'):.0f}, {total:.0f} MiB in all; the files' extra peak: "
        f"{grow_on - grow_off:.1f} MiB ({(grow_on - grow_off) / total:.1%} of their total size)",
    ]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=50, help="results finishing at once")
    parser.add_argument("--mib", type=int, default=5, help="size of each song's file")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    on: list[Figures] = []
    off: list[Figures] = []
    for _ in range(args.rounds):
        on.append(await one_round(args, attachments=True))
        off.append(await one_round(args, attachments=False))
    print(report(on, off, args))


if __name__ == "__main__":
    asyncio.run(main())
