"""Answers shown from several instances: an earlier state of a message (an upload's, a follow-up's) never
stays in place of its final answer."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from bot.composition import App
from bot.domain.followups.records import ClipOrigin, FollowUpRecord, FollowUpState, Operation, Song
from bot.domain.records import SourceKind, UploadRecord, UploadState
from tests.fakes.discord_api import APP_ID, USER_ID
from tests.harness import Harness

TOKEN = "token-of-a-two-file-message"


def upload(position: int) -> UploadRecord:
    return UploadRecord(
        interaction_id=4242, application_id=APP_ID, interaction_token=TOKEN, token_expires_at=time.time() + 900,
        user_id=USER_ID, guild_id=None, channel_id=None, locale="en-US", source_kind=SourceKind.LINK,
        label=f"files.example.com/take-{position}.mp3", position=position, batch_size=2,
    )  # fmt: skip


async def another_instance_alive(app: App) -> None:
    """Another instance beats in the store, and this one has seen it."""
    await app.store.heartbeat("another", now=time.time(), seen_since=0.0, hold=lambda others: 0)
    await app.presence.beat()
    assert app.presence.others == ["another"]


async def test_an_earlier_answer_landing_after_the_final_one_is_replaced_by_it(harness: Harness) -> None:
    edits = f"/webhooks/{APP_ID}/{TOKEN}/messages/@original"
    async with harness.running() as app:
        await another_instance_alive(app)
        first = await app.store.add(dataclasses.replace(upload(0)))
        second = await app.store.add(dataclasses.replace(upload(1)))
        await app.store.finish(first.key, clip_id="clip-one")
        harness.discord.slow[("PATCH", edits)] = 0.5
        # This instance shows the message with one file done; its edit is slow to land...
        showing = asyncio.create_task(app.bot.delivery.deliver(4242))
        await harness.discord.wait_for("PATCH", edits)
        # ...meanwhile another instance settles the second file and shows the final answer.
        await app.store.finish(second.key, clip_id="clip-two")
        await app.store.mark_delivered(4242)
        shown = await showing
        calls = harness.discord.sent("PATCH", edits)
    assert shown
    assert "clip-two" not in calls[0].json["content"]  # the earlier state...
    assert "clip-two" in calls[-1].json["content"] and "clip-one" in calls[-1].json["content"]  # ...replaced
    assert len(calls) == 2


async def test_alone_an_answer_shown_from_held_records_reads_nothing_back(harness: Harness) -> None:
    """The command's own answer shows the records this process holds: while no other instance is alive,
    nothing else can have settled them, so the store is not asked (and a later answer is not read back)."""
    edits = f"/webhooks/{APP_ID}/{TOKEN}/messages/@original"
    async with harness.running() as app:
        assert app.presence.others == []
        first = await app.store.add(dataclasses.replace(upload(0)))
        second = await app.store.add(dataclasses.replace(upload(1)))
        first.clip_id, first.state = "clip-one", UploadState.SUCCEEDED
        reads = []
        by_interaction = app.store.by_interaction

        async def counted(interaction_id: int) -> list[UploadRecord]:
            reads.append(interaction_id)
            return await by_interaction(interaction_id)

        app.store.by_interaction = counted  # type: ignore[method-assign]
        assert await app.bot.delivery.deliver(4242, [first, second], held=True)
        await another_instance_alive(app)
        assert await app.bot.delivery.deliver(4242, [first, second], held=True)
        calls = harness.discord.sent("PATCH", edits)
    assert "clip-one" in calls[0].json["content"]  # what the process holds, not what the store says
    assert reads == [4242]  # only once another instance is alive: to look again after a pending answer


def follow_up() -> FollowUpRecord:
    return FollowUpRecord(
        user_id=USER_ID, guild_id=None, channel_id=None, application_id=APP_ID, interaction_id=5151,
        interaction_token=TOKEN, token_expires_at=time.time() + 900, locale="en-US",
        action=Operation.COVER, origin=ClipOrigin.UPLOAD, source_id=1, source_clip_id="seed-clip-01",
        source_label="my-demo.mp3", task_type="cover_upload_music", model="sonic-v4-5", credits=15,
    )  # fmt: skip


async def stored_follow_up(app: App) -> int:
    stored = await app.follow_ups.store.reserve(
        follow_up(), day="2026-01-01", daily_budget=0, cooldown_since=0.0
    )
    assert stored is not None
    return stored.key


async def test_a_follow_ups_working_answer_landing_after_its_result_is_replaced_by_it(
    harness: Harness,
) -> None:
    edits = f"/webhooks/{APP_ID}/{TOKEN}/messages/@original"
    async with harness.running(attachments=False) as app:
        await another_instance_alive(app)
        key = await stored_follow_up(app)
        harness.discord.slow[("PATCH", edits)] = 0.5
        # This instance shows the cover as still being made; its edit is slow to land...
        showing = asyncio.create_task(app.bot.follow_up_delivery.deliver(key))
        await harness.discord.wait_for("PATCH", edits)
        # ...meanwhile another instance receives the cover and shows it.
        await app.follow_ups.store.finish(
            key, state=FollowUpState.SUCCEEDED, songs=[Song("gen-1", "Night Drive (Cover)", 60.0, None)]
        )
        await app.follow_ups.store.mark_delivered(key)
        assert await showing  # the member has seen the result: shown again in place of "working…"
        calls = harness.discord.sent("PATCH", edits)
    assert "Night Drive (Cover)" not in calls[0].json["content"]  # the earlier state...
    assert "Night Drive (Cover)" in calls[-1].json["content"]  # ...replaced by the result
    assert len(calls) == 2


async def test_alone_a_follow_ups_working_answer_is_not_looked_at_again(harness: Harness) -> None:
    """While no other instance is alive, nothing else can settle the follow-up: one read, not two."""
    edits = f"/webhooks/{APP_ID}/{TOKEN}/messages/@original"
    async with harness.running(attachments=False) as app:
        assert app.presence.others == []
        key = await stored_follow_up(app)
        reads: list[int] = []
        get = app.follow_ups.store.get

        async def counted(follow_up_id: int) -> FollowUpRecord | None:
            reads.append(follow_up_id)
            return await get(follow_up_id)

        app.follow_ups.store.get = counted  # type: ignore[method-assign]
        assert not await app.bot.follow_up_delivery.deliver(key)
        await another_instance_alive(app)
        assert not await app.bot.follow_up_delivery.deliver(key)
        calls = harness.discord.sent("PATCH", edits)
    assert reads == [key, key, key]  # the second time, another instance is alive: it looks again
    assert len(calls) == 2
