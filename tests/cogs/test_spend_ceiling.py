"""The whole bot's daily ceiling (TOTAL_DAILY_CREDITS, UPLOAD_CREDITS) and where it works (ALLOWED_GUILDS,
ALLOW_USER_INSTALLS), through the real discord.py stack: what would pass the ceiling, and what comes from
elsewhere, is answered in one sentence and sends nothing to MusicAPI."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.domain.followups.records import budget_day
from tests.bot.web.test_callbacks import callback_mode, final_edit, start_upload
from tests.cogs.test_credits import credits_answer
from tests.cogs.test_follow_ups import (
    EPHEMERAL,
    FAST,
    buttons_of,
    extend_from_upload,
    open_modal,
    press,
    result,
    upload_clip,
)
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, GUILD_ID, USER_ID
from tests.fakes.musicapi import CREATE_COST, Answer
from tests.harness import Harness, free_port

LINK = "https://files.example.com/a.mp3"
CEILING_TEXT = "spent all the MusicAPI credits its owner allows for today"


async def test_the_upload_that_would_pass_the_ceiling_is_refused_and_not_sent(harness: Harness) -> None:
    async with harness.running(total_daily_credits=5, upload_credits=2, max_uploads_per_user=10):
        answers = []
        for _ in range(3):
            payload = await harness.interact(payloads.upload(url=LINK))
            answers.append(await harness.answer(payload))
    assert all("clip_id" in text for text in answers[:2])
    assert CEILING_TEXT in answers[2] and "a.mp3" in answers[2] and "midnight UTC" in answers[2]
    assert len(harness.musicapi.uploads) == 2  # the third never reached MusicAPI


async def test_an_upload_musicapi_refused_gives_its_credits_back(harness: Harness) -> None:
    harness.musicapi.script(Answer(400, {"code": 400, "message": "Audio is too short."}))
    async with harness.running(total_daily_credits=2, upload_credits=2) as app:
        refused = await harness.answer(await harness.interact(payloads.upload(url=LINK)))
        taken = await harness.answer(await harness.interact(payloads.upload(url=LINK)))
        spent = await app.uploads._ceiling.today()  # type: ignore[union-attr]
    assert "Audio is too short" in refused and "clip_id" in taken
    assert spent == 2


@pytest.mark.parametrize(
    ("body", "spent"),
    [
        ({"code": 200, "data": [{"clip_id": "", "state": "failed", "error": "File could not be decoded."}]}, 0),
        ({"code": 400, "message": "Audio duration must be at least 6 seconds."}, 0),
        ({"code": 500, "message": "internal"}, 0),  # the task failed at MusicAPI: refunded too
    ],
    ids=["task-failed", "refused", "server-error"],
)  # fmt: skip
async def test_an_upload_whose_task_failed_gives_its_credits_back(
    harness: Harness, body: dict[str, Any], spent: int
) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port), total_daily_credits=10, upload_credits=2) as app:
        payload, task_id = await start_upload(harness)
        assert await app.uploads._ceiling.today() == 2  # type: ignore[union-attr]
        status, _ = await harness.musicapi.send_callback(task_id, {**body, "task_id": task_id})
        assert status == 200
        await final_edit(harness, payload)
        today = await app.uploads._ceiling.today()  # type: ignore[union-attr]
    assert today == spent


async def test_the_follow_up_that_would_pass_the_ceiling_is_refused_and_nothing_is_created(
    harness: Harness,
) -> None:
    # One upload (2) and one extend (15) fit; a second extend would make 32.
    async with harness.running(**FAST, total_daily_credits=2 + CREATE_COST + 10, upload_credits=2):
        components = await upload_clip(harness)
        extend = buttons_of(components)[0]["custom_id"]
        modal = await open_modal(harness, extend, components)
        await result(harness, await harness.interact(payloads.modal_submit(modal, {})))
        _, call = await press(harness, extend, components)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & EPHEMERAL
    assert CEILING_TEXT in call.json["data"]["content"] and "<t:" in call.json["data"]["content"]
    assert len(harness.musicapi.creates) == 1


async def test_a_form_opened_before_the_ceiling_was_reached_is_refused_on_submit(harness: Harness) -> None:
    """The form opened with room left; uploads took the room before it was sent: the submit is refused
    at the reservation, in the same step that counts, and MusicAPI is not asked."""
    async with harness.running(
        **FAST, total_daily_credits=2 + CREATE_COST, upload_credits=2, max_uploads_per_user=10
    ):
        components = await upload_clip(harness)
        modal = await open_modal(harness, buttons_of(components)[0]["custom_id"], components)
        await harness.answer(await harness.interact(payloads.upload(url=LINK)))  # 2 more: 4 of 17
        submit = await harness.interact(payloads.modal_submit(modal, {}))
        text = await _first_answer(harness, submit)
    assert CEILING_TEXT in text
    assert harness.musicapi.creates == []


async def _first_answer(harness: Harness, payload: dict[str, Any]) -> str:
    """The refusal only the member sees, after the public "thinking" (which is deleted)."""
    (followup,) = await harness.discord.wait_for("POST", f"/webhooks/{APP_ID}/{payload['token']}")
    assert followup.json["flags"] & EPHEMERAL
    return str(followup.json["content"])


async def test_credits_shows_the_days_total_against_the_ceiling(harness: Harness) -> None:
    async with harness.running(**FAST, total_daily_credits=300, upload_credits=2):
        await upload_clip(harness)
        _, report = await credits_answer(harness)
    assert report is not None
    assert "**Spent today by the whole bot** (UTC, uploads and follow-ups): 2 of 300 credits" in report


def in_guild_through_own_install(payload: dict[str, Any]) -> dict[str, Any]:
    """The same interaction in a server that did not add the bot: only the member's own install."""
    payload["authorizing_integration_owners"] = {"1": str(USER_ID)}
    return payload


@pytest.mark.parametrize(
    ("settings", "make", "expected"),
    [
        ({"allowed_guilds": frozenset({GUILD_ID + 1})}, lambda: payloads.upload(url=LINK),
         "isn't available in this server"),
        ({"allow_user_installs": False}, lambda: payloads.upload(url=LINK, guild=False),
         "works only in servers that added it"),
        ({"allow_user_installs": False}, lambda: in_guild_through_own_install(payloads.upload(url=LINK)),
         "works only in servers that added it"),
    ],
)  # fmt: skip
async def test_where_the_bot_does_not_work_it_says_so_once_and_sends_nothing(
    harness: Harness, settings: dict[str, Any], make: Any, expected: str
) -> None:
    async with harness.running(**settings):
        payload = await harness.interact(make())
        call = await harness.callback_of(payload)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & EPHEMERAL
    assert expected in call.json["data"]["content"]
    assert harness.musicapi.uploads == []
    assert harness.discord.sent("PATCH", f"/webhooks/{payload['application_id']}/{payload['token']}") == []


@pytest.mark.parametrize(
    ("settings", "make"),
    [
        ({"allowed_guilds": frozenset({GUILD_ID})}, lambda: payloads.upload(url=LINK)),
        ({"allow_user_installs": False}, lambda: payloads.upload(url=LINK)),
        ({}, lambda: payloads.upload(url=LINK, guild=False)),
        ({}, lambda: in_guild_through_own_install(payloads.upload(url=LINK))),
    ],
)
async def test_where_the_bot_works_it_uploads(harness: Harness, settings: dict[str, Any], make: Any) -> None:
    async with harness.running(**settings):
        text = await harness.answer(await harness.interact(make()))
    assert "clip_id" in text and len(harness.musicapi.uploads) == 1


async def test_follow_up_buttons_are_refused_outside_the_allowed_servers(harness: Harness) -> None:
    async with harness.running(**FAST):
        components = await upload_clip(harness)
    async with harness.running(**FAST, allowed_guilds=frozenset({GUILD_ID + 1})):
        _, call = await press(harness, buttons_of(components)[0]["custom_id"], components)
    assert call.json["type"] == 4 and "isn't available in this server" in call.json["data"]["content"]
    assert harness.musicapi.creates == []


async def test_uploads_that_cost_nothing_are_not_counted(harness: Harness) -> None:
    async with harness.running(total_daily_credits=1, upload_credits=0, max_uploads_per_user=10) as app:
        texts = [await harness.answer(await harness.interact(payloads.upload(url=LINK))) for _ in range(2)]
        spent = await app.follow_ups.ceiling.today()  # type: ignore[union-attr]
    assert all("clip_id" in text for text in texts) and spent == 0


async def test_without_user_installs_every_command_is_registered_for_servers_only(harness: Harness) -> None:
    async with harness.running(allow_user_installs=False):
        (sync,) = await harness.discord.wait_for("PUT", f"/applications/{APP_ID}/commands")
    assert sync.json and all(c["integration_types"] == [0] and c["contexts"] == [0] for c in sync.json)


async def test_with_user_installs_the_commands_keep_their_places(harness: Harness) -> None:
    async with harness.running():
        (sync,) = await harness.discord.wait_for("PUT", f"/applications/{APP_ID}/commands")
    by_name = {c["name"]: c for c in sync.json}
    assert by_name["upload"]["integration_types"] == [0, 1] and by_name["upload"]["contexts"] == [0, 1, 2]


async def test_each_operation_reserves_its_own_price_against_the_ceiling(harness: Harness) -> None:
    """Upload (2), Extend (15), then WAV at its own price (2) fills the ceiling exactly; BPM (1) would
    pass it, so it is refused and MusicAPI is not asked. Reserving a flat create price for every
    operation would refuse the WAV already."""
    from tests.cogs.test_follow_up_catalog import choose, song_result

    async with harness.running(**FAST, total_daily_credits=2 + CREATE_COST + 2, upload_credits=2) as app:
        songs, _ = await song_result(harness)
        wav = await choose(harness, songs, "WAV 1")
        wav_text = await result(harness, wav, "💾")
        bpm = await choose(harness, songs, "BPM 1")
        refusal = await _any_answer(harness, bpm)
        spent = await app.follow_ups.ceiling.today()  # type: ignore[union-attr]
    assert "MusicAPI credits used: 2" in wav_text
    assert CEILING_TEXT in refusal
    assert [name for name, _ in harness.musicapi.sonic_calls] == ["wav"]
    assert spent == 2 + CREATE_COST + 2


async def _any_answer(harness: Harness, payload: dict[str, Any]) -> str:
    """What the member was told: the interaction's own response, or the follow-up after a defer."""
    (callback,) = await harness.discord.wait_for("POST", f"/interactions/{payload['id']}/")
    if callback.json["type"] == 4:
        return str(callback.json["data"]["content"])
    return await _first_answer(harness, payload)


async def test_an_upload_past_the_ceiling_is_refused_without_waiting_for_a_turn(harness: Harness) -> None:
    """The ceiling is checked before the line: with the one slot at MusicAPI busy, the upload that would
    pass the ceiling is refused while the first is still at MusicAPI, not once its turn comes."""
    harness.musicapi.delay = 2.0
    async with harness.running(
        total_daily_credits=2,
        upload_credits=2,
        musicapi_concurrency=1,
        upload_timeout=60.0,
        musicapi_timeout=10.0,
    ):
        first = await harness.interact(payloads.upload(url=LINK, user_id=USER_ID + 1))
        await harness.musicapi.wait_for_uploads(1)
        second = await harness.interact(payloads.upload(url=LINK, user_id=USER_ID + 2))
        refused = await harness.answer(second)
        first_done = [
            c
            for c in harness.discord.sent("PATCH", f"/webhooks/{APP_ID}/{first['token']}")
            if "clip_id" in str(c.json)
        ]
        assert "clip_id" in await harness.answer(first)
    assert CEILING_TEXT in refused
    assert first_done == [], "the refusal came while the first upload was still at MusicAPI"
    assert len(harness.musicapi.uploads) == 1


@pytest.mark.parametrize(
    ("answer", "counted"),
    [
        (Answer(500, {"code": 500, "message": "Internal Server Error."}), CREATE_COST),
        (Answer(200, text="<html><body>upstream hiccup</body></html>"), CREATE_COST),
        (Answer(400, {"code": 400, "message": "tags contain a forbidden artist name."}), 0),
    ],
    ids=["server-error", "unreadable-answer", "refused"],
)
async def test_a_follow_up_that_may_have_been_carried_out_keeps_its_credits_counted(
    harness: Harness, store_url: str, answer: Answer, counted: int
) -> None:
    """A create that reached MusicAPI and came back with a 500, or with an answer the bot cannot read,
    may have been carried out and charged: its credits stay counted against the day's ceiling (as
    /credits shows it) and the server's budget. One MusicAPI refused costs nothing, and counts nothing."""
    harness.musicapi.create_answers.append(answer)
    async with harness.running(
        **FAST, database_url=store_url, total_daily_credits=300, upload_credits=2, guild_daily_credits=150
    ) as app:
        submit = await extend_from_upload(harness)
        note = await _first_answer(harness, submit)
        _, report = await credits_answer(harness)
        spent = await app.follow_ups.store.spent(GUILD_ID, budget_day(time.time()))
    assert ("Nothing was spent" in note) == (counted == 0)
    assert report is not None
    assert f"(UTC, uploads and follow-ups): {2 + counted} of 300 credits" in report
    assert spent == counted
    assert len(harness.musicapi.creates) == 1  # never sent again
