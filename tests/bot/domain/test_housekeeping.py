"""Data kept only as long as it is needed, through the real stack: old uploads pruned, interaction tokens
and callback secrets erased once spent, and no answer ever sent with an erased token."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiosqlite

from bot.domain.housekeeping import DAY
from bot.domain.pace import Pace, UploadMode
from bot.domain.records import ERASED_TOKEN, TOKEN_LIFETIME
from bot.storage import open_store
from tests.bot.web.test_callbacks import callback_mode, start_upload
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, CHANNEL_ID, USER_ID
from tests.fakes.musicapi import clip_id_for, flat_callback
from tests.harness import Harness, free_port


async def age(harness: Harness, days: float, interaction_id: int | None = None) -> None:
    """Make the uploads in the log (or one interaction's) look as if they had started and finished `days`
    earlier."""
    shift = days * DAY
    async with aiosqlite.connect(harness.tmp_path / "bot.db") as db:
        await db.execute(
            "UPDATE uploads SET created_at = created_at - ?, updated_at = updated_at - ?"
            " WHERE ? IS NULL OR interaction_id = ?",
            (shift, shift, interaction_id, interaction_id),
        )
        await db.commit()


async def until(condition: Any, within: float = 10.0) -> None:
    """Wait until `condition()` (a coroutine function) is true; fail after `within` seconds."""
    for _ in range(int(within / 0.02)):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition never became true")


def webhook_calls_without_token(harness: Harness) -> list[Any]:
    """Requests to Discord's interaction webhooks that carry an empty token."""
    return [c for c in harness.discord.calls if c.path.startswith(f"/webhooks/{APP_ID}//")]


async def test_at_startup_old_uploads_are_pruned_and_shown_answers_lose_their_token(
    harness: Harness,
) -> None:
    async with harness.running() as app:
        old = await harness.interact(payloads.upload(url="https://files.example.com/old.mp3"))
        assert clip_id_for(0) in await harness.answer(old)
        shown = await harness.interact(payloads.upload(url="https://files.example.com/shown.mp3"))
        assert clip_id_for(1) in await harness.answer(shown)
        await until(lambda: _delivered(app.store, int(shown["id"])))
    await age(harness, days=31, interaction_id=int(old["id"]))
    async with harness.running() as app:
        # The housekeeping the bot starts on its own removes the 31-day-old upload and erases the token
        # of the answer that was shown; the upload itself stays in the member's history.
        await until(lambda: _gone(app.store, int(old["id"])))
        await until(lambda: _erased(app.store, int(shown["id"])))
        (kept,) = await app.store.by_interaction(int(shown["id"]))
        listing = await harness.interact(payloads.slash("uploads"))
        history = (await harness.callback_of(listing)).json["data"]["content"]
    assert kept.delivered and kept.clip_id == clip_id_for(1)
    assert "shown.mp3" in history and "old.mp3" not in history


async def _erased(store: Any, interaction_id: int) -> bool:
    return all(r.interaction_token == ERASED_TOKEN for r in await store.by_interaction(interaction_id))


async def _gone(store: Any, interaction_id: int) -> bool:
    return not await store.by_interaction(interaction_id)


async def test_a_shown_answer_loses_its_token_but_stays_in_the_history(harness: Harness) -> None:
    async with harness.running() as app:
        payload = await harness.interact(payloads.upload(url="https://files.example.com/kept.mp3"))
        assert clip_id_for(0) in await harness.answer(payload)
        await until(lambda: _delivered(app.store, int(payload["id"])))
        assert await app.housekeeping.erase() == 1
        assert await app.housekeeping.prune() == 0  # 30 days by default: far from due
        (record,) = await app.store.by_interaction(int(payload["id"]))
        listing = await harness.interact(payloads.slash("uploads"))
        shown = (await harness.callback_of(listing)).json["data"]["content"]
    assert record.interaction_token == ERASED_TOKEN
    assert record.clip_id == clip_id_for(0)
    assert "kept.mp3" in shown and clip_id_for(0) in shown


async def _delivered(store: Any, interaction_id: int) -> bool:
    return all(r.delivered for r in await store.by_interaction(interaction_id))


async def test_retention_zero_keeps_finished_uploads_forever(harness: Harness) -> None:
    async with harness.running():
        payload = await harness.interact(payloads.upload(url="https://files.example.com/forever.mp3"))
        await harness.answer(payload)
    await age(harness, days=3650)
    async with harness.running(retention_days=0) as app:
        assert await app.housekeeping.prune() == 0
        (record,) = await app.store.by_interaction(int(payload["id"]))
    assert record.clip_id == clip_id_for(0)


async def test_instances_gone_for_over_a_day_are_forgotten_even_when_uploads_are_kept_forever(
    harness: Harness,
) -> None:
    """Shards laid out anew bring new instance names: what a name gone for a day left (a dead process's
    heartbeat row, its measured pace) is removed, also with RETENTION_DAYS=0."""
    now = time.time()
    store = await open_store(f"sqlite:///{harness.tmp_path / 'bot.db'}")
    try:
        for name, when in (("gone", now - 2 * DAY), ("recent", now - 600)):
            pace = Pace(12.0, UploadMode.SYNC, when)
            await store.heartbeat(name, now=when, seen_since=0.0, hold=lambda others: 0, pace=pace)
    finally:
        await store.close()
    assert not await _instance_rows(harness, "gone", absent=True)
    async with harness.running(retention_days=0) as app:
        await until(lambda: _instance_rows(harness, "gone", absent=True))
        paces = await app.store.paces(measured_since=0.0)
        assert await _instance_rows(harness, "recent", absent=False)
    assert [p.measured_at for p in paces] == [now - 600]


async def test_an_instance_is_not_taken_for_gone_within_twice_its_heartbeats_timeout(
    harness: Harness,
) -> None:
    """INSTANCE_TIMEOUT has no upper bound: with one of two days, a name last heard of three days ago stays
    (within twice the timeout, as a day is for the default timeout), and one heard of five days ago goes."""
    now = time.time()
    store = await open_store(f"sqlite:///{harness.tmp_path / 'bot.db'}")
    try:
        for name, when in (("slow", now - 3 * DAY), ("gone", now - 5 * DAY)):
            await store.heartbeat(name, now=when, seen_since=0.0, hold=lambda others: 0)
    finally:
        await store.close()
    async with harness.running(retention_days=0, instance_timeout=2 * DAY) as app:
        await until(lambda: _instance_rows(harness, "gone", absent=True))
        assert await app.housekeeping.forget_departed() == 0
        assert await _instance_rows(harness, "slow", absent=False)


async def _instance_rows(harness: Harness, name: str, *, absent: bool) -> bool:
    """Whether `name`'s heartbeat row is absent from the store (or present, with absent=False)."""
    async with aiosqlite.connect(harness.tmp_path / "bot.db") as db:
        rows = await db.execute_fetchall("SELECT 1 FROM instances WHERE name = ?", (name,))
    return not rows if absent else bool(rows)


async def test_a_spent_callback_secret_is_erased_and_a_replayed_callback_changes_nothing(
    harness: Harness,
) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        payload, task_id = await start_upload(harness)
        assert await app.housekeeping.erase() == 0, "a pending upload still needs its token and secret"
        status, _ = await harness.musicapi.send_callback(task_id, flat_callback(task_id, "clip-spent"))
        edits = await harness.edits_of(payload, count=2)
        await until(lambda: _delivered(app.store, int(payload["id"])))
        assert await app.housekeeping.erase() == 1
        (record,) = await app.store.by_interaction(int(payload["id"]))
        replay, _ = await harness.musicapi.send_callback(task_id, flat_callback(task_id, "clip-forged"))
        await asyncio.sleep(0.1)
        after = harness.discord.sent("PATCH", f"/webhooks/{APP_ID}/{payload['token']}")
    assert status == 200 and "`clip-spent`" in edits[-1].json["content"]
    assert (record.interaction_token, record.callback_token) == (ERASED_TOKEN, None)
    assert record.clip_id == "clip-spent"
    assert replay == 404  # the secret is gone: nobody can use the callback address any more
    assert len(after) == 2


async def test_an_expired_token_is_erased_and_the_late_answer_is_posted_in_the_channel(
    harness: Harness,
) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        payload, task_id = await start_upload(harness)
        app.housekeeping._clock = lambda: time.time() + TOKEN_LIFETIME + 1  # the token has expired
        assert await app.housekeeping.erase() == 1
        (pending,) = await app.store.by_interaction(int(payload["id"]))
        assert pending.interaction_token == ERASED_TOKEN and pending.callback_token
        # The store's copy says the token is gone; Discord would still take it for a while.
        status, _ = await harness.musicapi.send_callback(task_id, flat_callback(task_id, "clip-late"))
        (posted,) = await harness.discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
        edits = harness.discord.sent("PATCH", f"/webhooks/{APP_ID}/")
    assert status == 200
    assert posted.json["content"].startswith(f"<@{USER_ID}>") and "`clip-late`" in posted.json["content"]
    assert len(edits) == 1  # only the first "processing" answer, sent while the token was still kept
    assert webhook_calls_without_token(harness) == []


async def test_redelivery_of_an_unshown_answer_with_an_erased_token_falls_back_to_a_dm(
    harness: Harness,
) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        payload, task_id = await start_upload(harness)
        channel = ("POST", f"/channels/{CHANNEL_ID}/messages")
        dm = ("POST", "/users/@me/channels")
        harness.discord.fail[channel] = (403, {"message": "Missing Access", "code": 50001})
        harness.discord.fail[dm] = (403, {"message": "Cannot send messages to this user", "code": 50007})
        harness.expire_token(payload)
        await harness.musicapi.send_callback(task_id, flat_callback(task_id, "clip-redelivered"))
        await harness.discord.wait_for(*dm)
        app.housekeeping._clock = lambda: time.time() + TOKEN_LIFETIME + 1
        assert await app.housekeeping.erase() == 1  # one upload: its expired token, its spent secret
        (record,) = await app.store.by_interaction(int(payload["id"]))
        assert not record.delivered and (record.interaction_token, record.callback_token) == (
            ERASED_TOKEN,
            None,
        )
        patches_before = len(harness.discord.sent("PATCH", "/webhooks/"))
        del harness.discord.fail[dm]
        app.watcher._clock = lambda: time.time() + 10_000  # the retry is due
        await app.watcher.redeliver()
        messages = await harness.discord.wait_for(
            "POST", "/channels/", where=lambda c: c.path != f"/channels/{CHANNEL_ID}/messages"
        )
        (record,) = await app.store.by_interaction(int(payload["id"]))
    assert "`clip-redelivered`" in messages[-1].json["content"]
    assert record.delivered
    assert len(harness.discord.sent("PATCH", "/webhooks/")) == patches_before
    assert webhook_calls_without_token(harness) == []
