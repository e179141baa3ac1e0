"""The operations of the follow-up catalog beyond Extend and Cover, through the real stack on SQLite and on
PostgreSQL: Add vocals and Add instrumental on uploads, Remaster on songs the bot made, each from its
button to its songs; and the refusals that keep members from spending on what MusicAPI would refuse."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from bot.domain.followups.records import budget_day
from tests.cogs.test_follow_ups import (
    EPHEMERAL,
    FAST,
    MODAL,
    OTHER,
    SONG_MENU,
    SONG_MORE,
    button,
    buttons_of,
    final_edit,
    labels,
    open_modal,
    press,
    result,
    upload_clip,
)
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, GUILD_ID
from tests.fakes.musicapi import API_KEY, MIDI_BYTES, Answer, clip_id_for
from tests.harness import Harness, free_port


async def test_add_vocals_sings_over_an_upload(harness: Harness, store_url: str) -> None:
    async with harness.running(**FAST, database_url=store_url) as app:
        components = await upload_clip(harness)
        modal = await open_modal(harness, button(components, "Add vocals"), components)
        assert modal["title"] == "Add vocals to this clip"
        assert (
            "**15 credits**" in modal["components"][0]["content"]
            and "sonic-v6" in modal["components"][0]["content"]
        )
        assert labels(modal) == ["Lyrics to sing", "Style", "Title (optional)"]
        lyrics = modal["components"][1]["component"]
        assert lyrics["required"] is True and lyrics["style"] == 2 and lyrics["max_length"] == 4000
        assert harness.musicapi.creates == [], "nothing is spent before the form is submitted"
        submit = await harness.interact(
            payloads.modal_submit(
                modal, {1: "[Verse]\nCity lights", 2: "soul, warm female vocal", 3: "Night Bus"}
            )
        )
        working = await result(harness, submit, "⏳")
        text = await result(harness, submit)
        final = await final_edit(harness, submit)
        assert await app.follow_ups.store.spent(GUILD_ID, budget_day(time.time())) == 15
    assert "Adding vocals" in working and "15 credits" in working
    (body,) = harness.musicapi.creates
    assert body == {
        "task_type": "add_vocals", "continue_clip_id": clip_id_for(0), "custom_mode": True, "mv": "sonic-v6",
        "prompt": "[Verse]\nCity lights", "tags": "soul, warm female vocal", "title": "Night Bus",
    }  # fmt: skip
    assert "with vocals: 2 new songs" in text
    assert [b["label"] for b in buttons_of(final.json["components"]) if "custom_id" in b] == [
        f"{op} {n}" for n in (1, 2) for op in SONG_MENU
    ]


async def test_add_instrumental_needs_a_style_and_plays_under_the_upload(
    harness: Harness, store_url: str
) -> None:
    async with harness.running(**FAST, database_url=store_url):
        components = await upload_clip(harness)
        modal = await open_modal(harness, button(components, "Add instrumental"), components)
        assert labels(modal) == ["Style", "Title (optional)"]
        assert modal["components"][1]["component"]["required"] is True
        forged = await harness.interact(payloads.modal_submit(modal, {2: "Only a title"}))
        refusal = await harness.callback_of(forged)
        assert (
            refusal.json["data"]["flags"] & EPHEMERAL and "needs a style" in refusal.json["data"]["content"]
        )
        submit = await harness.interact(payloads.modal_submit(modal, {1: "bossa nova, nylon guitar"}))
        text = await result(harness, submit)
    (body,) = harness.musicapi.creates
    assert body == {
        "task_type": "add_instrumental", "continue_clip_id": clip_id_for(0), "custom_mode": True,
        "mv": "sonic-v6", "tags": "bossa nova, nylon guitar",
    }  # fmt: skip
    assert "with an instrumental: 2 new songs" in text


async def test_remaster_shows_its_cost_first_then_remasters_a_song(harness: Harness, store_url: str) -> None:
    async with harness.running(**FAST, database_url=store_url, remaster_credits=12):
        components = await upload_clip(harness)
        modal = await open_modal(harness, button(components, "Extend"), components)
        first = await harness.interact(payloads.modal_submit(modal, {}))
        songs = (await final_edit(harness, first)).json["components"]
        modal = await open_modal(harness, button(songs, "Remaster 2"), songs)
        assert modal["title"] == "Remaster this song"
        assert [c["type"] for c in modal["components"]] == [10], "only what it costs: nothing to fill in"
        assert "**12 credits**" in modal["components"][0]["content"]
        submit = await harness.interact(payloads.modal_submit(modal, {}))
        text = await result(harness, submit, "remastered")
    first_task = next(iter(harness.musicapi.generations))
    remaster = harness.musicapi.creates[-1]
    assert remaster == {"task_type": "remaster", "continue_clip_id": f"{first_task}-song-2", "mv": "sonic-v6"}
    assert "2 new songs" in text


async def test_an_upload_older_than_a_day_is_refused_for_add_vocals_and_nothing_is_spent(
    harness: Harness,
) -> None:
    async with harness.running(**FAST) as app:
        components = await upload_clip(harness)
        extend = button(components, "Extend")
        app.follow_ups.clock = lambda: time.time() + 25 * 3600  # the upload is now a day and an hour old
        for label in ("Add vocals", "Add instrumental"):
            _, call = await press(harness, button(components, label), components)
            assert call.json["type"] == 4 and call.json["data"]["flags"] & EPHEMERAL
            assert "only for clips made or uploaded in the last 24 hours" in call.json["data"]["content"]
            assert f"**{label}**" in call.json["data"]["content"]
        _, call = await press(harness, extend, components)
        assert call.json["type"] == MODAL, "Extend keeps no 24-hour window"
    assert harness.musicapi.creates == []


async def test_an_operation_on_a_kind_of_clip_it_does_not_take_is_refused(harness: Harness) -> None:
    async with harness.running(**FAST):
        components = await upload_clip(harness)
        upload_id = button(components, "Extend").rsplit(":", 1)[1]
        _, call = await press(harness, f"followup:remaster:upload:{upload_id}", [])
        assert "only on songs the bot made" in call.json["data"]["content"]
        modal = await open_modal(harness, button(components, "Extend"), components)
        first = await harness.interact(payloads.modal_submit(modal, {}))
        songs = (await final_edit(harness, first)).json["components"]
        song_id = button(songs, "Extend 1").rsplit(":", 1)[1]
        _, call = await press(harness, f"followup:add_vocals:song:{song_id}", [])
        assert call.json["data"]["flags"] & EPHEMERAL
        assert "**Add vocals** only on clips uploaded with /upload" in call.json["data"]["content"]
    assert [c["task_type"] for c in harness.musicapi.creates] == ["extend_upload_music"]


async def test_a_moderation_refusal_quotes_the_flagged_words_and_nothing_is_spent(harness: Harness) -> None:
    flagged = "The lyrics contain artist names: 'Taylor Swift'"
    harness.musicapi.create_answers.append(Answer(403, {"code": 403, "message": flagged}))
    async with harness.running(**FAST) as app:
        components = await upload_clip(harness)
        modal = await open_modal(harness, button(components, "Add vocals"), components)
        submit = await harness.interact(payloads.modal_submit(modal, {1: "Like Taylor Swift sings"}))
        (note,) = await harness.discord.wait_for("POST", f"/webhooks/{APP_ID}/{submit['token']}")
        assert await app.follow_ups.store.spent(GUILD_ID, budget_day(time.time())) == 0
    assert note.json["flags"] & EPHEMERAL
    assert "'Taylor Swift'" in note.json["content"] and "Nothing was spent" in note.json["content"]


async def _create(harness: Harness, body: dict[str, Any]) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{harness.musicapi_url}/api/v1/sonic/create", json=body, headers=headers) as resp,
    ):
        return resp.status, (await resp.json())["message"]


async def test_the_fake_musicapi_refuses_what_musicapi_refuses(harness: Harness) -> None:
    """No kinder than MusicAPI: add_* and the `_upload_` types only on uploads (add_* within 24 hours),
    remaster and the plain types only on generated songs."""
    api = harness.musicapi
    api.uploaded_clips.add("up")
    api.clip_times["up"] = time.time()
    api.generated_clips.add("song")
    base = {"custom_mode": True, "mv": "sonic-v6", "prompt": "[Verse] la", "tags": "pop"}
    for kind in ("add_vocals", "add_instrumental", "extend_upload_music", "cover_upload_music"):
        status, message = await _create(harness, {**base, "task_type": kind, "continue_clip_id": "song"})
        assert (status, message) == (400, "continue_clip_id is not an uploaded clip."), kind
    for kind in ("remaster", "extend_music", "cover_music"):
        status, _ = await _create(harness, {**base, "task_type": kind, "continue_clip_id": "up"})
        assert status == 400, kind
    api.clip_times["up"] -= 25 * 3600
    status, message = await _create(harness, {**base, "task_type": "add_vocals", "continue_clip_id": "up"})
    assert status == 400 and "24 hours" in message
    status, message = await _create(
        harness, {**base, "task_type": "add_vocals", "continue_clip_id": "x", "mv": "gpt"}
    )
    assert status == 400 and "mv" in message
    assert api.generations == {}, "nothing refused became a task"


# -- on a song the bot made: Stems, WAV, MIDI, BPM ------------------------------------------------------------
async def song_result(harness: Harness) -> tuple[list[dict[str, Any]], str]:
    """Upload, extend it with an empty form; the components under the two songs, and the task's id."""
    components = await upload_clip(harness)
    modal = await open_modal(harness, button(components, "Extend"), components)
    first = await harness.interact(payloads.modal_submit(modal, {}))
    songs = (await final_edit(harness, first)).json["components"]
    return songs, list(harness.musicapi.generations)[-1]


def menu_of(components: list[dict[str, Any]]) -> dict[str, Any]:
    (select,) = [c for row in components for c in row["components"] if c["type"] == 3]
    return dict(select)


def option(components: list[dict[str, Any]], label: str) -> str:
    (value,) = [o["value"] for o in menu_of(components)["options"] if o["label"] == label]
    return str(value)


async def choose(
    harness: Harness, components: list[dict[str, Any]], label: str, **kwargs: Any
) -> dict[str, Any]:
    """Pick `label` in the select menu under a message; the interaction's payload."""
    menu = menu_of(components)
    return await harness.interact(
        payloads.select(menu["custom_id"], option(components, label), components=components, **kwargs)
    )


async def test_a_songs_menu_fits_discords_limits_with_the_rest_in_one_select_menu(harness: Harness) -> None:
    async with harness.running(**FAST):
        songs, _ = await song_result(harness)
    assert len(songs) == 4, "a row of buttons per song, the select menu, then the links to the files"
    assert [b["label"] for b in buttons_of(songs) if "custom_id" in b] == [
        f"{op} {n}" for n in (1, 2) for op in SONG_MENU
    ]
    assert [b["label"] for b in songs[3]["components"]] == ["File 1", "File 2"]
    menu = menu_of(songs)
    assert [o["label"] for o in menu["options"]] == [f"{op} {n}" for n in (1, 2) for op in SONG_MORE]
    assert all(
        o["value"].startswith(("followup:wav:song:", "followup:midi:song:", "followup:bpm:song:"))
        for o in menu["options"]
    )
    assert menu["placeholder"] == "More for these clips…"


async def test_wav_runs_on_one_click_and_says_what_it_cost(harness: Harness, store_url: str) -> None:
    async with harness.running(**FAST, database_url=store_url) as app:
        songs, task_id = await song_result(harness)
        payload = await choose(harness, songs, "WAV 1")
        assert (await harness.callback_of(payload)).json["type"] == 5, "no form: it runs at once"
        text = await result(harness, payload, "💾")
        final = await final_edit(harness, payload, "💾")
        assert await app.follow_ups.store.spent(GUILD_ID, budget_day(time.time())) == 15 + 2
    assert harness.musicapi.sonic_calls == [("wav", {"clip_id": f"{task_id}-song-1"})]
    wav = f"{task_id}-song-1.wav"
    assert f"[download]({harness.musicapi.file_url(wav)})" in text
    assert "MusicAPI credits used: 2" in text
    assert final.json.get("components") in (None, []), "a file has no menu of its own"
    # A WAV stays a link: the fake's CDN serves it, and the bot never fetches it.
    assert wav in harness.musicapi.files and wav not in harness.musicapi.file_requests
    assert final.files == [] and "attachments" not in final.json


async def test_a_dearer_wav_shows_its_cost_first_without_promising_a_refund(harness: Harness) -> None:
    """A WAV over the one-click price asks first; its form says what it costs, and (a synchronous call,
    which MusicAPI documents no refund for) that a failure is not refunded."""
    async with harness.running(**FAST, wav_credits=5):
        songs, _ = await song_result(harness)
        payload = await choose(harness, songs, "WAV 1")
        call = await harness.callback_of(payload)
    assert call.json["type"] == MODAL
    (cost,) = call.json["data"]["components"]
    assert (
        "**5 credits**" in cost["content"]
        and "promises refunds only for failed generations, so this may be charged even if it fails"
        in cost["content"]
    )
    assert "refunds tasks" not in cost["content"]
    assert harness.musicapi.sonic_calls == [], "nothing is spent before the form is submitted"


async def test_a_choice_the_bot_never_offered_is_answered_as_a_clip_it_cannot_find(harness: Harness) -> None:
    async with harness.running(**FAST):
        songs, _ = await song_result(harness)
        menu = menu_of(songs)
        payload = await harness.interact(
            payloads.select(menu["custom_id"], "not-an-option", components=songs)
        )
        answer = await harness.callback_of(payload)
    assert answer.json["type"] == 4 and answer.json["data"]["flags"] & EPHEMERAL
    assert "can't find this clip any more" in answer.json["data"]["content"]
    assert [name for name, _ in harness.musicapi.sonic_calls] == []
    assert len(harness.musicapi.creates) == 1  # the Extend that made the songs, nothing after


async def test_bpm_from_the_select_menu_is_one_line(harness: Harness, store_url: str) -> None:
    async with harness.running(**FAST, database_url=store_url):
        songs, task_id = await song_result(harness)
        payload = await choose(harness, songs, "BPM 2")
        assert (await harness.callback_of(payload)).json["type"] == 5
        text = await result(harness, payload, "🥁")
    assert harness.musicapi.sonic_calls == [("bpm", {"clip_id": f"{task_id}-song-2"})]
    assert "about **122.4 BPM**, 120.2–124.1 (MusicAPI credits used: 1)" in text


async def test_midi_asks_again_while_musicapi_makes_it_and_names_the_instruments(harness: Harness) -> None:
    async with harness.running(**FAST):
        songs, task_id = await song_result(harness)
        payload = await choose(harness, songs, "MIDI 1")
        edit = await final_edit(harness, payload, "🎹")
    clip, text = f"{task_id}-song-1", edit.json["content"]
    assert harness.musicapi.sonic_calls == [("midi", {"clip_id": clip})] * 2
    assert f"[download]({harness.musicapi.file_url(f'{clip}.mid')})" in text
    assert "Instruments: Synth Voice, Bass" in text and "📎" not in text
    assert [(f.filename, f.size) for f in edit.files] == [("Night Drive (1).mid", MIDI_BYTES)], "attached"
    assert [a["filename"] for a in edit.json["attachments"]] == ["Night Drive (1).mid"]


async def test_a_form_at_one_credit_says_one_credit_and_so_does_its_working_line(harness: Harness) -> None:
    async with harness.running(**FAST, add_vocals_credits=1):
        components = await upload_clip(harness)
        modal = await open_modal(harness, button(components, "Add vocals"), components)
        cost = modal["components"][0]["content"]
        submit = await harness.interact(payloads.modal_submit(modal, {1: "[Verse]\nCity lights", 2: "soul"}))
        working = await result(harness, submit, "⏳")
        await result(harness, submit)
    assert cost.startswith("This uses **1 credit** of the bot owner's MusicAPI account"), cost
    assert "Adding vocals" in working and "with MusicAPI (1 credit)." in working, working


async def test_a_midi_musicapi_could_not_make_is_named_without_promising_a_refund(harness: Harness) -> None:
    """MusicAPI refunds failed generations; of a failed synchronous call (WAV, MIDI, BPM) it says nothing,
    so its credit stays counted in the server's budget and the day's total."""
    async with harness.running(**FAST) as app:
        songs, task_id = await song_result(harness)
        spent_before = await app.follow_ups.store.spent(GUILD_ID, budget_day(time.time()))
        harness.musicapi.sonic_answers.append(
            Answer(200, {"code": 200, "message": "Failed to generate midi.", "data": {"midi_url": ""}})
        )
        payload = await choose(harness, songs, "MIDI 1")
        (note,) = await harness.discord.wait_for("POST", f"/webhooks/{APP_ID}/{payload['token']}")
        spent = await app.follow_ups.store.spent(GUILD_ID, budget_day(time.time())) - spent_before
    assert spent == 1, "MIDI_CREDITS stays counted"
    text = note.json["content"]
    assert note.json["flags"] & EPHEMERAL
    assert "couldn't get the MIDI of **Night Drive (1)**: Failed to generate midi." in text
    assert (
        "The bot counts its credits as spent, since MusicAPI promises refunds only for failed generations"
        in text
    )
    assert "no credits were spent" not in text and "music from" not in text
    assert harness.musicapi.sonic_calls == [("midi", {"clip_id": f"{task_id}-song-1"})]


async def test_midi_on_a_song_older_than_a_day_is_refused_plainly(harness: Harness) -> None:
    async with harness.running(**FAST) as app:
        songs, _ = await song_result(harness)
        app.follow_ups.clock = lambda: time.time() + 25 * 3600
        payload = await choose(harness, songs, "MIDI 2")
        call = await harness.callback_of(payload)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & EPHEMERAL
    assert "**MIDI** only for clips made or uploaded in the last 24 hours" in call.json["data"]["content"]
    assert harness.musicapi.sonic_calls == []


async def test_stems_show_their_cost_first_then_each_stem_by_stem(harness: Harness, store_url: str) -> None:
    harness.musicapi.stem_count = 4
    async with harness.running(**FAST, database_url=store_url):
        songs, task_id = await song_result(harness)
        modal = await open_modal(harness, button(songs, "Stems 1"), songs)
        assert [c["type"] for c in modal["components"]] == [10] and "**30 credits**" in modal["components"][
            0
        ]["content"]
        submit = await harness.interact(payloads.modal_submit(modal, {}))
        working = await result(harness, submit, "⏳")
        final = await final_edit(harness, submit, "🎚️")
    assert "Splitting" in working
    ((endpoint, body),) = harness.musicapi.sonic_calls
    assert (endpoint, body) == ("stems/basic", {"clip_id": f"{task_id}-song-1"})
    text = final.json["content"]
    assert "in stems: 4 files" in text
    for n, name in enumerate(["Vocals", "Instrumental", "Drums", "Bass"], start=1):
        assert f"**{n}. Night Drive - {name}** · [listen]({harness.musicapi.file_url('stems-')}" in text
    assert final.json.get("components") in (None, [])


async def test_one_stem_reads_singular(harness: Harness) -> None:
    harness.musicapi.stem_count = 1
    async with harness.running(**FAST):
        songs, _ = await song_result(harness)
        modal = await open_modal(harness, button(songs, "Stems 1"), songs)
        assert "MusicAPI refunds tasks that fail" in modal["components"][0]["content"], "a task: refunded"
        submit = await harness.interact(payloads.modal_submit(modal, {}))
        final = await final_edit(harness, submit, "🎚️")
    assert "in stems: 1 file." in final.json["content"]


async def test_a_one_click_operation_out_of_credits_says_so_and_spends_nothing(harness: Harness) -> None:
    async with harness.running(**FAST) as app:
        songs, _ = await song_result(harness)
        harness.musicapi.credits = 0
        payload = await choose(harness, songs, "BPM 1")
        (note,) = await harness.discord.wait_for("POST", f"/webhooks/{APP_ID}/{payload['token']}")
        assert await app.follow_ups.store.spent(GUILD_ID, budget_day(time.time())) == 15, (
            "the BPM not counted"
        )
        ceiling = app.follow_ups.ceiling
        assert ceiling is not None and await ceiling.today() == 2 + 15, "nor against the day's ceiling"
    assert note.json["flags"] & EPHEMERAL and "out of credits" in note.json["content"]


async def test_the_budget_counts_every_operation_at_its_price(harness: Harness) -> None:
    async with harness.running(**FAST, guild_daily_credits=16):
        songs, _ = await song_result(harness)  # 15 of 16 credits
        refused = await harness.callback_of(await choose(harness, songs, "WAV 1"))
        assert refused.json["data"]["flags"] & EPHEMERAL
        assert "used today's follow-up budget of 16 credits" in refused.json["data"]["content"]
        payload = await choose(harness, songs, "BPM 1")
        await result(harness, payload, "🥁")
    assert [endpoint for endpoint, _ in harness.musicapi.sonic_calls] == ["bpm"]


# -- Mashup: the other clip chosen from the member's own --------------------------------------------------------
async def mashup_form(
    harness: Harness, components: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Press Mashup, pick the first clip offered: the private offer, and the form it opens."""
    _, call = await press(harness, button(components, "Mashup"), components)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & EPHEMERAL
    offer = dict(call.json["data"])
    menu = menu_of(offer["components"])
    chosen = await harness.interact(
        payloads.select(
            menu["custom_id"], menu["options"][0]["value"], components=offer["components"], message_flags=64
        )
    )
    return offer, dict((await harness.callback_of(chosen)).json["data"])


async def test_mashup_blends_a_clip_with_another_of_the_members_own(harness: Harness, store_url: str) -> None:
    async with harness.running(**FAST, database_url=store_url) as app:
        await upload_clip(harness)
        components = await upload_clip(harness)
        offer, modal = await mashup_form(harness, components)
        assert "Pick the clip to blend" in offer["content"]
        options = menu_of(offer["components"])["options"]
        assert [o["label"] for o in options] == ["files.example.com/demo.mp3"], "not the clip itself"
        assert modal["title"] == "Mash up two clips" and "**14 credits**" in modal["components"][0]["content"]
        assert labels(modal) == ["What the blend should sound like", "Style", "Title (optional)"]
        assert harness.musicapi.mashups == []
        submit = await harness.interact(payloads.modal_submit(modal, {1: "upbeat synth-pop blend"}))
        text = await result(harness, submit)
        assert await app.follow_ups.store.spent(GUILD_ID, budget_day(time.time())) == 14
    (body,) = harness.musicapi.mashups
    assert body == {
        "mashup_clip_ids": [clip_id_for(1), clip_id_for(0)], "custom_mode": False, "mv": "sonic-v6",
        "gpt_description_prompt": "upbeat synth-pop blend",
    }  # fmt: skip
    assert "mashed up: 2 new songs" in text and "demo.mp3 + " in text


async def test_mashup_without_another_clip_says_so_and_spends_nothing(harness: Harness) -> None:
    async with harness.running(**FAST):
        components = await upload_clip(harness)
        _, call = await press(harness, button(components, "Mashup"), components)
    assert call.json["data"]["flags"] & EPHEMERAL and "no other clip" in call.json["data"]["content"]
    assert harness.musicapi.mashups == []


async def test_a_mashup_form_naming_someone_elses_clip_is_refused(harness: Harness) -> None:
    async with harness.running(**FAST):
        await upload_clip(harness, user_id=OTHER)
        components = await upload_clip(harness)
        upload_id = button(components, "Extend").rsplit(":", 1)[1]
        forged = {
            "custom_id": f"followup-form:mashup:upload:{upload_id}:with:upload:1",
            "components": [{"type": 18, "component": {"type": 4, "custom_id": "description"}}],
        }
        submit = await harness.interact(payloads.modal_submit(forged, {0: "a blend"}))
        call = await harness.callback_of(submit)
    assert call.json["data"]["flags"] & EPHEMERAL and "can't find this clip" in call.json["data"]["content"]
    assert harness.musicapi.mashups == []


async def test_a_mashup_is_settled_once_by_its_webhook_though_polled_as_well(harness: Harness) -> None:
    """MusicAPI documents no mashup webhook, a client sends its fields: the bot sends them, polls as well,
    and whichever comes first settles it."""
    port = free_port()
    settings = {**FAST, "public_url": f"http://127.0.0.1:{port}", "web_port": port, "musicapi_poll_after": 60}
    async with harness.running(**settings, musicapi_webhook_secret="whsec-mashup"):
        await upload_clip(harness, "whsec-mashup")
        components = await upload_clip(harness, "whsec-mashup")
        _, modal = await mashup_form(harness, components)
        submit = await harness.interact(payloads.modal_submit(modal, {1: "a blend"}))
        await result(harness, submit, "⏳")
        (task_id,) = [t for t in harness.musicapi.generations if t.startswith("mash-")]
        body = harness.musicapi.generations[task_id]
        assert body["webhook_url"].startswith(f"http://127.0.0.1:{port}/musicapi/webhook/")
        assert body["webhook_secret"] == "whsec-mashup"
        status, _ = await harness.musicapi.send_webhook(task_id, harness.musicapi.finished(task_id))
        text = await result(harness, submit)
        again, _ = await harness.musicapi.send_webhook(task_id, harness.musicapi.finished(task_id))
    assert status == 200 and again == 410, "settled once"
    assert "mashed up: 2 new songs" in text


async def test_stems_waiting_for_their_result_are_picked_up_after_a_restart(harness: Harness) -> None:
    async with harness.running(**FAST):
        songs, _ = await song_result(harness)
        harness.musicapi.generation_outcome = "running"
        modal = await open_modal(harness, button(songs, "Stems 2"), songs)
        submit = await harness.interact(payloads.modal_submit(modal, {}))
        await result(harness, submit, "⏳")
    harness.musicapi.generation_outcome = "succeeded"
    async with harness.running(**FAST):
        edit = await final_edit(harness, submit, "🎚️")
    text = edit.json["content"]
    assert "in stems: 2 files" in text and "Night Drive - Vocals" in text
    assert [f.filename for f in edit.files] == [
        "Night Drive (2) - vocals.mp3",
        "Night Drive (2) - instrumental.mp3",
    ], "attached after the restart too"
    assert [endpoint for endpoint, _ in harness.musicapi.sonic_calls] == ["stems/basic"], "never sent twice"


async def test_a_one_click_operation_that_fails_unexpectedly_replaces_its_thinking(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A one-click WAV shows "thinking…" first; a fault of the bot's own after it must not leave it there
    until the token dies."""
    async with harness.running(**FAST) as app:
        songs, _ = await song_result(harness)

        async def broken(*_: object, **__: object) -> None:
            raise RuntimeError("database is locked")

        monkeypatch.setattr(app.bot.follow_ups._service, "start", broken)
        payload = await choose(harness, songs, "WAV 1")
        assert (await harness.callback_of(payload)).json["type"] == 5
        (edit,) = await harness.edits_of(payload, timeout=3.0)
    assert "went wrong on my side" in edit.json["content"] and "database" not in edit.json["content"]
    assert harness.musicapi.sonic_calls == []
