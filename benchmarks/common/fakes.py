"""The loopback fakes of tests/fakes, with a Discord that stamps when each answer arrives; the interactions sent."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.bot.test_instances import in_guild
from tests.fakes import payloads
from tests.fakes.discord_api import FakeDiscord
from tests.harness import Harness, make_harness

#: The clip_ids FakeMusicAPI hands out (a UUID), as they appear in the bot's answer.
CLIP_ID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


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
    """The tests' fresh fakes on loopback (tests.harness.make_harness), with the timing FakeDiscord."""
    fake_discord = TimingDiscord()
    async with make_harness(tmp_path, fake_discord) as harness:
        yield BenchHarness(
            fake_discord, harness.musicapi, harness.discord_url, harness.musicapi_url, tmp_path
        )


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
