"""One interaction delivered twice (a gateway resume, a shard handover): it is carried out once, and its
member gets one answer. Through the real stack, on one instance (two instances: tests/bot/test_instances.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.cogs.test_follow_ups import FAST, buttons_of, open_modal, result, upload_clip
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, USER_ID
from tests.harness import Harness

LINK = "https://files.example.com/take.mp3"
CALM = 1.0  # room for a second answer, were one coming


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The settings of the store, once for each backend: the interaction's record is the key on both."""
    if request.param == "sqlite":
        return {}
    return {"database_url": request.getfixturevalue("postgres_url")}


def responses(harness: Harness, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Every initial response the bot sent for `payload` (Discord took the first, refused the rest)."""
    return [c.json for c in harness.discord.sent("POST", f"/interactions/{payload['id']}/")]


def messages_after(harness: Harness, payload: dict[str, Any]) -> list[str]:
    """What the bot sent on the interaction's token besides the original's edits: follow-up messages
    and deletions. A second delivery must send none."""
    token_path = f"/webhooks/{APP_ID}/{payload['token']}"
    return [
        f"{c.method} {c.path}"
        for c in harness.discord.calls
        if c.path.startswith(token_path) and not (c.method == "PATCH" and c.path.endswith("/@original"))
    ]


def final_edits(harness: Harness, payload: dict[str, Any], marker: str) -> int:
    path = f"/webhooks/{APP_ID}/{payload['token']}/messages/@original"
    return sum(
        1
        for c in harness.discord.calls
        if c.method == "PATCH" and c.path == path and marker in str((c.json or {}).get("content", ""))
    )


async def test_a_slash_command_delivered_twice_uploads_once_and_answers_once(
    harness: Harness, store: dict[str, Any]
) -> None:
    harness.musicapi.delay = 0.3
    async with harness.running(**store):
        payload = await harness.interact(payloads.upload(url=LINK))
        await harness.interact(payload)  # the same INTERACTION_CREATE again
        await harness.discord.wait_for(
            "PATCH", f"/webhooks/{APP_ID}/{payload['token']}", where=lambda c: "clip_id" in str(c.json)
        )
        await asyncio.sleep(CALM)
    assert len(harness.musicapi.uploads) == 1
    assert [r["type"] for r in responses(harness, payload)] == [5, 5]  # the second was refused (40060)
    assert final_edits(harness, payload, "clip_id") == 1
    assert messages_after(harness, payload) == []


async def test_a_redelivery_after_the_answer_starts_nothing(harness: Harness) -> None:
    async with harness.running() as app:
        payload = await harness.interact(payloads.upload(url=LINK))
        await harness.answer(payload)
        await harness.interact(payload)
        await asyncio.sleep(CALM)
        recorded = await app.store.by_interaction(int(payload["id"]))
    assert len(harness.musicapi.uploads) == 1
    assert len(recorded) == 1
    assert final_edits(harness, payload, "clip_id") == 1
    assert messages_after(harness, payload) == []


async def test_a_message_command_delivered_twice_uploads_each_file_once(harness: Harness) -> None:
    files = [payloads.attachment(f"stem-{n}.wav", "audio/wav") for n in range(2)]
    harness.musicapi.delay = 0.3
    async with harness.running(max_uploads_per_user=10):  # the member's limit would not stop a second run
        payload = await harness.interact(payloads.message_menu(payloads.message_object(files)))
        await harness.interact(payload)
        await harness.discord.wait_for(
            "PATCH",
            f"/webhooks/{APP_ID}/{payload['token']}",
            where=lambda c: str(c.json).count("clip_id") >= 2 or "stem-1.wav" in str(c.json),
        )
        await asyncio.sleep(CALM)
    assert sorted(u["url"].split("?")[0].rsplit("/", 1)[-1] for u in harness.musicapi.uploads) == [
        "stem-0.wav",
        "stem-1.wav",
    ]
    assert messages_after(harness, payload) == []


async def test_a_response_applied_despite_a_5xx_and_a_redelivery_at_once_still_upload_once(
    harness: Harness, store: dict[str, Any]
) -> None:
    """Both deliveries may believe the "thinking" is theirs (one's try got a 5xx that Discord applied);
    the store, where the interaction's uploads are recorded once, lets only one of them start."""
    payload = payloads.upload(url=LINK)
    harness.discord.applied_but_5xx.add(payload["id"])
    async with harness.running(**store) as app:
        await harness.interact(payload)
        await harness.interact(payload)
        await harness.discord.wait_for(
            "PATCH", f"/webhooks/{APP_ID}/{payload['token']}", where=lambda c: "clip_id" in str(c.json)
        )
        await asyncio.sleep(CALM + 1.5)  # discord.py's own retry of the 5xx'd response comes after 1 s
        recorded = await app.store.by_interaction(int(payload["id"]))
    assert len(harness.musicapi.uploads) == 1
    assert len(recorded) == 1
    assert final_edits(harness, payload, "clip_id") == 1
    assert messages_after(harness, payload) == []


async def test_a_button_press_delivered_twice_opens_one_form(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with harness.running(**FAST):
        components = await upload_clip(harness)
        extend = buttons_of(components)[0]["custom_id"]
        press = await harness.interact(payloads.button(extend, message_flags=0, components=components))
        await harness.interact(press)
        await harness.discord.wait_for("POST", f"/interactions/{press['id']}/", count=2)
        await asyncio.sleep(CALM)
    assert [r["type"] for r in responses(harness, press)] == [9, 9]  # one modal; Discord refused the second
    assert messages_after(harness, press) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # a redelivery is routine
    assert f"interaction {press['id']} was delivered again" in caplog.text


async def test_a_form_submit_delivered_twice_asks_musicapi_once(
    harness: Harness, store: dict[str, Any]
) -> None:
    async with harness.running(**FAST, **store):
        components = await upload_clip(harness)
        modal = await open_modal(harness, buttons_of(components)[0]["custom_id"], components)
        submit = await harness.interact(payloads.modal_submit(modal, {1: "[Verse]\nnew words", 2: "lo-fi"}))
        await harness.interact(submit)
        await result(harness, submit)
        await asyncio.sleep(CALM)
    assert len(harness.musicapi.creates) == 1
    assert final_edits(harness, submit, "🎶") == 1
    assert messages_after(harness, submit) == []


async def test_a_form_submit_applied_despite_a_5xx_and_delivered_again_asks_musicapi_once(
    harness: Harness, store: dict[str, Any]
) -> None:
    async with harness.running(**FAST, **store) as app:
        components = await upload_clip(harness)
        modal = await open_modal(harness, buttons_of(components)[0]["custom_id"], components)
        submit = payloads.modal_submit(modal, {1: "[Verse]\nnew words", 2: "lo-fi"})
        harness.discord.applied_but_5xx.add(submit["id"])
        await harness.interact(submit)
        await harness.interact(submit)
        await result(harness, submit)
        await asyncio.sleep(CALM + 1.5)
        spent_today = await app.follow_ups.ceiling.today()  # type: ignore[union-attr]
    assert len(harness.musicapi.creates) == 1
    # The second delivery's reservation against the day's ceiling was given back: one upload, one extend.
    assert spent_today == 2 + 15
    assert final_edits(harness, submit, "🎶") == 1
    assert messages_after(harness, submit) == []


async def test_a_redelivery_after_a_response_applied_despite_a_5xx_takes_back_nothing(
    harness: Harness,
) -> None:
    """The first delivery's "thinking" landed despite a 5xx, and it answered (here: the linked message
    cannot be read, so "thinking" gave way to a note only the member sees). Delivered again later, the
    interaction is not mistaken for that retry: nothing is deleted or sent a second time."""
    link = "https://discord.com/channels/800000000000000001/700000000000000009/700000000000000123"
    payload = payloads.upload(url=link)
    harness.discord.applied_but_5xx.add(payload["id"])
    token_path = f"/webhooks/{APP_ID}/{payload['token']}"
    async with harness.running():
        await harness.interact(payload)
        await harness.discord.wait_for("POST", token_path, timeout=15)  # the note, once the retry said 40060
        first = messages_after(harness, payload)
        await harness.interact(payload)
        await asyncio.sleep(CALM)
    assert first == [f"DELETE {token_path}/messages/@original", f"POST {token_path}"]
    assert messages_after(harness, payload) == first


async def test_a_history_page_pressed_once_but_delivered_twice_is_shown_once(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async with harness.running():
        press = await harness.interact(payloads.button(f"uploads:{USER_ID}:0"))
        await harness.interact(press)
        await harness.discord.wait_for("POST", f"/interactions/{press['id']}/", count=2)
        await asyncio.sleep(CALM)
    assert [r["type"] for r in responses(harness, press)] == [7, 7]  # Discord took the first only
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
