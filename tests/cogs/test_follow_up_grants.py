"""Follow-ups on someone else's clip: "Extend or cover" on a result, a command for server admins until
they give it to others in Integrations, hands the member who uses it buttons of their own."""

from __future__ import annotations

import time
from typing import Any

import discord

from tests.cogs.test_follow_ups import (
    EPHEMERAL,
    FAST,
    MODAL,
    OTHER,
    UPLOAD_MENU,
    buttons_of,
    press,
    result,
    upload_clip,
)
from tests.fakes import payloads
from tests.fakes.discord_api import bot_user, message
from tests.harness import Harness

MENU = "Extend or cover"


def result_message(components: list[dict[str, Any]]) -> dict[str, Any]:
    """The bot's answer with its Extend and Cover buttons, as a context menu's target resolves it."""
    return message({"content": "✅ demo.mp3 · clip_id: `x`"}, author=bot_user(), components=components)


async def granted_buttons(harness: Harness, target: dict[str, Any], user_id: int = OTHER) -> dict[str, Any]:
    used = await harness.interact(payloads.message_menu(target, name=MENU, user_id=user_id))
    answer = (await harness.callback_of(used)).json
    assert answer["type"] == 4 and answer["data"]["flags"] & EPHEMERAL
    return dict(answer["data"])


async def test_extend_or_cover_is_for_server_admins_until_they_give_it_to_others(harness: Harness) -> None:
    async with harness.running(**FAST):
        pass
    (menu,) = [c for c in harness.discord.commands["global"] if c["name"] == MENU]
    assert menu["type"] == 3
    assert int(menu["default_member_permissions"]) == discord.Permissions(manage_guild=True).value
    assert menu["contexts"] == [0] and menu["integration_types"] == [0]


async def test_a_member_allowed_to_use_it_follows_up_on_someone_elses_clip(harness: Harness) -> None:
    async with harness.running(**FAST):
        components = await upload_clip(harness)  # the uploader's clip
        offered = await granted_buttons(harness, result_message(components))
        assert "your server's admins allow it" in offered["content"]
        granted = buttons_of(offered["components"])
        assert [b["label"] for b in granted] == [op for op in UPLOAD_MENU if op != "Mashup"], (
            "Mashup pairs the clip with one of the member's own: not handed out"
        )
        assert all(b["custom_id"].startswith("followup-grant:") for b in granted)
        _, call = await press(harness, granted[1]["custom_id"], offered["components"], user_id=OTHER)
        assert call.json["type"] == MODAL
        modal = call.json["data"]
        submit = await harness.interact(payloads.modal_submit(modal, {1: "bossa nova"}, user_id=OTHER))
        text = await result(harness, submit)
    (body,) = harness.musicapi.creates
    assert body["task_type"] == "cover_upload_music" and body["tags"] == "bossa nova"
    assert "covered: 2 new songs" in text


async def test_a_grant_can_be_neither_passed_on_nor_made_up(harness: Harness) -> None:
    async with harness.running(**FAST):
        components = await upload_clip(harness)
        offered = await granted_buttons(harness, result_message(components))
        extend = buttons_of(offered["components"])[0]["custom_id"]
        forged = extend[:-4] + ("0000" if not extend.endswith("0000") else "1111")
        third = OTHER + 1
        answers = [
            (await press(harness, extend, offered["components"], user_id=third))[1],  # passed on
            (await press(harness, forged, [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Extend",
                                                                         "custom_id": forged}]}], user_id=OTHER))[1],
        ]  # fmt: skip
        _, own = await press(harness, extend, offered["components"], user_id=OTHER)
        modal = own.json["data"]
        passed_form = await harness.interact(payloads.modal_submit(modal, {1: "x"}, user_id=third))
        passed_answer = await harness.callback_of(passed_form)
    for answer in [*answers, passed_answer]:
        assert answer.json["type"] == 4 and answer.json["data"]["flags"] & EPHEMERAL
        assert "Only the member who made this clip" in answer.json["data"]["content"]
    assert own.json["type"] == MODAL
    assert harness.musicapi.creates == []


async def test_a_message_without_clips_says_so(harness: Harness) -> None:
    async with harness.running(**FAST):
        someone = payloads.message_object([payloads.attachment()])
        offered = await granted_buttons(harness, someone)
        bots_other = await granted_buttons(harness, message({"content": "hello"}, author=bot_user()))
    for answer in (offered, bots_other):
        assert "no clip to follow up on" in answer["content"] and not answer.get("components")


async def test_a_form_opened_while_the_grant_held_may_be_sent_after_it_ran_out(harness: Harness) -> None:
    """The member was typing lyrics: the grant ran out meanwhile (15 minutes), and what they typed counts."""
    async with harness.running(**FAST) as app:
        components = await upload_clip(harness)
        offered = await granted_buttons(harness, result_message(components))
        cover = buttons_of(offered["components"])[1]["custom_id"]
        _, call = await press(harness, cover, offered["components"], user_id=OTHER)
        assert call.json["type"] == MODAL
        app.bot.follow_ups.grants._clock = lambda: time.time() + 16 * 60
        submit = await harness.interact(payloads.modal_submit(call.json["data"], {1: "jazz"}, user_id=OTHER))
        text = await result(harness, submit)
    (body,) = harness.musicapi.creates
    assert body["tags"] == "jazz" and "covered" in text


async def test_a_granted_button_pressed_after_the_grant_ran_out_says_so(harness: Harness) -> None:
    async with harness.running(**FAST) as app:
        components = await upload_clip(harness)
        offered = await granted_buttons(harness, result_message(components))
        cover = buttons_of(offered["components"])[1]["custom_id"]
        app.bot.follow_ups.grants._clock = lambda: time.time() + 16 * 60
        _, call = await press(harness, cover, offered["components"], user_id=OTHER)
    assert call.json["data"]["flags"] & EPHEMERAL
    text = call.json["data"]["content"]
    assert "has run out" in text and "Extend or cover" in text
    assert "Only the member who made this clip" not in text
    assert harness.musicapi.creates == []
