"""Many uploads at once: the bot's line in front of MusicAPI, through the real discord.py stack."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot import composition
from bot.domain import queue as queue_module
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, USER_ID
from tests.fakes.musicapi import Answer
from tests.harness import Harness

CLIP = re.compile(r"`([0-9a-f-]{36})`")
EPHEMERAL = 64


def link(n: int) -> str:
    return f"https://files.example.com/take-{n}.mp3"


def contents(harness: Harness, payload: dict) -> list[str]:
    """Every edit of `payload`'s answer, in order."""
    path = f"/webhooks/{APP_ID}/{payload['token']}/messages/@original"
    return [str(c.json["content"]) for c in harness.discord.calls if c.method == "PATCH" and c.path == path]


async def final_answer(harness: Harness, payload: dict, timeout: float = 15.0) -> str:
    """The answer once it no longer shows a place in line."""

    def answered() -> bool:
        shown = contents(harness, payload)
        return bool(shown) and "in line" not in shown[-1] and "Warteschlange" not in shown[-1]

    async with asyncio.timeout(timeout), harness.discord.new_call:
        await harness.discord.new_call.wait_for(answered)
    return contents(harness, payload)[-1]


@pytest.fixture(autouse=True)
def quick_musicapi(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake MusicAPI answers within a second here: the line assumes so until it has measured it
    (against the real one it assumes 20 s, longer than these tests' UPLOAD_TIMEOUT)."""
    monkeypatch.setattr(composition, "TYPICAL_SYNC_UPLOAD", 0.5)


@pytest.fixture
def quick_places(monkeypatch: pytest.MonkeyPatch) -> None:
    """Places in line are looked at and shown often enough for a test to see them move."""
    monkeypatch.setattr(queue_module, "TICK", 0.05)
    monkeypatch.setattr(queue_module, "PLACE_EVERY", 0.2)


async def test_a_burst_several_times_the_concurrency_gives_every_member_their_own_clip_id(
    harness: Harness,
) -> None:
    harness.musicapi.delay = 0.3
    async with harness.running(musicapi_concurrency=2, max_queue=50):
        sent = [await harness.interact(payloads.upload(url=link(n), user_id=USER_ID + n)) for n in range(8)]
        answers = [await final_answer(harness, p) for p in sent]
    clips = [CLIP.search(a) for a in answers]
    assert all(clips), answers
    assert len({c[1] for c in clips if c}) == 8
    for n, answer in enumerate(answers):
        assert f"take-{n}.mp3" in answer  # each member's answer names their own file
    assert harness.musicapi.most_busy == 2
    assert len(harness.musicapi.uploads) == 8


async def test_a_waiting_upload_shows_its_place_and_it_moves_up(harness: Harness, quick_places: None) -> None:
    harness.musicapi.delay = 0.8
    async with harness.running(musicapi_concurrency=1):
        sent = [await harness.interact(payloads.upload(url=link(n), user_id=USER_ID + n)) for n in range(3)]
        last = await final_answer(harness, sent[2])
    shown = contents(harness, sent[2])
    places = [int(m[1]) for text in shown if (m := re.search(r"You're #(\d+) in line", text))]
    assert places[:2] == [2, 1], shown  # second behind the one in flight, then next
    assert "less than a minute" in shown[0] or "about" in shown[0]
    assert CLIP.search(last) and "take-2.mp3" in last
    assert contents(harness, sent[0]) and "in line" not in contents(harness, sent[0])[0]  # never waited


async def test_places_are_shown_in_the_members_language(harness: Harness, quick_places: None) -> None:
    harness.musicapi.delay = 0.6
    async with harness.running(musicapi_concurrency=1):
        await harness.interact(payloads.upload(url=link(0), user_id=USER_ID + 1))
        waiting = await harness.interact(payloads.upload(url=link(1), user_id=USER_ID + 2, locale="de"))
        await final_answer(harness, waiting)
    first = contents(harness, waiting)[0]
    assert "Warteschlange" in first and "Nr. 1" in first


async def test_past_the_memory_bound_a_new_upload_is_refused_at_once_and_nothing_is_sent(
    harness: Harness,
) -> None:
    harness.musicapi.delay = 1.0
    async with harness.running(musicapi_concurrency=1, max_queue=1):
        first = await harness.interact(payloads.upload(url=link(0), user_id=USER_ID + 1))
        second = await harness.interact(payloads.upload(url=link(1), user_id=USER_ID + 2))
        await harness.musicapi.wait_for_uploads(1)
        third = await harness.interact(payloads.upload(url=link(2), user_id=USER_ID + 3))
        refusal = await harness.callback_of(third)
        await final_answer(harness, first)
        await final_answer(harness, second)
    assert refusal.json["type"] == 4  # a message at once, no "thinking"
    assert refusal.json["data"]["flags"] & EPHEMERAL
    assert "line for MusicAPI is too long" in refusal.json["data"]["content"]
    assert "it is full, and this bot keeps at most 1 waiting" in refusal.json["data"]["content"]
    assert link(2) not in [u["url"] for u in harness.musicapi.uploads]
    assert len(harness.musicapi.uploads) == 2


async def test_one_message_of_many_files_does_not_hold_the_server_behind_it(harness: Harness) -> None:
    harness.musicapi.delay = 0.3
    files = [payloads.attachment(f"stem-{n}.wav", "audio/wav") for n in range(4)]
    async with harness.running(musicapi_concurrency=1, max_message_attachments=5):
        many = await harness.interact(
            payloads.message_menu(payloads.message_object(files), user_id=USER_ID + 1)
        )
        await harness.musicapi.wait_for_uploads(1)
        other = await harness.interact(payloads.upload(url=link(9), user_id=USER_ID + 2))
        await final_answer(harness, other)
        await final_answer(harness, many)
    order = [u["url"] for u in harness.musicapi.uploads]
    assert order.index(link(9)) == 1  # right after the file that was already at MusicAPI
    assert len(order) == 5


async def test_time_in_line_does_not_count_against_musicapis_time_limit(harness: Harness) -> None:
    """Each request takes 0.6 s of its 1 s limit; the last one waits 1.2 s in line and still succeeds."""
    harness.musicapi.delay = 0.6
    async with harness.running(musicapi_concurrency=1, musicapi_timeout=1.0, upload_timeout=10.0):
        sent = [await harness.interact(payloads.upload(url=link(n), user_id=USER_ID + n)) for n in range(3)]
        answers = [await final_answer(harness, p) for p in sent]
    assert all(CLIP.search(a) for a in answers), answers


async def test_an_upload_that_waits_too_long_in_line_blames_the_line_not_musicapi(harness: Harness) -> None:
    """Admitted at the pace MusicAPI had, the second upload waits behind a request that turns out far
    slower: once its own request would no longer fit in UPLOAD_TIMEOUT, it ends without being sent."""
    harness.musicapi.script(Answer(200, {"code": 200, "clip_id": "first-clip"}, delay=3.0))
    async with harness.running(musicapi_concurrency=1, musicapi_timeout=2.5, upload_timeout=2.5):
        first = await harness.interact(payloads.upload(url=link(0), user_id=USER_ID + 1))
        await harness.musicapi.wait_for_uploads(1)
        second = await harness.interact(payloads.upload(url=link(1), user_id=USER_ID + 2))
        late = await final_answer(harness, second)
        await final_answer(harness, first)
    assert "line is very long" in late and "Nothing was sent to MusicAPI" in late
    assert "MusicAPI is having trouble" not in late
    assert [u["url"] for u in harness.musicapi.uploads] == [link(0)]


async def test_a_thinking_response_discord_applied_despite_a_5xx_does_not_drop_the_upload(
    harness: Harness,
) -> None:
    payload = payloads.upload(url=link(0))
    harness.discord.applied_but_5xx.add(payload["id"])
    async with harness.running():
        await harness.interact(payload)
        answer = await final_answer(harness, payload)
    callbacks = harness.discord.sent("POST", f"/interactions/{payload['id']}/")
    assert len(callbacks) == 2  # discord.py tried again; Discord said "already acknowledged"
    assert CLIP.search(answer) and "take-0.mp3" in answer
    assert len(harness.musicapi.uploads) == 1
