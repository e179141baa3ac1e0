"""`/uploads` through the real stack: the member's own uploads, newest first, paged by buttons."""

from __future__ import annotations

import re
import time

from bot.domain.records import SourceKind, UploadRecord, UploadState
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, USER_ID
from tests.fakes.musicapi import Answer, clip_id_for
from tests.harness import Harness

OTHER_USER = USER_ID + 1


def seeded(n: int, user_id: int = USER_ID) -> UploadRecord:
    return UploadRecord(
        interaction_id=1000 + n, application_id=APP_ID, interaction_token="t", token_expires_at=time.time(),
        user_id=user_id, guild_id=None, channel_id=None, locale="en-US", source_kind=SourceKind.LINK,
        label=f"old.example.com/seed-{n}.mp3", state=UploadState.SUCCEEDED, clip_id=f"seed-clip-{n:02d}",
    )  # fmt: skip


async def test_uploads_lists_own_uploads_newest_first_and_pages(harness: Harness) -> None:
    async with harness.running() as app:
        for n in range(11):
            await app.store.add(seeded(n))
        await app.store.add(seeded(99, user_id=OTHER_USER))
        harness.musicapi.script(Answer(400, {"message": "Audio too short."}))
        for name in ("first.mp3", "second.mp3"):
            p = await harness.interact(payloads.upload(url=f"https://files.example.com/{name}"))
            await harness.answer(p)

        listing = await harness.interact(payloads.slash("uploads"))
        call = await harness.callback_of(listing)
        data = call.json["data"]
        assert call.json["type"] == 4 and data["flags"] & 64
        lines = data["content"].splitlines()
        assert lines[0] == "**Your uploads** (page 1)"
        assert len(lines) == 11
        # Newest first: the two real uploads, then the seeded ones from the highest number down.
        assert "second.mp3" in lines[1] and f"`{clip_id_for(0)}`" in lines[1] and "✅" in lines[1]
        assert "first.mp3" in lines[2] and "no clip_id" in lines[2] and "❌" in lines[2]
        assert "seed-clip-10" in lines[3] and "seed-clip-03" in lines[10]
        assert re.search(r"<t:\d+:R>", lines[1])
        assert "seed-clip-99" not in data["content"], "another member's upload leaked"
        buttons = data["components"][0]["components"]
        assert [b["label"] for b in buttons] == ["Newer", "Older"]
        assert buttons[0]["disabled"] is True and not buttons[1].get("disabled")

        press = await harness.interact(payloads.button(buttons[1]["custom_id"]))
        update = await harness.callback_of(press)
        assert update.json["type"] == 7  # UPDATE_MESSAGE: the same ephemeral message, page 2
        page2 = update.json["data"]["content"].splitlines()
        assert page2[0] == "**Your uploads** (page 2)"
        assert [line.split("`")[1] for line in page2[1:]] == ["seed-clip-02", "seed-clip-01", "seed-clip-00"]
        older = update.json["data"]["components"][0]["components"]
        assert older[1]["disabled"] is True and not older[0].get("disabled")


async def test_someone_elses_page_button_is_refused(harness: Harness) -> None:
    async with harness.running() as app:
        for n in range(12):
            await app.store.add(seeded(n))
        press = await harness.interact(payloads.button(f"uploads:{USER_ID}:1", user_id=OTHER_USER))
        call = await harness.callback_of(press)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & 64
    assert "someone else" in call.json["data"]["content"]


async def test_empty_history_says_so(harness: Harness) -> None:
    async with harness.running():
        listing = await harness.interact(payloads.slash("uploads"))
        call = await harness.callback_of(listing)
    assert "haven't uploaded anything" in call.json["data"]["content"]
    assert not call.json["data"].get("components")


async def test_failed_uploads_are_recorded_with_their_error(harness: Harness) -> None:
    harness.musicapi.script(Answer(429, {"message": "slow down"}))
    async with harness.running() as app:
        p = await harness.interact(payloads.upload(file=payloads.attachment("beat.wav", "audio/wav")))
        await harness.answer(p)
        (record,) = await app.store.history(USER_ID, limit=5)
    assert record.state == UploadState.FAILED and record.error_kind == "rate_limited"
    assert record.source_kind == "file" and record.label == "beat.wav"
    assert record.interaction_id == int(p["id"]) and record.guild_id is not None


async def test_an_unexpected_failure_still_gets_an_answer(harness: Harness) -> None:
    async with harness.running() as app:
        await app.store.close()  # the upload log is gone: /uploads cannot read it
        listing = await harness.interact(payloads.slash("uploads"))
        call = await harness.callback_of(listing)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & 64
    text = call.json["data"]["content"]
    assert "went wrong on my side" in text
    assert "Error" not in text and "Traceback" not in text
