"""MusicAPI's measured pace outlives the process and is shared, through the real stack: a bot restarted on
the same store (either backend), or started beside a running one, admits by what was measured before (not
by the typical 20 s), unless that figure is too old to say anything of MusicAPI now."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.domain.pace import KEPT_FOR, Pace, UploadMode
from bot.storage import open_store
from tests.bot.test_instances import guild_on_shard, in_guild
from tests.cogs.test_line_admission import DEFERRED, MESSAGE, clip_of, link
from tests.fakes import payloads
from tests.fakes.discord_api import GUILD_ID, USER_ID
from tests.harness import Harness

#: One request at MusicAPI at once, and 10 s for an upload in all: at the typical 20 s a request, no
#: upload may wait at all (its request alone would take longer), so all but the first of a burst are
#: refused; at a measured 0.05 s, dozens may wait.
LINE = {"total_daily_credits": 0, "musicapi_concurrency": 1, "upload_timeout": 10.0, "musicapi_timeout": 5.0}
BURST = 5


async def burst(harness: Harness, guild: int = GUILD_ID) -> tuple[list[dict[str, Any]], int]:
    """BURST members upload at once while MusicAPI is still working on every request: the bot's first
    response to each (deferred: admitted; a message: refused), then, once MusicAPI answers, how many of
    them got their clip_id."""
    harness.musicapi.gate = asyncio.Event()
    sent = [
        await harness.interact(in_guild(payloads.upload(url=link(n), user_id=USER_ID + n), guild))
        for n in range(1, BURST + 1)
    ]
    responses = [(await harness.callback_of(p)).json for p in sent]
    harness.musicapi.gate.set()
    admitted = [p for p, r in zip(sent, responses, strict=True) if r["type"] == DEFERRED]
    clips = {await clip_of(harness, p) for p in admitted}
    return responses, len(clips)


async def test_a_restarted_bot_admits_a_burst_by_the_pace_it_measured_before(
    harness: Harness, store_url: str
) -> None:
    harness.musicapi.delay = 0.05
    async with harness.running(database_url=store_url, **LINE):
        await clip_of(harness, await harness.interact(payloads.upload(url=link(0))))  # MusicAPI is fast
    async with harness.running(database_url=store_url, **LINE):
        responses, clips = await burst(harness)
    assert [r["type"] for r in responses] == [DEFERRED] * BURST
    assert clips == BURST


async def test_a_pace_measured_too_long_ago_is_ignored_after_a_restart(
    harness: Harness, store_url: str
) -> None:
    """The same fast figure, written KEPT_FOR and a minute ago (as the process that measured it, the same
    instance): the bot goes by the typical 20 s, and refuses all of the burst but its first upload."""
    store = await open_store(store_url)
    try:
        stale = Pace(0.05, UploadMode.SYNC, time.time() - KEPT_FOR - 60)
        await store.leave(harness.settings().instance_name, pace=stale)
        assert await store.paces(measured_since=0.0) == [stale]
    finally:
        await store.close()
    async with harness.running(database_url=store_url, **LINE):
        responses, clips = await burst(harness)
    assert [r["type"] for r in responses] == [DEFERRED] + [MESSAGE] * (BURST - 1)
    assert clips == 1 and len(harness.musicapi.uploads) == 1
    assert "your upload would wait less than a minute for its turn" in responses[1]["data"]["content"]


async def test_an_instance_starting_beside_a_running_one_admits_by_what_that_one_measured(
    harness: Harness, postgres_url: str
) -> None:
    """Two instances (shards 0 and 1 of 2, so on PostgreSQL) share MUSICAPI_CONCURRENCY=2: one request at
    once each. The first measures a fast MusicAPI; the second, started after that, admits a whole burst in
    a server on its shard (at the typical 20 s it could let none of them wait)."""
    harness.musicapi.delay = 0.05
    shared = LINE | {"musicapi_concurrency": 2, "shard_count": 2, "instance_timeout": 1.5}
    async with harness.running(database_url=postgres_url, shard_ids="0", **shared) as first:
        guild = guild_on_shard(0)
        await clip_of(harness, await harness.interact(in_guild(payloads.upload(url=link(0)), guild)))
        while not await first.store.paces(measured_since=0.0):  # noqa: ASYNC110 - written with a heartbeat
            await asyncio.sleep(0.05)
        async with harness.running(database_url=postgres_url, shard_ids="1", **shared):
            responses, clips = await burst(harness, guild_on_shard(1))
    assert [r["type"] for r in responses] == [DEFERRED] * BURST
    assert clips == BURST
