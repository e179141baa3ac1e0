"""The line admits by time, through the real stack: a new upload is refused only when its expected wait,
at MusicAPI's measured pace, would leave its request less than UPLOAD_TIMEOUT allows."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, USER_ID
from tests.harness import Harness

CLIP = re.compile(r"`([0-9a-f-]{36})`")
EPHEMERAL = 64
MESSAGE = 4
# These bursts are about the line alone: TOTAL_DAILY_CREDITS=0 takes the daily spend ceiling out of them.
DEFERRED = 5


def link(n: int) -> str:
    return f"https://files.example.com/take-{n}.mp3"


class Clock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def clip_of(harness: Harness, payload: dict[str, Any], timeout: float = 60.0) -> str:
    (edit,) = await harness.discord.wait_for(
        "PATCH",
        f"/webhooks/{APP_ID}/{payload['token']}/messages/@original",
        where=lambda c: bool(CLIP.search(str(c.json.get("content")))),
        timeout=timeout,
    )
    match = CLIP.search(str(edit.json["content"]))
    assert match is not None
    return match[1]


async def test_a_burst_of_300_at_a_fast_pace_gives_every_member_their_clip_id(harness: Harness) -> None:
    """300 members at once, MUSICAPI_CONCURRENCY=20, MusicAPI answering in 1.5 s and UPLOAD_TIMEOUT 180,
    all scaled down tenfold (0.15 s, 18 s): the line serves them all in time, so it admits them all."""
    harness.musicapi.delay = 0.15
    async with harness.running(
        total_daily_credits=0, musicapi_concurrency=20, upload_timeout=18.0, musicapi_timeout=6.0
    ):
        warm = await harness.interact(payloads.upload(url=link(0)))
        await clip_of(harness, warm)  # the line has measured MusicAPI's pace
        sent = [
            await harness.interact(payloads.upload(url=link(n), user_id=USER_ID + n)) for n in range(1, 301)
        ]
        clips = [await clip_of(harness, p) for p in sent]
    assert len(set(clips)) == 300
    refused = [
        c for c in harness.discord.calls if c.method == "POST" and c.json and c.json.get("type") == MESSAGE
    ]
    assert refused == []
    assert len(harness.musicapi.uploads) == 301
    assert harness.musicapi.most_busy <= 20


async def test_members_past_what_upload_timeout_can_serve_are_refused_at_once_with_the_wait(
    harness: Harness,
) -> None:
    """MusicAPI takes 20 s a request (on a clock the test moves), UPLOAD_TIMEOUT is 180, 20 at once:
    20 go at once and 160 wait at most 160 s, so that their requests end by 180 s. The next members are
    refused at once, told they would have waited about 3 minutes, and nothing is sent for them."""
    clock = Clock()
    async with harness.running(
        total_daily_credits=0, musicapi_concurrency=20, upload_timeout=180.0, musicapi_timeout=60.0
    ) as app:
        app.uploads.queue.clock = clock
        harness.musicapi.delay = 0.2
        warm = await harness.interact(payloads.upload(url=link(0)))
        await harness.musicapi.wait_for_uploads(1)
        clock.now += 20.0  # that request took 20 s
        await clip_of(harness, warm)
        harness.musicapi.delay = 3600  # from now on MusicAPI is still working on each one
        sent = [
            await harness.interact(payloads.upload(url=link(n), user_id=USER_ID + n)) for n in range(1, 201)
        ]
        first_responses = [await harness.callback_of(p) for p in sent]
        await harness.musicapi.wait_for_uploads(21)
        await asyncio.sleep(0.5)  # room for a request that should not come
        waiting = app.uploads.queue.waiting
    kinds = [r.json["type"] for r in first_responses]
    assert kinds == [DEFERRED] * 180 + [MESSAGE] * 20
    for refusal in first_responses[180:]:
        assert refusal.json["data"]["flags"] & EPHEMERAL
        assert "would wait about 3 min for its turn" in refusal.json["data"]["content"]
    uploaded = {u["url"] for u in harness.musicapi.uploads}
    assert len(uploaded) == 21 and not uploaded & {link(n) for n in range(181, 201)}
    assert waiting == 160


async def test_a_thousand_uploads_at_a_hundred_a_second_all_reach_musicapi(harness: Harness) -> None:
    """1,000 uploads at about 100 a second, MusicAPI answering in 0.3 s with 20 at once (about 67 a
    second): the line grows for ten seconds, but every upload's wait stays far within UPLOAD_TIMEOUT, so
    every one reaches MusicAPI and gets its clip_id."""
    harness.musicapi.delay = 0.3
    async with harness.running(
        total_daily_credits=0, musicapi_concurrency=20, upload_timeout=180.0, musicapi_timeout=60.0
    ) as app:
        sent, most_waiting = [], 0
        for n in range(1000):
            sent.append(await harness.interact(payloads.upload(url=link(n), user_id=USER_ID + n)))
            await asyncio.sleep(0.01)
            most_waiting = max(most_waiting, app.uploads.queue.waiting)
        clips = [await clip_of(harness, p) for p in sent]
    assert len(set(clips)) == 1000
    assert len(harness.musicapi.uploads) == 1000
    refused = [
        c for c in harness.discord.calls if c.method == "POST" and c.json and c.json.get("type") == MESSAGE
    ]
    assert refused == []
    print(f"at most {most_waiting} uploads waited in line")  # shown with -s
    assert most_waiting > 0  # the line did hold uploads back
