"""Answers shown from several instances: an earlier state of a message never stays in place of its final
answer."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from bot.domain.records import SourceKind, UploadRecord
from tests.fakes.discord_api import APP_ID, USER_ID
from tests.harness import Harness

TOKEN = "token-of-a-two-file-message"


def upload(position: int) -> UploadRecord:
    return UploadRecord(
        interaction_id=4242, application_id=APP_ID, interaction_token=TOKEN, token_expires_at=time.time() + 900,
        user_id=USER_ID, guild_id=None, channel_id=None, locale="en-US", source_kind=SourceKind.LINK,
        label=f"files.example.com/take-{position}.mp3", position=position, batch_size=2,
    )  # fmt: skip


async def test_an_earlier_answer_landing_after_the_final_one_is_replaced_by_it(harness: Harness) -> None:
    edits = f"/webhooks/{APP_ID}/{TOKEN}/messages/@original"
    async with harness.running() as app:
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
