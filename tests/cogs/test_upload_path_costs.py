"""What an upload asks of the store, of Discord and of MusicAPI, counted through the real stack.

The benchmark measures time; these counts do not depend on the machine, so they hold the upload path to
what it needs in every CI run: a sync upload is three store writes (recorded before it is sent, settled
before it is shown, marked shown after) and nothing read back, one interaction response and one edit,
one request to MusicAPI; callback mode adds the task id's write and the "processing" edit. A store call
or a request more per upload fails here before it shows in the benchmark's figures.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable
from typing import Any

from tests.bot.web.test_callbacks import callback_mode
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, USER_ID
from tests.fakes.musicapi import flat_callback
from tests.harness import Harness, free_port

LINK = "https://files.example.com/take.mp3"
BURST = 12


def count_calls(store: Any) -> Counter[str]:
    """Every later call of `store`'s public coroutine methods, by name."""
    calls: Counter[str] = Counter()

    def counted(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return method(*args, **kwargs)

        return call

    for name, method in inspect.getmembers(store, inspect.iscoroutinefunction):
        if not name.startswith("_"):
            setattr(store, name, counted(name, method))
    return calls


def requests_to_discord(harness: Harness, payload: dict[str, Any]) -> Counter[str]:
    """The REST calls the bot made for `payload`'s interaction, by kind."""
    kinds: Counter[str] = Counter()
    for call in harness.discord.calls:
        if call.path.startswith(f"/interactions/{payload['id']}/"):
            kinds["response"] += 1
        elif call.path.startswith(f"/webhooks/{APP_ID}/{payload['token']}"):
            kinds[f"{call.method} {call.path.rsplit('/', 1)[-1]}"] += 1
    return kinds


async def test_a_burst_of_sync_uploads_costs_three_store_writes_and_two_discord_requests_each(
    harness: Harness,
) -> None:
    async with harness.running() as app:
        store_calls = count_calls(app.store)
        burst = [
            await harness.interact(payloads.upload(url=f"{LINK}?n={n}", user_id=USER_ID + n))
            for n in range(BURST)
        ]
        for payload in burst:
            assert "`" in await harness.answer(payload)  # its clip_id
        await app.uploads.in_flight.wait_idle(5)
        await app.bot.desk.answering.wait_idle(5)
        asked = dict(store_calls)  # before shutdown's own calls
    assert asked == {"add": BURST, "finish": BURST, "mark_delivered": BURST}
    for payload in burst:
        assert requests_to_discord(harness, payload) == {"response": 1, "PATCH @original": 1}
    assert len(harness.musicapi.uploads) == BURST


async def test_a_burst_of_callback_uploads_adds_the_task_id_and_the_processing_edit_only(
    harness: Harness,
) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        store_calls = count_calls(app.store)
        burst = [
            await harness.interact(payloads.upload(url=f"{LINK}?n={n}", user_id=USER_ID + n))
            for n in range(BURST)
        ]
        for payload in burst:
            assert "processing" in await harness.answer(payload)
        for task_id in list(harness.musicapi.tasks):
            status, _ = await harness.musicapi.send_callback(
                task_id, flat_callback(task_id, f"clip-{task_id}")
            )
            assert status == 200
        for payload in burst:
            await harness.edits_of(payload, count=2)
        await app.settlement.drain(5)  # the answers' last writes follow their edits
        asked = dict(store_calls)  # before shutdown's own calls
    assert asked == {"add": BURST, "set_task": BURST, "finish": BURST, "mark_delivered": BURST}
    for payload in burst:
        assert requests_to_discord(harness, payload) == {"response": 1, "PATCH @original": 2}
    assert len(harness.musicapi.uploads) == BURST
