"""A watched initial response puts its own adapter in place for its one call only: whatever the call does
(answers, raises, is cancelled), discord.py's own adapter is back for every request after it. (What the
watch notes is tested through the fake Discord: tests/cogs/test_redelivery.py, test_upload_line.py.)"""

from __future__ import annotations

import asyncio

import pytest
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

from bot.discord_app.responses import WatchedResponse


async def test_the_watching_adapter_serves_the_call_and_no_request_after_it() -> None:
    default = async_context.get()
    seen: list[AsyncWebhookAdapter] = []

    async def call() -> None:
        seen.append(async_context.get())

    watched = WatchedResponse()
    await watched.send(call())
    assert seen[0] is not default and isinstance(seen[0], AsyncWebhookAdapter)
    assert async_context.get() is default
    assert watched.unsure is False  # nothing was sent, nothing is in doubt


async def test_a_call_that_fails_or_is_cancelled_leaves_discord_pys_adapter_in_place() -> None:
    default = async_context.get()

    async def fails() -> None:
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        await WatchedResponse().send(fails())
    assert async_context.get() is default

    started = asyncio.Event()

    async def hangs() -> None:
        started.set()
        await asyncio.sleep(60)

    async def sender() -> AsyncWebhookAdapter:
        try:
            await WatchedResponse().send(hangs())
        except asyncio.CancelledError:
            return async_context.get()
        raise AssertionError("not cancelled")

    task = asyncio.create_task(sender())
    await started.wait()
    task.cancel()
    assert await task is default


async def test_each_call_has_a_watch_of_its_own() -> None:
    """Two calls at once (two deliveries of one interaction in one process): each adapter notes its own."""
    first, second = WatchedResponse(), WatchedResponse()
    adapters: list[AsyncWebhookAdapter] = []

    async def call() -> None:
        adapters.append(async_context.get())
        await asyncio.sleep(0)

    await asyncio.gather(first.send(call()), second.send(call()))
    assert adapters[0] is not adapters[1]


def test_the_watching_adapter_has_all_the_state_discord_pys_own_adapter_makes() -> None:
    """It skips the adapter's __init__ (a weak dict, for one request): should discord.py's adapter come to
    set up more there, this fails before a response is sent without it."""
    assert set(vars(AsyncWebhookAdapter())) <= set(vars(WatchedResponse()))  # type: ignore[no-untyped-call]
