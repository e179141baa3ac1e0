"""`/uploads` through the real stack: the member's own uploads, newest first, paged by buttons."""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any

import pytest

from bot.domain.followups.records import ClipOrigin, FollowUpRecord, FollowUpState, Operation, Song
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


# ---------------------------------------------------------------------------------------------
# deleting one's own history
# ---------------------------------------------------------------------------------------------


def buttons_of(data: dict) -> dict[str, str]:
    """The buttons of a message: label -> custom_id."""
    return {b["label"]: b["custom_id"] for row in data.get("components", []) for b in row["components"]}


async def press(harness: Harness, custom_id: str, **kwargs: Any) -> dict:
    """Press a button; return the bot's interaction response."""
    payload = await harness.interact(payloads.button(custom_id, **kwargs))
    return dict((await harness.callback_of(payload)).json)


async def test_a_member_deletes_their_history_after_confirming_and_keeps_uploads_in_progress(
    harness: Harness,
) -> None:
    async with harness.running() as app:
        for n in range(3):
            await app.store.add(seeded(n))
        in_progress = await app.store.add(
            dataclasses.replace(seeded(50), state=UploadState.PENDING, clip_id=None, label="still/going.mp3")
        )
        theirs = await app.store.add(seeded(99, user_id=OTHER_USER))

        listing = await harness.interact(payloads.slash("uploads"))
        page = (await harness.callback_of(listing)).json["data"]
        assert buttons_of(page) == {"Delete my history": f"uploads:forget:{USER_ID}"}

        asked = await press(harness, f"uploads:forget:{USER_ID}")
        assert asked["type"] == 7  # the same ephemeral message, now asking
        question = asked["data"]["content"]
        assert "Delete your upload history?" in question and "in progress stay until they finish" in question
        assert buttons_of(asked["data"]) == {
            "Delete": f"uploads:forget:{USER_ID}:yes",
            "Cancel": f"uploads:{USER_ID}:0",
        }
        assert len(await app.store.history(USER_ID, limit=10)) == 4, "nothing is deleted before confirming"

        done = await press(harness, f"uploads:forget:{USER_ID}:yes")
        mine = await app.store.history(USER_ID, limit=10)
        others = await app.store.history(OTHER_USER, limit=10)
    assert done["type"] == 7
    lines = done["data"]["content"].splitlines()
    assert lines[0] == "🗑️ Your upload history was deleted (3 removed)."
    assert "still/going.mp3" in done["data"]["content"] and "seed-clip" not in done["data"]["content"]
    assert [r.id for r in mine] == [in_progress.id]
    assert [r.id for r in others] == [theirs.id]


async def test_cancel_keeps_the_history_and_shows_it_again(harness: Harness) -> None:
    async with harness.running() as app:
        await app.store.add(seeded(1))
        await press(harness, f"uploads:forget:{USER_ID}")
        back = await press(harness, f"uploads:{USER_ID}:0")
        (kept,) = await app.store.history(USER_ID, limit=10)
    assert back["type"] == 7
    assert (
        back["data"]["content"].startswith("**Your uploads** (page 1)")
        and "seed-clip-01" in back["data"]["content"]
    )
    assert kept.clip_id == "seed-clip-01"


async def test_another_member_can_neither_ask_nor_confirm_deleting_someone_elses_history(
    harness: Harness,
) -> None:
    async with harness.running() as app:
        await app.store.add(seeded(1))
        answers = [
            await press(harness, f"uploads:forget:{USER_ID}", user_id=OTHER_USER),
            await press(harness, f"uploads:forget:{USER_ID}:yes", user_id=OTHER_USER),
        ]
        (kept,) = await app.store.history(USER_ID, limit=10)
    for answer in answers:
        assert answer["type"] == 4 and answer["data"]["flags"] & 64
        assert "someone else" in answer["data"]["content"]
    assert kept.clip_id == "seed-clip-01"


async def test_confirming_works_after_a_restart(harness: Harness) -> None:
    async with harness.running() as app:
        await app.store.add(seeded(1))
        asked = await press(harness, f"uploads:forget:{USER_ID}", locale="de")
    confirm = buttons_of(asked["data"])["Löschen"]
    assert "Upload-Verlauf löschen?" in asked["data"]["content"]
    async with harness.running() as app:
        done = await press(harness, confirm, locale="de")
        left = await app.store.history(USER_ID, limit=10)
    assert done["type"] == 7
    assert done["data"]["content"].startswith("🗑️ Dein Upload-Verlauf wurde gelöscht (1 entfernt).")
    assert "Du hast noch nichts hochgeladen" in done["data"]["content"]
    assert not done["data"].get("components"), "nothing is left to page through or delete"
    assert left == []


async def test_deleting_the_history_takes_the_members_follow_ups_with_it(harness: Harness) -> None:
    async with harness.running() as app:
        await app.store.add(seeded(1))
        follow_ups = app.follow_ups.store
        made = FollowUpRecord(
            user_id=USER_ID, guild_id=None, channel_id=None, application_id=APP_ID, interaction_id=77,
            interaction_token="tok", token_expires_at=time.time() + 900, locale="en-US",
            action=Operation.COVER, origin=ClipOrigin.UPLOAD, source_id=1, source_clip_id="seed-clip-01",
            source_label="my-demo.mp3", task_type="cover_upload_music", model="sonic-v4-5", credits=15,
        )  # fmt: skip
        stored = await follow_ups.reserve(
            made, day="2026-01-01", daily_budget=0, cooldown_since=time.time() + 1
        )
        assert stored is not None
        await follow_ups.finish(
            stored.key, state=FollowUpState.SUCCEEDED, songs=[Song("gen-1", "Cover", 60.0, None)]
        )
        (song,) = (await follow_ups.get(stored.key) or made).songs
        await press(harness, f"uploads:forget:{USER_ID}")
        done = await press(harness, f"uploads:forget:{USER_ID}:yes")
        gone = await follow_ups.get(stored.key)
        song_gone = await follow_ups.song(song.id or 0)
    assert done["data"]["content"].startswith("🗑️ Your upload history was deleted (2 removed).")
    assert gone is None and song_gone is None


async def test_a_page_that_fails_unexpectedly_still_gets_a_private_answer(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with harness.running() as app:

        async def broken(*_: object, **__: object) -> None:
            raise RuntimeError("database is locked")

        monkeypatch.setattr(app.bot.uploads_log, "history", broken)
        payload = await harness.interact(payloads.button(f"uploads:{USER_ID}:1"))
        call = await harness.callback_of(payload, timeout=3.0)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & 64
    assert "went wrong on my side" in call.json["data"]["content"]
