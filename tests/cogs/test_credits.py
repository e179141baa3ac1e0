"""The owner's side of follow-ups: `/credits` (owner or team members only) and the low-credits alert."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.cogs.test_follow_ups import FAST, buttons_of, extend_from_upload, open_modal, result, upload_clip
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, CHANNEL_ID, GUILD_ID, USER_ID, Call, team_of
from tests.fakes.musicapi import CREATE_COST, Answer
from tests.harness import Harness

OTHER = USER_ID + 9
EPHEMERAL = 64


async def credits_answer(harness: Harness, user_id: int = USER_ID) -> tuple[Call, str | None]:
    """Run /credits; the interaction response, and the report when one came."""
    payload = await harness.interact(payloads.slash("credits", user_id=user_id))
    call = await harness.callback_of(payload)
    if call.json["type"] != 5:
        return call, None
    return call, await harness.answer(payload)


async def test_the_owner_sees_credits_left_and_spend_per_server_today(harness: Harness) -> None:
    harness.discord.guilds[GUILD_ID] = {"id": str(GUILD_ID), "name": "Studio **A**", "roles": []}
    async with harness.running(**FAST, guild_daily_credits=150, low_credits_alert=50):
        await result(harness, await extend_from_upload(harness))
        dm = await harness.interact(payloads.upload(url="https://files.example.com/dm.mp3", guild=False))
        components = (await harness.edits_of(dm))[0].json["components"]
        modal = await open_modal(harness, buttons_of(components)[1]["custom_id"], components, guild=False)
        await result(
            harness, await harness.interact(payloads.modal_submit(modal, {1: "ambient"}, guild=False))
        )
        call, report = await credits_answer(harness)
    assert call.json["data"]["flags"] & EPHEMERAL
    assert report is not None
    assert f"**MusicAPI credits left:** {1000 - 2 * CREATE_COST}" in report
    assert "alert below 50" in report and "budget 150 per server" in report
    assert f"• Studio \\*\\*A\\*\\*: {CREATE_COST} credits" in report
    assert f"• outside servers: {CREATE_COST} credits" in report


async def test_a_server_that_spent_one_credit_today_reads_one_credit(harness: Harness) -> None:
    harness.discord.guilds[GUILD_ID] = {"id": str(GUILD_ID), "name": "Studio", "roles": []}
    async with harness.running(**FAST, extend_credits=1):
        await result(harness, await extend_from_upload(harness))
        _, report = await credits_answer(harness)
    assert report is not None and "• Studio: 1 credit\n" in report + "\n", report


async def test_someone_else_is_told_it_is_for_the_owner(harness: Harness) -> None:
    async with harness.running(**FAST):
        at_startup = harness.musicapi.credit_checks
        call, report = await credits_answer(harness, user_id=OTHER)
    assert report is None and call.json["type"] == 4 and call.json["data"]["flags"] & EPHEMERAL
    assert call.json["data"]["content"] == "Only the bot's owner can use this command."
    assert harness.musicapi.credit_checks == at_startup == 1  # only the startup check asked


async def test_team_members_count_as_owners(harness: Harness) -> None:
    harness.discord.owner_id = OTHER + 1
    harness.discord.team = team_of(OTHER + 1, USER_ID)
    async with harness.running(**FAST):
        _, member = await credits_answer(harness, user_id=USER_ID)
        refused, outsider = await credits_answer(harness, user_id=OTHER)
    assert member is not None and "nothing yet" in member
    assert outsider is None and "Only the bot's owner" in refused.json["data"]["content"]


async def test_credits_that_cannot_be_read_are_said_plainly(harness: Harness) -> None:
    harness.musicapi.credits_answers.extend([Answer(500, {"message": "boom"})] * 3)
    async with harness.running(**FAST):
        _, report = await credits_answer(harness)
    assert report is not None and "couldn't read MusicAPI's credits" in report
    assert "having trouble" in report and "Traceback" not in report and "boom" not in report


def dms_to(harness: Harness, user_id: int) -> list[Call]:
    """Low-credit DMs: a DM channel opened with `user_id`, and the warnings posted outside the server's channel."""
    opened = [
        c
        for c in harness.discord.sent("POST", "/users/@me/channels")
        if str(c.json["recipient_id"]) == str(user_id)
    ]
    posted = [
        c
        for c in harness.discord.sent("POST", "/channels/")
        if c.path != f"/channels/{CHANNEL_ID}/messages" and "⚠️" in str((c.json or {}).get("content"))
    ]
    assert len(opened) >= len(posted)
    return posted


async def test_low_credits_alert_the_owner_once_with_one_error_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    harness.musicapi.credits = 100
    async with harness.running(**FAST, low_credits_alert=80):
        components = await upload_clip(harness)
        extend = buttons_of(components)[0]["custom_id"]
        for _ in range(3):
            modal = await open_modal(harness, extend, components)
            await result(harness, await harness.interact(payloads.modal_submit(modal, {})))
        await asyncio.sleep(0.3)
    # 100 -> 85 (above the alert), 70 (below: alert), 55 (still below: nothing new).
    dms = dms_to(harness, USER_ID)
    assert len(dms) == 1
    assert "70 credits left" in dms[0].json["content"] and "alert at 80" in dms[0].json["content"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "credits are low" in errors[0].getMessage()
    assert "Traceback" not in caplog.text


async def test_the_alert_counts_one_credit_left_in_the_singular(harness: Harness) -> None:
    harness.musicapi.credits = 100
    async with harness.running(**FAST, low_credits_alert=80):
        harness.musicapi.credits = CREATE_COST + 1
        await result(harness, await extend_from_upload(harness))
        await asyncio.sleep(0.3)
    (dm,) = dms_to(harness, USER_ID)
    assert "Your MusicAPI account has 1 credit left, below your alert at 80." in dm.json["content"]
    assert "Each follow-up costs 1–30 credits." in dm.json["content"], "the range of prices, in the plural"


async def test_the_alert_survives_a_restart_and_is_raised_again_after_credits_recover(
    harness: Harness,
) -> None:
    harness.musicapi.credits = 50
    async with harness.running(**FAST, low_credits_alert=80):
        await result(harness, await extend_from_upload(harness))
        await asyncio.sleep(0.3)
    async with harness.running(**FAST, low_credits_alert=80):
        await result(harness, await extend_from_upload(harness))
        await asyncio.sleep(0.3)
        assert len(dms_to(harness, USER_ID)) == 1, "not told again after a restart"
        harness.musicapi.credits = 500
        await result(harness, await extend_from_upload(harness))
        await asyncio.sleep(0.3)
        harness.musicapi.credits = 40
        await result(harness, await extend_from_upload(harness))
        await asyncio.sleep(0.3)
    assert len(dms_to(harness, USER_ID)) == 2


async def test_out_of_credits_tells_the_member_and_the_owner(harness: Harness) -> None:
    harness.musicapi.credits = 10
    async with harness.running(**FAST, low_credits_alert=20):
        submit = await extend_from_upload(harness)
        (note,) = await harness.discord.wait_for("POST", f"/webhooks/{APP_ID}/{submit['token']}")
        await asyncio.sleep(0.3)
    assert "out of credits" in note.json["content"] and note.json["flags"] & EPHEMERAL
    assert len(dms_to(harness, USER_ID)) == 1


async def test_credits_is_hidden_from_members_in_servers(harness: Harness) -> None:
    async with harness.running(**FAST):
        (sync,) = await harness.discord.wait_for("PUT", f"/applications/{APP_ID}/commands")
    by_name = {command["name"]: command for command in sync.json}
    assert str(by_name["credits"]["default_member_permissions"]) == "0"  # admins only, until granted
    assert by_name["upload"]["default_member_permissions"] is None  # every member's
