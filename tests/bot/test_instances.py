"""Two real `python -m bot` processes on shard ranges 0 and 1 of 2, sharing one PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from tests.bot.test_main import run_bot
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, GUILD_ID, USER_ID
from tests.fakes.musicapi import task_callback
from tests.harness import Harness, free_port

#: How long a step may take before the test gives up: several real processes share the machine, which a
#: CI runner may also share with other work, so it is generous (a passing run never waits for it).
PATIENCE = 60.0

LINK = "https://files.example.com/take.mp3"
POLL_EVERY = 1.0


def guild_on_shard(shard: int, count: int = 2) -> int:
    """A guild id whose events Discord sends to `shard`."""
    guild = GUILD_ID
    while (guild >> 22) % count != shard:
        guild += 1 << 22
    return guild


def in_guild(payload: dict[str, Any], guild_id: int) -> dict[str, Any]:
    """`payload` as if sent from the server `guild_id`."""

    def moved(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: moved(v) for k, v in value.items()}
        if isinstance(value, list):
            return [moved(v) for v in value]
        return str(guild_id) if value == str(GUILD_ID) else value

    return {k: moved(v) for k, v in payload.items()}


@dataclass
class Instance:
    shard: int
    port: int
    proc: asyncio.subprocess.Process

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def two_instances(
    harness: Harness, database_url: str, *, callbacks: bool = True, **extra: str
) -> AsyncIterator[list[Instance]]:
    instances: list[Instance] = []
    try:
        for shard in (0, 1):
            port = free_port()
            env = harness.env(
                DATABASE_URL=database_url,
                SHARD_COUNT="2",
                SHARD_IDS=str(shard),
                WEB_PORT=str(port),
                PUBLIC_URL=f"http://127.0.0.1:{port}" if callbacks else "",
                MUSICAPI_POLL_AFTER="1",
                MUSICAPI_POLL_INTERVAL=str(POLL_EVERY),
                INSTANCE_TIMEOUT="3",
                **extra,
            )
            instances.append(Instance(shard, port, await run_bot(env, harness.tmp_path, launcher=True)))
        async with asyncio.timeout(PATIENCE):
            while set(harness.discord.shard_of.values()) != {(0, 2), (1, 2)}:  # noqa: ASYNC110 - no event for it
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # READY reaches each bot just after its IDENTIFY reached the fake
        yield instances
    finally:
        for instance in instances:
            if instance.proc.returncode is None:
                instance.proc.kill()
            await instance.proc.wait()


async def start(harness: Harness, shard: int) -> tuple[dict[str, Any], str]:
    """/upload from a server on `shard`; the payload and MusicAPI's task id once 'processing' is shown."""
    known = set(harness.musicapi.tasks)
    payload = await harness.interact(in_guild(payloads.upload(url=LINK), guild_on_shard(shard)))
    # An instance may show a place in line first, until its share of the deployment's limit is free.
    await harness.discord.wait_for(
        "PATCH",
        f"/webhooks/{APP_ID}/{payload['token']}/messages/@original",
        where=lambda c: "processing" in str(c.json.get("content")),
        timeout=PATIENCE,
    )
    (task_id,) = set(harness.musicapi.tasks) - known
    return payload, task_id


def final_edits(harness: Harness, payload: dict[str, Any], clip: str) -> int:
    path = f"/webhooks/{APP_ID}/{payload['token']}"
    return sum(
        1
        for c in harness.discord.calls
        if c.path.startswith(path) and isinstance(c.json, dict) and clip in str(c.json.get("content", ""))
    )


async def wait_until(harness: Harness, check: Any, within: float = PATIENCE) -> None:
    """Until `check()` holds after a REST call reached the fake Discord."""
    async with asyncio.timeout(within), harness.discord.new_call:
        await harness.discord.new_call.wait_for(check)


def other_instance(callback_url: str, port: int) -> str:
    """The same callback, sent to the instance listening on `port` (a load balancer may pick either)."""
    path = callback_url.split("/", 3)[3]
    return f"http://127.0.0.1:{port}/{path}"


async def test_each_interaction_is_answered_once_and_a_callback_to_the_other_instance_is_delivered(
    harness: Harness, postgres_url: str
) -> None:
    async with two_instances(harness, postgres_url) as (first, second):
        on_first, task_first = await start(harness, shard=0)
        on_second, task_second = await start(harness, shard=1)
        # The callback of the first instance's upload reaches the second one, and the other way round.
        for task_id, target in ((task_first, second), (task_second, first)):
            url = other_instance(harness.musicapi.tasks[task_id]["callback_url"], target.port)
            status, _ = await harness.musicapi.send_callback(
                task_id, task_callback(task_id, f"clip-{task_id}"), url=url
            )
            assert status == 200
        await wait_until(harness, lambda: final_edits(harness, on_first, f"clip-{task_first}") >= 1)
        await wait_until(harness, lambda: final_edits(harness, on_second, f"clip-{task_second}") >= 1)
        await asyncio.sleep(1.5)  # room for a second answer, were one coming
    for payload, task_id in ((on_first, task_first), (on_second, task_second)):
        responses = harness.discord.sent("POST", f"/interactions/{payload['id']}/")
        assert len(responses) == 1  # one instance acknowledged it, once
        assert final_edits(harness, payload, f"clip-{task_id}") == 1


async def test_after_kill_9_the_other_instance_finishes_its_uploads_and_polls_each_task_alone(
    harness: Harness, postgres_url: str
) -> None:
    async with two_instances(harness, postgres_url) as (first, second):
        called_back, task_called_back = await start(harness, shard=0)
        polled, task_polled = await start(harness, shard=0)
        # Both instances up: the task whose callback never comes is polled, but not twice per interval.
        began = time.monotonic()
        await asyncio.sleep(4.5)
        polls = harness.musicapi.polls.count(task_polled)
        assert 1 <= polls <= (time.monotonic() - began) / POLL_EVERY + 1
        first.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(first.proc.wait(), 10)
        # The callback of one upload reaches the instance that is left...
        url = other_instance(harness.musicapi.tasks[task_called_back]["callback_url"], second.port)
        body = task_callback(task_called_back, "clip-after-kill")
        status, _ = await harness.musicapi.send_callback(task_called_back, body, url=url)
        assert status == 200
        # ...and the other one's task finishes at MusicAPI without a callback: polling finds it.
        harness.musicapi.task_answers[task_polled] = deque(
            [task_callback(task_polled, "clip-found-by-polling")]
        )
        await wait_until(harness, lambda: final_edits(harness, called_back, "clip-after-kill") >= 1)
        await wait_until(harness, lambda: final_edits(harness, polled, "clip-found-by-polling") >= 1)
        await asyncio.sleep(1.5)
    assert final_edits(harness, called_back, "clip-after-kill") == 1
    assert final_edits(harness, polled, "clip-found-by-polling") == 1


async def test_a_sync_upload_cut_off_by_kill_9_is_answered_by_the_other_instance(
    harness: Harness, postgres_url: str
) -> None:
    harness.musicapi.delay = 60  # MusicAPI is still working on it when its instance dies
    async with two_instances(harness, postgres_url, callbacks=False) as (first, _second):
        payload = await harness.interact(in_guild(payloads.upload(url=LINK), guild_on_shard(0)))
        await harness.callback_of(payload)
        await harness.musicapi.wait_for_uploads()
        first.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(first.proc.wait(), 10)
        # Once its heartbeat lapses (INSTANCE_TIMEOUT, 3 s here), the other instance tells the member.
        (told,) = await harness.discord.wait_for(
            "PATCH",
            f"/webhooks/{APP_ID}/{payload['token']}/messages/@original",
            where=lambda c: "restarting" in str(c.json.get("content")),
            timeout=PATIENCE,
        )
    assert "interrupted" in told.json["content"]
    assert len(harness.musicapi.uploads) == 1  # nothing was sent again


async def test_the_limit_of_uploads_in_progress_holds_across_instances(
    harness: Harness, postgres_url: str
) -> None:
    async with two_instances(harness, postgres_url, MAX_UPLOADS_PER_USER="1") as _:
        await start(harness, shard=0)  # in progress on the first instance, waiting for its callback
        second = await harness.interact(in_guild(payloads.upload(url=LINK), guild_on_shard(1)))
        refusal = await harness.callback_of(second)
    assert "You have uploads in progress (1)" in str(refusal.json)
    assert len(harness.musicapi.uploads) == 1


async def test_the_deployments_limit_of_requests_at_once_holds_across_instances(
    harness: Harness, postgres_url: str
) -> None:
    harness.musicapi.delay = 0.5
    async with two_instances(harness, postgres_url, callbacks=False, MUSICAPI_CONCURRENCY="2") as _:
        sent = [
            await harness.interact(
                in_guild(payloads.upload(url=f"{LINK}?n={n}", user_id=USER_ID + n), guild_on_shard(n % 2))
            )
            for n in range(8)
        ]
        for payload in sent:
            await harness.discord.wait_for(
                "PATCH",
                f"/webhooks/{APP_ID}/{payload['token']}/messages/@original",
                where=lambda c: "clip_id" in str(c.json.get("content")),
                timeout=PATIENCE,
            )
    assert len(harness.musicapi.uploads) == 8
    assert harness.musicapi.most_busy <= 2


async def test_an_upload_finished_by_the_other_instance_frees_its_members_slot_on_the_first(
    harness: Harness, postgres_url: str
) -> None:
    async with two_instances(harness, postgres_url, MAX_UPLOADS_PER_USER="1") as (_first, second):
        payload, task_id = await start(harness, shard=0)
        url = other_instance(harness.musicapi.tasks[task_id]["callback_url"], second.port)
        status, _ = await harness.musicapi.send_callback(task_id, task_callback(task_id, "clip-1"), url=url)
        assert status == 200
        await wait_until(harness, lambda: final_edits(harness, payload, "clip-1") >= 1)
        # The first instance learns it from the store (its watcher looks every tick), and lets the
        # member upload again.
        await asyncio.sleep(1.5)
        again, _ = await start(harness, shard=0)
    assert "You have uploads in progress" not in str(
        harness.discord.sent("POST", f"/interactions/{again['id']}/")[0].json
    )


async def test_a_second_process_for_the_same_shards_waits_and_takes_over_when_the_first_stops(
    harness: Harness, postgres_url: str
) -> None:
    def env(port: int) -> dict[str, str]:
        return harness.env(
            DATABASE_URL=postgres_url,
            SHARD_COUNT="1",
            SHARD_IDS="0",
            WEB_PORT=str(port),
            INSTANCE_TIMEOUT="3",
        )

    first = await run_bot(env(free_port()), harness.tmp_path, launcher=True)
    second: asyncio.subprocess.Process | None = None
    try:
        async with asyncio.timeout(PATIENCE):
            while len(harness.discord.shard_of) < 1:  # noqa: ASYNC110 - no event for it
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        second = await run_bot(env(free_port()), harness.tmp_path, launcher=True)
        await asyncio.sleep(3)  # it has logged in, and waits: no second connection to the gateway
        assert len(harness.discord.shard_of) == 1
        payload = await harness.interact(payloads.upload(url=LINK))
        assert "clip_id" in await harness.answer(payload)
        old_connection = set(harness.discord.shard_of)
        first.send_signal(signal.SIGKILL)
        await asyncio.wait_for(first.wait(), 10)
        async with asyncio.timeout(PATIENCE):
            while not set(harness.discord.shard_of) - old_connection:  # noqa: ASYNC110 - no event for it
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        after = await harness.interact(payloads.upload(url=LINK))
        assert "clip_id" in await harness.answer(after)
        second.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(second.communicate(), PATIENCE)
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
    log = err.decode()
    assert "another process runs shards 0 of 1: waiting for it to stop before taking over" in log
    assert "this one runs shards 0 of 1 now" in log
    assert len(harness.discord.sent("POST", f"/interactions/{payload['id']}/")) == 1
    assert len(harness.musicapi.uploads) == 2  # one each: nothing was sent twice


async def test_each_kind_of_interaction_delivered_to_both_instances_is_carried_out_once(
    harness: Harness, postgres_url: str
) -> None:
    """A slash command, a message command, a button press and a form submit, each delivered to both
    instances at once: MusicAPI gets one request for each, and each member one answer."""
    harness.musicapi.delay = 0.3
    guild = guild_on_shard(0)
    async with two_instances(harness, postgres_url, callbacks=False, FOLLOW_UP_COOLDOWN="0"):
        slash = in_guild(payloads.upload(url=LINK), guild)
        await harness.discord.redeliver("INTERACTION_CREATE", slash)
        (answer,) = await harness.discord.wait_for(
            "PATCH",
            f"/webhooks/{APP_ID}/{slash['token']}",
            where=lambda c: "clip_id" in str(c.json),
            timeout=PATIENCE,
        )
        menu = in_guild(
            payloads.message_menu(payloads.message_object([payloads.attachment("stem.wav", "audio/wav")])),
            guild,
        )
        await harness.discord.redeliver("INTERACTION_CREATE", menu)
        await harness.discord.wait_for(
            "PATCH",
            f"/webhooks/{APP_ID}/{menu['token']}",
            where=lambda c: "clip_id" in str(c.json),
            timeout=PATIENCE,
        )
        components = answer.json["components"]
        extend = components[0]["components"][0]["custom_id"]
        press = in_guild(payloads.button(extend, message_flags=0, components=components), guild)
        await harness.discord.redeliver("INTERACTION_CREATE", press)
        (modal, _) = await harness.discord.wait_for(
            "POST", f"/interactions/{press['id']}/", count=2, timeout=PATIENCE
        )
        submit = in_guild(
            payloads.modal_submit(modal.json["data"], {1: "[Verse]\nnew words", 2: "lo-fi"}), guild
        )
        await harness.discord.redeliver("INTERACTION_CREATE", submit)
        await harness.discord.wait_for(
            "PATCH",
            f"/webhooks/{APP_ID}/{submit['token']}",
            where=lambda c: "🎶" in str(c.json),
            timeout=PATIENCE,
        )
        await asyncio.sleep(2.0)  # room for a second answer, were one coming
    assert len(harness.musicapi.uploads) == 2  # the link and the message's file, once each
    assert len(harness.musicapi.creates) == 1
    for payload, marker in ((slash, "clip_id"), (menu, "clip_id"), (submit, "🎶")):
        assert final_edits(harness, payload, marker) == 1
        token_path = f"/webhooks/{APP_ID}/{payload['token']}"
        extra = [c for c in harness.discord.calls if c.path.startswith(token_path) and c.method != "PATCH"]
        assert extra == []  # no second message, nothing deleted
    assert [c.json["type"] for c in harness.discord.sent("POST", f"/interactions/{press['id']}/")] == [9, 9]
