"""Follow-ups in callback mode: MusicAPI's webhook to the follow-up's own URL settles it once; polling
only when no webhook comes; a recorded task is picked up after a kill -9."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
import time
from typing import Any

import aiohttp

from tests.bot.test_main import run_bot
from tests.bot.web.test_callbacks import signed
from tests.cogs.test_follow_ups import FAST, UPLOAD_MENU, buttons_of, extend_from_upload, open_modal, result
from tests.fakes import payloads
from tests.harness import Harness, free_port

SECRET = "whsec-follow-ups"


def callback_mode(port: int, **extra: Any) -> dict[str, Any]:
    # No poll before a minute: the webhook is what settles these.
    return {
        **FAST,
        "public_url": f"http://127.0.0.1:{port}",
        "web_port": port,
        "musicapi_poll_after": 60,
        **extra,
    }


async def post(url: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.post(url, data=data, headers=headers or {}) as resp:
        return resp.status, await resp.text()


async def started(harness: Harness, secret: str | None = None) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """A follow-up sent in callback mode: its submit payload, MusicAPI's task id and the create body."""
    submit = await extend_from_upload(harness, secret=secret)
    await result(harness, submit, "⏳")
    (task_id,) = harness.musicapi.generations
    return submit, task_id, harness.musicapi.generations[task_id]


async def test_the_webhook_brings_the_songs_without_polling(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port, musicapi_webhook_secret=SECRET)):
        submit, task_id, body = await started(harness, SECRET)
        assert body["webhook_url"].startswith(f"http://127.0.0.1:{port}/musicapi/webhook/")
        assert body["webhook_secret"] == SECRET
        status, _ = await harness.musicapi.send_webhook(task_id, harness.musicapi.finished(task_id))
        text = await result(harness, submit)
    assert status == 200
    assert "2 new songs" in text and f"`{task_id}-song-1`" in text
    assert harness.musicapi.polls == []


async def test_a_webhook_is_taken_once_by_its_delivery_id(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)):
        submit, task_id, _ = await started(harness)
        finished = harness.musicapi.finished(task_id)
        first = await harness.musicapi.send_webhook(task_id, finished, webhook_id="evt-1")
        again = await harness.musicapi.send_webhook(task_id, finished, webhook_id="evt-1")
        late = await harness.musicapi.send_webhook(task_id, finished, webhook_id="evt-2")
        await result(harness, submit)
        await asyncio.sleep(0.3)
        edits = harness.discord.sent("PATCH", f"/webhooks/{submit['application_id']}/{submit['token']}")
    assert first[0] == 200 and json.loads(again[1])["status"] == "duplicate" and late[0] == 410
    assert sum("🎶" in str(e.json.get("content")) for e in edits) == 1


async def test_forged_or_unsigned_webhooks_change_nothing(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port, musicapi_webhook_secret=SECRET)):
        submit, task_id, body = await started(harness, SECRET)
        url = body["webhook_url"]
        base, key = url.rsplit("/", 1)
        follow_up_id, _ = key.split(".")
        finished = harness.musicapi.finished(task_id)
        raw, headers = signed(finished, SECRET)
        guessed = await post(f"{base}/{follow_up_id}.not-the-token", raw, headers)
        unsigned = await harness.musicapi.send_webhook(task_id, finished, signed=False)
        wrong_key = await post(url, *signed(finished, "another-secret"))
        stale = await post(url, *signed(finished, SECRET, at=int(time.time()) - 3600))
        ts = str(int(time.time()))
        digest = hmac.new(SECRET.encode(), ts.encode() + b".[[[[", hashlib.sha256).hexdigest()
        garbage = await post(
            url, b"[[[[", {"X-Webhook-Timestamp": ts, "X-Webhook-Signature": f"sha256={digest}"}
        )
        await asyncio.sleep(0.3)
        assert "🎶" not in await result(harness, submit, "⏳")
        ok = await post(url, raw, headers)
        await result(harness, submit)
    assert guessed[0] == 404 and unsigned[0] == 401 and wrong_key[0] == 401 and stale[0] == 401
    assert garbage[0] == 400
    assert ok[0] == 200


async def test_a_failed_generation_by_webhook_is_explained_as_refunded(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)):
        submit, task_id, _ = await started(harness)
        status, _ = await harness.musicapi.send_webhook(
            task_id, harness.musicapi.failed(task_id, "Lyrics were flagged.")
        )
        text = await result(harness, submit, "refunds")
    assert status == 200
    assert "Lyrics were flagged" in text and "no credits were spent" in text


async def test_without_a_webhook_the_task_is_polled_after_poll_after(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port, musicapi_poll_after=0.2)):
        submit, _, _ = await started(harness)
        text = await result(harness, submit)
    assert "2 new songs" in text and harness.musicapi.polls


async def test_kill_9_then_restart_still_takes_the_webhook(harness: Harness) -> None:
    port = free_port()
    env = harness.env(
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        WEB_PORT=str(port),
        FOLLOW_UP_COOLDOWN="0",
        MUSICAPI_POLL_AFTER="60",
    )
    proc = await run_bot(env, harness.tmp_path, launcher=True)
    try:
        await asyncio.wait_for(harness.discord.identified.wait(), 20)
        await asyncio.sleep(0.3)
        payload = await harness.interact(payloads.upload(url="https://files.example.com/demo.mp3"))
        pending = (await harness.edits_of(payload))[0]
        assert "processing" in pending.json["content"]
        (upload_task,) = harness.musicapi.tasks
        clip = "c1a2b3c4-0000-4000-8000-00000000abcd"
        harness.musicapi.uploaded_clips.add(clip)
        status, _ = await harness.musicapi.send_callback(
            upload_task, {"code": 200, "task_id": upload_task, "clip_id": clip, "message": "success"}
        )
        assert status == 200
        edits = await harness.edits_of(payload, count=2)
        components = edits[-1].json["components"]
        modal = await open_modal(harness, buttons_of(components)[0]["custom_id"], components)
        submit = await harness.interact(payloads.modal_submit(modal, {2: "drum and bass"}))
        await result(harness, submit, "⏳")
        proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    (task_id,) = harness.musicapi.generations
    async with harness.running(public_url=f"http://127.0.0.1:{port}", web_port=port, musicapi_poll_after=60):
        status, _ = await harness.musicapi.send_webhook(task_id, harness.musicapi.finished(task_id))
        text = await result(harness, submit)
    assert status == 200 and "2 new songs" in text
    assert len(harness.musicapi.creates) == 1


async def test_an_upload_and_its_buttons_in_callback_mode(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)):
        payload = await harness.interact(payloads.upload(url="https://files.example.com/demo.mp3"))
        await harness.edits_of(payload)
        (task_id,) = harness.musicapi.tasks
        await harness.musicapi.send_callback(
            task_id, {"code": 200, "task_id": task_id, "clip_id": "clip-by-callback", "message": "success"}
        )
        edits = await harness.edits_of(payload, count=2)
    assert "`clip-by-callback`" in edits[-1].json["content"]
    assert [b["label"] for b in buttons_of(edits[-1].json["components"])] == UPLOAD_MENU
