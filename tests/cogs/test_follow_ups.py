"""Extend and Cover through the real stack: a press (type 3) opens a modal, its submit (type 5) asks
MusicAPI's sonic/create, and the songs come back into the channel with buttons of their own."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections import deque
from typing import Any

import pytest

import bot.domain.followups.service as service_module
from bot.domain.followups.records import budget_day
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, CHANNEL_ID, GUILD_ID, USER_ID, Call
from tests.fakes.musicapi import CREATE_COST, Answer, clip_id_for
from tests.harness import Harness, free_port

LINK = "https://files.example.com/demo.mp3"
OTHER = USER_ID + 5
#: Polling at once and often, no cooldown: each test turns on what it is about.
FAST: dict[str, Any] = {"musicapi_poll_interval": 0.1, "follow_up_cooldown": 0}
MODAL = 9
#: What Extend and Cover cost unless a test sets EXTEND_CREDITS / COVER_CREDITS.
CREATE_CREDITS = 15
DEFERRED = 5
EPHEMERAL = 64


#: The menu under an upload, and under each song (numbered when a message shows several).
UPLOAD_MENU = ["Extend", "Cover", "Add vocals", "Add instrumental", "Mashup"]
SONG_MENU = ["Extend", "Cover", "Mashup", "Remaster", "Stems"]
#: And, where five buttons run out, in one select menu under the message.
SONG_MORE = ["WAV", "MIDI", "BPM"]


def buttons_of(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for row in components for b in row["components"] if b["type"] == 2]


def button(components: list[dict[str, Any]], label: str) -> str:
    """The custom_id of the button labelled `label`."""
    (found,) = [b["custom_id"] for b in buttons_of(components) if b.get("label") == label]
    return str(found)


async def upload_clip(harness: Harness, secret: str | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """/upload a link; return the components under the answer (Extend and Cover). In callback mode the
    upload's callback is sent (signed with `secret` when given)."""
    payload = await harness.interact(payloads.upload(url=LINK, **kwargs))
    edits = await harness.edits_of(payload)
    if "processing" in edits[0].json["content"]:  # callback mode: MusicAPI's callback brings the clip_id
        task_id = list(harness.musicapi.tasks)[-1]
        clip = f"clip-of-{task_id}"
        harness.musicapi.uploaded_clips.add(clip)
        body = {"code": 200, "task_id": task_id, "clip_id": clip, "message": "success"}
        raw = json.dumps(body).encode()
        ts = str(int(time.time()))
        digest = hmac.new((secret or "").encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        headers = {"X-Webhook-Timestamp": ts, "X-Webhook-Signature": f"sha256={digest}"} if secret else {}
        await harness.musicapi.send_callback(task_id, body, headers=headers)
        edits = await harness.edits_of(payload, count=2)
    edit = edits[-1]
    assert "clip_id: `" in edit.json["content"]
    return list(edit.json.get("components", []))


async def press(
    harness: Harness, custom_id: str, components: list[dict[str, Any]], **kwargs: Any
) -> tuple[dict[str, Any], Call]:
    """Press a button of a public message; return the payload and the bot's interaction response."""
    payload = await harness.interact(
        payloads.button(custom_id, message_flags=0, components=components, **kwargs)
    )
    return payload, await harness.callback_of(payload)


async def open_modal(
    harness: Harness, custom_id: str, components: list[dict[str, Any]], **kwargs: Any
) -> dict[str, Any]:
    _, call = await press(harness, custom_id, components, **kwargs)
    assert call.json["type"] == MODAL, call.json
    return dict(call.json["data"])


def labels(modal: dict[str, Any]) -> list[str]:
    return [c["label"] for c in modal["components"] if c["type"] == 18]


async def result(harness: Harness, payload: dict[str, Any], marker: str = "🎶") -> str:
    """The edit of the modal's answer that carries `marker` (the songs, or a failure's words)."""
    token = payload["token"]
    calls = await harness.discord.wait_for(
        "PATCH",
        f"/webhooks/{APP_ID}/{token}/messages/@original",
        where=lambda c: marker in str((c.json or {}).get("content", "")),
    )
    return str(calls[-1].json["content"])


async def final_edit(harness: Harness, payload: dict[str, Any], marker: str = "🎶") -> Call:
    token = payload["token"]
    calls = await harness.discord.wait_for(
        "PATCH",
        f"/webhooks/{APP_ID}/{token}/messages/@original",
        where=lambda c: marker in str((c.json or {}).get("content", "")),
    )
    return calls[-1]


async def extend_from_upload(
    harness: Harness, values: dict[int, str] | None = None, secret: str | None = None
) -> dict[str, Any]:
    """Upload, press Extend, fill the modal; return the submit payload."""
    components = await upload_clip(harness, secret)
    extend = buttons_of(components)[0]["custom_id"]
    modal = await open_modal(harness, extend, components)
    return await harness.interact(
        payloads.modal_submit(modal, values or {1: "[Verse]\nnew words", 2: "lo-fi"})
    )


async def test_an_upload_answer_carries_extend_and_cover(harness: Harness) -> None:
    async with harness.running(**FAST) as app:
        components = await upload_clip(harness)
        (record,) = await app.store.history(USER_ID, limit=1)
    buttons = buttons_of(components)
    assert [b["label"] for b in buttons] == UPLOAD_MENU
    assert [b["custom_id"] for b in buttons] == [
        f"followup:extend:upload:{record.id}",
        f"followup:cover:upload:{record.id}",
        f"followup:add_vocals:upload:{record.id}",
        f"followup:add_instrumental:upload:{record.id}",
        f"followup:mashup:upload:{record.id}",
    ]


async def test_extend_asks_in_a_modal_with_the_cost_then_shows_two_songs(harness: Harness) -> None:
    async with harness.running(**FAST, follow_up_model="sonic-v6-wild"):
        components = await upload_clip(harness)
        modal = await open_modal(harness, buttons_of(components)[0]["custom_id"], components)
        assert modal["title"] == "Extend this clip"
        cost = modal["components"][0]
        assert cost["type"] == 10 and f"**{CREATE_CREDITS} credits**" in cost["content"]
        assert "sonic-v6-wild" in cost["content"]
        assert labels(modal) == [
            "Lyrics for the new part (optional)", "Style", "Title (optional)", "Continue from (optional)",
        ]  # fmt: skip
        assert harness.musicapi.creates == [], "nothing is spent before the modal is submitted"

        submit = await harness.interact(
            payloads.modal_submit(
                modal, {1: "[Verse]\nneon rain", 2: "synthwave, dreamy", 3: "Neon", 4: "1:05"}
            )
        )
        deferred = await harness.callback_of(submit)
        assert deferred.json["type"] == DEFERRED and not (deferred.json.get("data") or {}).get("flags")
        working = await result(harness, submit, "⏳")
        text = await result(harness, submit)
        final = await final_edit(harness, submit)
    assert "Extending" in working and "demo.mp3" in working and "15 credits" in working
    (body,) = harness.musicapi.creates
    assert body == {
        "task_type": "extend_upload_music", "continue_clip_id": clip_id_for(0), "custom_mode": True,
        "mv": "sonic-v6-wild", "prompt": "[Verse]\nneon rain", "tags": "synthwave, dreamy", "title": "Neon",
        "continue_at": 65.0,
    }  # fmt: skip
    (task_id,) = harness.musicapi.generations
    assert "2 new songs" in text
    for n in (1, 2):
        clip = f"{task_id}-song-{n}"
        assert f"**{n}. Night Drive ({n})** · 2:0{4 + n}" in text
        assert f"clip_id: `{clip}`" in text
        assert f"[listen]({harness.musicapi.file_url(clip + '.mp3')})" in text
    songs = [b for b in buttons_of(final.json["components"]) if "custom_id" in b]
    assert [b["label"] for b in songs] == [f"{op} {n}" for n in (1, 2) for op in SONG_MENU]
    assert all(b["custom_id"].startswith("followup:") and ":song:" in b["custom_id"] for b in songs)


async def test_cover_needs_a_style_and_sends_how_close_to_stay(harness: Harness) -> None:
    async with harness.running(**FAST):
        components = await upload_clip(harness)
        cover = buttons_of(components)[1]["custom_id"]
        modal = await open_modal(harness, cover, components)
        assert modal["title"] == "Cover this clip"
        style = modal["components"][1]
        assert style["label"] == "Style" and style["component"]["required"] is True
        submit = await harness.interact(payloads.modal_submit(modal, {1: "bossa nova", 4: "70%"}))
        text = await result(harness, submit)
    (body,) = harness.musicapi.creates
    assert body["task_type"] == "cover_upload_music" and body["continue_clip_id"] == clip_id_for(0)
    assert body["tags"] == "bossa nova" and body["audio_weight"] == 0.7
    assert "prompt" not in body and "continue_at" not in body
    assert "covered: 2 new songs" in text


async def test_a_generated_song_chains_with_extend_music_not_the_upload_type(harness: Harness) -> None:
    async with harness.running(**FAST):
        submit = await extend_from_upload(harness)
        final = await final_edit(harness, submit)
        songs = final.json["components"]
        cover_song_2 = button(songs, "Cover 2")
        modal = await open_modal(harness, cover_song_2, songs)
        second = await harness.interact(payloads.modal_submit(modal, {1: "punk"}))
        text = await result(harness, second)
        extend_song_1 = button(songs, "Extend 1")
        modal = await open_modal(harness, extend_song_1, songs)
        third = await harness.interact(payloads.modal_submit(modal, {}))
        await result(harness, third)
    first_task = next(iter(harness.musicapi.generations))
    first, cover, extend = harness.musicapi.creates
    assert first["task_type"] == "extend_upload_music"
    assert cover["task_type"] == "cover_music" and cover["continue_clip_id"] == f"{first_task}-song-2"
    assert extend["task_type"] == "extend_music" and extend["continue_clip_id"] == f"{first_task}-song-1"
    assert extend["continue_at"] == 0.1 and "prompt" not in extend
    assert "Night Drive (2)" in text and "covered" in text


async def test_someone_else_pressing_gets_a_private_explanation_and_nothing_is_made(harness: Harness) -> None:
    async with harness.running(**FAST):
        components = await upload_clip(harness)
        for button in buttons_of(components):
            _, call = await press(harness, button["custom_id"], components, user_id=OTHER)
            assert call.json["type"] == 4 and call.json["data"]["flags"] & EPHEMERAL
            assert "Only the member who made this clip" in call.json["data"]["content"]
        await asyncio.sleep(0.3)
    assert harness.musicapi.creates == []


async def test_buttons_keep_working_after_a_restart(harness: Harness) -> None:
    async with harness.running(**FAST):
        components = await upload_clip(harness)
    async with harness.running(**FAST):
        modal = await open_modal(harness, buttons_of(components)[1]["custom_id"], components)
        submit = await harness.interact(payloads.modal_submit(modal, {1: "jazz"}))
        text = await result(harness, submit)
    assert "covered" in text and harness.musicapi.creates[0]["continue_clip_id"] == clip_id_for(0)


async def test_a_follow_up_waiting_for_its_result_is_picked_up_after_a_restart(harness: Harness) -> None:
    harness.musicapi.generation_outcome = "running"
    async with harness.running(**FAST):
        submit = await extend_from_upload(harness)
        await result(harness, submit, "⏳")
        await asyncio.sleep(0.3)
    polls = len(harness.musicapi.polls)
    assert polls >= 1
    harness.musicapi.generation_outcome = "succeeded"
    async with harness.running(**FAST):
        text = await result(harness, submit)
    assert "2 new songs" in text and len(harness.musicapi.polls) > polls
    assert len(harness.musicapi.creates) == 1, "never sent twice"


async def test_the_daily_budget_is_kept_across_a_restart_and_says_when_it_frees_up(harness: Harness) -> None:
    settings = {**FAST, "guild_daily_credits": 2 * CREATE_CREDITS}
    async with harness.running(**settings):
        components = await upload_clip(harness)
        extend = buttons_of(components)[0]["custom_id"]
        for _ in range(2):
            modal = await open_modal(harness, extend, components)
            submit = await harness.interact(payloads.modal_submit(modal, {}))
            await result(harness, submit)
    async with harness.running(**settings):
        _, call = await press(harness, extend, components)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & EPHEMERAL
    text = call.json["data"]["content"]
    assert "used today's follow-up budget of 30 credits" in text and "<t:" in text and ":R>" in text
    assert len(harness.musicapi.creates) == 2


async def test_a_refunded_failure_does_not_count_against_the_budget(harness: Harness) -> None:
    harness.musicapi.generation_outcome = "failed"
    async with harness.running(**FAST, guild_daily_credits=CREATE_CREDITS) as app:
        submit = await extend_from_upload(harness)
        text = await result(harness, submit, "refunds")
        assert await app.follow_ups.store.spent(GUILD_ID, _today()) == 0
        harness.musicapi.generation_outcome = "succeeded"
        components = await upload_clip(harness)
        modal = await open_modal(harness, buttons_of(components)[0]["custom_id"], components)
        again = await harness.interact(payloads.modal_submit(modal, {}))
        await result(harness, again)
    assert "Generation failed" in text and "no credits were spent" in text
    assert harness.musicapi.credits == 1000 - CREATE_COST


async def test_the_cooldown_is_kept_in_the_store(harness: Harness) -> None:
    settings = {**FAST, "follow_up_cooldown": 600}
    async with harness.running(**settings):
        components = await upload_clip(harness)
        extend = buttons_of(components)[0]["custom_id"]
        modal = await open_modal(harness, extend, components)
        await result(harness, await harness.interact(payloads.modal_submit(modal, {})))
    async with harness.running(**settings):
        _, call = await press(harness, extend, components)
    assert call.json["data"]["flags"] & EPHEMERAL
    assert "You can start the next one <t:" in call.json["data"]["content"]
    assert len(harness.musicapi.creates) == 1


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Answer(403, {"code": 403, "message": "The remaining credits are not enough. You can buy more."}),
         "out of credits"),
        (Answer(400, {"code": 400, "message": "tags contain a forbidden artist name."}),
         "forbidden artist name"),
        (Answer(429, {"message": "slow down"}), "busy"),
    ],
)  # fmt: skip
async def test_a_refused_create_is_explained_privately_and_spends_nothing(
    harness: Harness, answer: Answer, expected: str
) -> None:
    harness.musicapi.create_answers.append(answer)
    async with harness.running(**FAST, guild_daily_credits=CREATE_CREDITS) as app:
        submit = await extend_from_upload(harness)
        (note,) = await harness.discord.wait_for("POST", f"/webhooks/{APP_ID}/{submit['token']}")
        assert await app.follow_ups.store.spent(GUILD_ID, _today()) == 0
    assert note.json["flags"] & EPHEMERAL
    assert expected in note.json["content"]
    assert "Traceback" not in note.json["content"] and "Error" not in note.json["content"]
    assert harness.discord.sent("DELETE", f"/webhooks/{APP_ID}/{submit['token']}/messages/@original")


async def test_a_create_whose_answer_was_lost_is_not_sent_again(harness: Harness) -> None:
    harness.musicapi.create_answers.append(Answer(drop=True))
    async with harness.running(**FAST):
        submit = await extend_from_upload(harness)
        text = await result(harness, submit, "couldn't confirm")
        await asyncio.sleep(0.3)
    assert len(harness.musicapi.creates) == 1
    assert "didn't send it again" in text


async def test_a_follow_up_past_the_deadline_is_told_without_claiming_a_refund(harness: Harness) -> None:
    harness.musicapi.generation_outcome = "running"
    async with harness.running(**FAST, musicapi_poll_after=0.1, musicapi_poll_deadline=0.5):
        submit = await extend_from_upload(harness)
        text = await result(harness, submit, "in time")
    assert "stopped waiting" in text and "refund" not in text


async def test_follow_ups_off_shows_no_buttons_and_old_buttons_explain(harness: Harness) -> None:
    async with harness.running(**FAST):
        components = await upload_clip(harness)
    async with harness.running(**FAST, follow_ups="off"):
        payload = await harness.interact(payloads.upload(url=LINK))
        (edit,) = await harness.edits_of(payload)
        _, call = await press(harness, buttons_of(components)[0]["custom_id"], components)
    assert not edit.json.get("components")
    assert "extend, cover and remix" in edit.json["content"]
    assert "turned this follow-up off" in call.json["data"]["content"]


async def test_only_the_actions_in_follow_ups_are_offered(harness: Harness) -> None:
    async with harness.running(**FAST, follow_ups="cover"):
        components = await upload_clip(harness)
    assert [b["label"] for b in buttons_of(components)] == ["Cover"]


async def test_the_answers_point_to_the_menu_follow_ups_offers_without_naming_buttons_it_lacks(
    harness: Harness,
) -> None:
    """FOLLOW_UPS=add_vocals,mashup: no Extend or Cover anywhere, so no answer tells the member to press
    them; the upload answer and the songs (which get Mashup) point to the buttons that are there."""
    async with harness.running(**FAST, follow_ups="add_vocals,mashup"):
        payload = await harness.interact(payloads.upload(url=LINK))
        upload = (await harness.edits_of(payload))[-1].json
        components = upload["components"]
        modal = await open_modal(harness, button(components, "Add vocals"), components)
        submit = await harness.interact(payloads.modal_submit(modal, {1: "[Verse]\nCity lights"}))
        final = await final_edit(harness, submit)
    assert [b["label"] for b in buttons_of(components)] == ["Add vocals", "Mashup"]
    songs = final.json["content"]
    assert [b["label"] for b in buttons_of(final.json["components"]) if "custom_id" in b] == [
        "Mashup 1",
        "Mashup 2",
    ]
    for text in (upload["content"], songs):
        assert "Use the buttons below" in text
        assert "Extend" not in text and "Cover" not in text


async def test_songs_without_a_menu_point_to_none(harness: Harness) -> None:
    """FOLLOW_UPS=add_vocals: it makes songs, but offers nothing on songs; their answer says nothing of
    buttons."""
    async with harness.running(**FAST, follow_ups="add_vocals"):
        components = await upload_clip(harness)
        modal = await open_modal(harness, button(components, "Add vocals"), components)
        submit = await harness.interact(payloads.modal_submit(modal, {1: "[Verse]\nCity lights"}))
        final = await final_edit(harness, submit)
    text = final.json["content"]
    assert "with vocals: 2 new songs" in text
    assert not [b for b in buttons_of(final.json.get("components") or []) if "custom_id" in b]
    assert "button" not in text and "Extend" not in text and "Cover" not in text


async def test_one_new_song_reads_singular(harness: Harness) -> None:
    harness.musicapi.generation_outcome = "running"
    async with harness.running(**FAST):
        submit = await extend_from_upload(harness)
        await result(harness, submit, "⏳")
        (task_id,) = harness.musicapi.generations
        harness.musicapi.generation_answers[task_id] = deque([harness.musicapi.finished(task_id, count=1)])
        text = await result(harness, submit)
    assert "extended: 1 new song." in text and "**1. Night Drive (1)**" in text and "**2." not in text


async def test_the_result_reaches_the_channel_once_the_token_has_expired(harness: Harness) -> None:
    harness.musicapi.generation_outcome = "running"
    async with harness.running(**FAST):
        submit = await extend_from_upload(harness)
        await result(harness, submit, "⏳")
        harness.expire_token(submit)
        harness.musicapi.generation_outcome = "succeeded"
        (post,) = await harness.discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    assert post.json["content"].startswith(f"<@{USER_ID}> 🎶")
    assert post.json["allowed_mentions"]["users"] == [USER_ID]
    assert len([b for b in buttons_of(post.json["components"]) if "custom_id" in b]) == 2 * len(SONG_MENU)


async def test_modal_text_comes_in_the_members_language(harness: Harness) -> None:
    async with harness.running(**FAST):
        payload = await harness.interact(payloads.upload(url=LINK, locale="de"))
        (edit,) = await harness.edits_of(payload)
        components = edit.json["components"]
        payload = await harness.interact(
            payloads.button(
                buttons_of(components)[0]["custom_id"], message_flags=0, components=components, locale="de"
            )
        )
        call = await harness.callback_of(payload)
    assert call.json["type"] == MODAL
    assert call.json["data"]["title"] != "Extend this clip"


async def test_bad_modal_input_is_explained_and_nothing_is_sent(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with harness.running(**FAST):
        components = await upload_clip(harness)
        modal = await open_modal(harness, buttons_of(components)[0]["custom_id"], components)
        submit = await harness.interact(payloads.modal_submit(modal, {4: "soon"}))
        call = await harness.callback_of(submit)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & EPHEMERAL
    assert "where to continue from" in call.json["data"]["content"]
    assert harness.musicapi.creates == []


def _today() -> str:
    return budget_day(time.time())


async def test_a_form_opened_before_a_restart_is_still_taken_after_it(harness: Harness) -> None:
    async with harness.running(**FAST):
        components = await upload_clip(harness)
        modal = await open_modal(harness, buttons_of(components)[1]["custom_id"], components)
    async with harness.running(**FAST):
        submit = await harness.interact(payloads.modal_submit(modal, {1: "surf rock", 4: "0.4"}))
        text = await result(harness, submit)
    (body,) = harness.musicapi.creates
    assert body["tags"] == "surf rock" and body["audio_weight"] == 0.4 and "covered" in text


async def test_a_form_naming_someone_elses_clip_is_refused(harness: Harness) -> None:
    async with harness.running(**FAST):
        components = await upload_clip(harness)
        modal = await open_modal(harness, buttons_of(components)[0]["custom_id"], components)
        submit = await harness.interact(payloads.modal_submit(modal, {2: "ska"}, user_id=OTHER))
        call = await harness.callback_of(submit)
        await asyncio.sleep(0.2)
    assert call.json["data"]["flags"] & EPHEMERAL and "Only the member" in call.json["data"]["content"]
    assert harness.musicapi.creates == []


async def test_an_upload_answer_posted_in_the_channel_keeps_its_buttons(harness: Harness) -> None:
    port = free_port()
    async with harness.running(public_url=f"http://127.0.0.1:{port}", web_port=port):
        payload = await harness.interact(payloads.upload(url=LINK))
        await harness.edits_of(payload)
        harness.expire_token(payload)
        (task_id,) = harness.musicapi.tasks
        await harness.musicapi.send_callback(
            task_id, {"code": 200, "task_id": task_id, "clip_id": "late-clip", "message": "success"}
        )
        (post,) = await harness.discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    assert "`late-clip`" in post.json["content"]
    assert [b["label"] for b in buttons_of(post.json["components"])] == UPLOAD_MENU


async def test_two_forms_submitted_at_once_start_one_follow_up_within_the_cooldown(harness: Harness) -> None:
    async with harness.running(**{**FAST, "follow_up_cooldown": 600}):
        components = await upload_clip(harness)
        first = await open_modal(harness, buttons_of(components)[0]["custom_id"], components)
        second = await open_modal(harness, buttons_of(components)[1]["custom_id"], components)
        a, b = payloads.modal_submit(first, {}), payloads.modal_submit(second, {1: "dub"})
        await asyncio.gather(harness.interact(a), harness.interact(b))
        await harness.musicapi.wait_for_creates(1)
        notes = await harness.discord.wait_for(
            "POST", f"/webhooks/{APP_ID}/", where=lambda c: "next one" in str((c.json or {}).get("content"))
        )
        await asyncio.sleep(0.3)
    assert len(harness.musicapi.creates) == 1
    assert len(notes) == 1 and notes[0].json["flags"] & EPHEMERAL


async def test_a_press_that_fails_unexpectedly_still_gets_a_private_answer(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """discord.py only logs an exception in a persistent button's callback: the member would be left with
    "This interaction failed"."""
    async with harness.running(**FAST) as app:
        components = await upload_clip(harness)

        async def broken(*_: object) -> None:
            raise RuntimeError("database is locked")

        monkeypatch.setattr(app.bot.follow_ups._service, "source", broken)
        extend = buttons_of(components)[0]["custom_id"]
        payload = await harness.interact(payloads.button(extend, message_flags=0, components=components))
        call = await harness.callback_of(payload, timeout=3.0)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & 64
    assert "went wrong on my side" in call.json["data"]["content"]
    assert "database" not in call.json["data"]["content"]


async def test_shutdown_waits_for_a_follow_up_being_sent_and_its_member_hears_of_it(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """MusicAPI may be charging for a follow-up under way when shutdown begins: its task id must reach the
    store, and its member the "working" answer, before the store and the session close."""
    harness.musicapi.create_answers.append(
        Answer(200, {"code": 200, "task_id": "gen-slow", "message": "success"}, delay=1.5)
    )
    async with harness.running(**FAST):
        submit = await extend_from_upload(harness)
        await harness.musicapi.wait_for_creates(1)
    (edit,) = harness.discord.sent("PATCH", f"/webhooks/{APP_ID}/{submit['token']}/messages/@original")
    assert "⏳" in edit.json["content"]  # the task id was stored, and the member told it is under way
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "nothing met a closed store"


async def test_a_store_that_stumbles_after_musicapi_took_a_follow_up_is_tried_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MusicAPI took the request (and may be charging for it): a write that fails for a moment (a locked
    database) is tried again, and the member gets their songs, not "please try again"."""
    monkeypatch.setattr(service_module, "KEEP_PAUSES", (0.0, 0.0, 0.0))
    async with harness.running(**FAST) as app:
        store = app.bot.follow_ups._service.store
        set_task = store.set_task
        failures = [RuntimeError("database is locked")] * 2

        async def stumbling(*args: Any, **kwargs: Any) -> None:
            if failures:
                raise failures.pop()
            await set_task(*args, **kwargs)

        monkeypatch.setattr(store, "set_task", stumbling)
        submit = await extend_from_upload(harness)
        text = await result(harness, submit)
    assert "2 new songs" in text and len(harness.musicapi.creates) == 1


async def test_a_follow_up_musicapi_took_but_the_store_never_recorded_is_not_answered_try_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(service_module, "KEEP_PAUSES", (0.0, 0.0, 0.0))
    async with harness.running(**FAST) as app:

        async def broken(*_: Any, **__: Any) -> None:
            raise RuntimeError("database is locked")

        monkeypatch.setattr(app.bot.follow_ups._service.store, "set_task", broken)
        submit = await extend_from_upload(harness)
        (edit, *_) = await harness.edits_of(submit)
    assert len(harness.musicapi.creates) == 1  # MusicAPI took it (and charged)
    assert "⏳" in edit.json["content"] and "try again" not in edit.json["content"]
    assert any("the store could not record it" in r.getMessage() for r in caplog.records)
