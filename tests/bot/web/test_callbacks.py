"""Callback mode through the real stack: the fake MusicAPI posts to the bot's real web server."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import signal
import time
from typing import Any

import aiohttp
import pytest

from bot.domain.watcher import UNCONFIRMED_GRACE
from tests.bot.test_main import run_bot
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, CHANNEL_ID, USER_ID
from tests.fakes.musicapi import Answer, flat_callback, task_callback
from tests.harness import Harness, free_port

LINK = "https://files.example.com/take.mp3"
SECRET = "whsec-test-secret"


def callback_mode(port: int, **extra: Any) -> dict[str, Any]:
    return {"public_url": f"http://127.0.0.1:{port}", "web_port": port, **extra}


async def start_upload(harness: Harness, **kwargs: Any) -> tuple[dict[str, Any], str]:
    """Run /upload in callback mode; return the payload and MusicAPI's task id once the member sees 'processing'."""
    payload = await harness.interact(payloads.upload(url=LINK, **kwargs))
    pending = await harness.answer(payload)
    assert "processing" in pending and "take.mp3" in pending
    (task_id,) = harness.musicapi.tasks
    return payload, task_id


async def final_edit(harness: Harness, payload: dict[str, Any]) -> str:
    edits = await harness.edits_of(payload, count=2)
    return str(edits[-1].json["content"])


def callback_parts(harness: Harness, task_id: str) -> tuple[str, str, str, str]:
    """The callback URL the bot gave MusicAPI, its base, and the upload id and secret it carries."""
    real = harness.musicapi.tasks[task_id]["callback_url"]
    base, key = real.rsplit("/", 1)
    upload_id, secret = key.split(".")
    return real, base, upload_id, secret


def signed(body: dict[str, Any], secret: str = SECRET, at: int | None = None) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    ts = str(at if at is not None else int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return raw, {"X-Webhook-Timestamp": ts, "X-Webhook-Signature": f"sha256={sig}", "X-Webhook-Id": "evt-1"}


async def post(url: str, data: bytes, headers: dict[str, str] | None = None) -> int:
    async with aiohttp.ClientSession() as s, s.post(url, data=data, headers=headers or {}) as resp:
        return resp.status


@pytest.mark.parametrize("shape", [flat_callback, task_callback], ids=["flat", "task"])
async def test_callback_delivers_clip_id_in_both_shapes(harness: Harness, shape: Any) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)):
        payload, task_id = await start_upload(harness)
        sent = harness.musicapi.uploads[0]
        assert sent["url"] == LINK
        assert sent["callback_url"].startswith(f"http://127.0.0.1:{port}/musicapi/callback/")
        status, _ = await harness.musicapi.send_callback(task_id, shape(task_id, "clip-from-callback"))
        assert status == 200
        text = await final_edit(harness, payload)
    assert "`clip-from-callback`" in text and "take.mp3" in text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"code": 400, "message": "Audio duration must be at least 6 seconds."}, "at least 6 seconds"),
        ({"code": 200, "data": [{"clip_id": "", "state": "failed", "error": "File could not be decoded."}]},
         "could not be decoded"),
        ({"code": 500, "message": "internal"}, "couldn't process"),
    ],
    ids=["code-400", "state-failed", "code-500"],
)  # fmt: skip
async def test_failed_callback_tells_the_member_why(harness: Harness, body: dict, expected: str) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        payload, task_id = await start_upload(harness)
        status, _ = await harness.musicapi.send_callback(task_id, {**body, "task_id": task_id})
        assert status == 200
        text = await final_edit(harness, payload)
        (record,) = await app.store.by_interaction(int(payload["id"]))
    assert expected in text
    assert record.state == "failed"


async def test_forged_callbacks_are_refused_without_side_effects(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        payload, task_id = await start_upload(harness)
        real, base, upload_id, secret = callback_parts(harness, task_id)
        body = json.dumps(flat_callback(task_id, "forged-clip")).encode()
        forged = [
            f"{base}/{upload_id}.{'A' * len(secret)}",  # right id, wrong secret
            f"{base}/{int(upload_id) + 1}.{secret}",  # secret of one upload, id of another
            f"{base}/{upload_id}",  # no secret
            f"{base}/not-an-id.{secret}",
        ]
        statuses = [await post(url, body) for url in forged]
        async with aiohttp.ClientSession() as s, s.get(real) as resp:
            get_status = resp.status
        await asyncio.sleep(0.1)
        (record,) = await app.store.by_interaction(int(payload["id"]))
        edits = harness.discord.sent("PATCH", f"/webhooks/{APP_ID}/{payload['token']}")
    assert statuses == [404, 404, 404, 404]
    assert get_status == 405
    assert record.state == "pending" and record.clip_id is None
    assert len(edits) == 1  # only the "processing" answer


async def test_duplicate_callbacks_deliver_once(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)):
        payload, task_id = await start_upload(harness)
        body = task_callback(task_id, "clip-once")
        results = await asyncio.gather(*(harness.musicapi.send_callback(task_id, body) for _ in range(3)))
        later, _ = await harness.musicapi.send_callback(task_id, body)
        await final_edit(harness, payload)
        await asyncio.sleep(0.2)
        edits = harness.discord.sent("PATCH", f"/webhooks/{APP_ID}/{payload['token']}")
    assert sorted(status for status, _ in results) == [200, 410, 410]
    assert later == 410
    assert sum("clip-once" in e.json["content"] for e in edits) == 1


async def test_oversized_callback_is_refused(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        payload, task_id = await start_upload(harness)
        url = harness.musicapi.tasks[task_id]["callback_url"]
        body = json.dumps({**flat_callback(task_id, "big"), "padding": "x" * 200_000}).encode()
        status = await post(url, body, {"Content-Type": "application/json"})
        (record,) = await app.store.by_interaction(int(payload["id"]))
    assert status == 413
    assert record.state == "pending"


async def test_signed_callbacks_are_checked_when_a_secret_is_set(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port, musicapi_webhook_secret=SECRET)):
        payload, task_id = await start_upload(harness)
        url = harness.musicapi.tasks[task_id]["callback_url"]
        body = flat_callback(task_id, "signed-clip")
        raw, good = signed(body)
        _, wrong_secret = signed(body, secret="not-it")
        _, stale = signed(body, at=int(time.time()) - 3600)
        refused = [
            await post(url, raw),
            await post(url, raw, wrong_secret),
            await post(url, raw, stale),
            await post(url, raw + b" ", good),  # body changed after signing
        ]
        accepted = await post(url, raw, good)
        text = await final_edit(harness, payload)
    assert refused == [401, 401, 401, 401]
    assert accepted == 200
    assert "signed-clip" in text


async def test_expired_interaction_falls_back_to_a_channel_mention(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)):
        payload, task_id = await start_upload(harness)
        harness.expire_token(payload)
        await harness.musicapi.send_callback(task_id, flat_callback(task_id, "late-clip"))
        (post_call,) = await harness.discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    assert post_call.json["content"].startswith(f"<@{USER_ID}>")
    assert "`late-clip`" in post_call.json["content"]
    assert [str(u) for u in post_call.json["allowed_mentions"]["users"]] == [str(USER_ID)]


async def test_falls_back_to_a_dm_when_the_channel_refuses(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)):
        payload, task_id = await start_upload(harness)
        harness.expire_token(payload, 404)
        harness.discord.fail[("POST", f"/channels/{CHANNEL_ID}/messages")] = (
            403,
            {"message": "Missing Access", "code": 50001},
        )
        await harness.musicapi.send_callback(task_id, flat_callback(task_id, "dm-clip"))
        (dm_open,) = await harness.discord.wait_for("POST", "/users/@me/channels")
        messages = await harness.discord.wait_for(
            "POST", "/channels/", where=lambda c: c.path != f"/channels/{CHANNEL_ID}/messages"
        )
    assert dm_open.json == {"recipient_id": USER_ID} or dm_open.json == {"recipient_id": str(USER_ID)}
    assert "`dm-clip`" in messages[0].json["content"]


async def test_polling_finds_the_clip_when_no_callback_comes(harness: Harness) -> None:
    port = free_port()
    settings = callback_mode(port, musicapi_poll_after=0.3, musicapi_poll_interval=0.2)
    async with harness.running(**settings):
        payload, task_id = await start_upload(harness)
        harness.musicapi.task_answers[task_id] = __import__("collections").deque(
            [
                {"code": 200, "data": [{"clip_id": "", "state": "running"}]},
                {"code": 200, "data": [{"clip_id": "polled-clip", "state": "succeeded"}]},
            ]
        )
        text = await final_edit(harness, payload)
    assert "`polled-clip`" in text
    assert harness.musicapi.polls.count(task_id) >= 2


async def test_polling_gives_up_at_the_deadline(harness: Harness) -> None:
    port = free_port()
    settings = callback_mode(
        port, musicapi_poll_after=0.1, musicapi_poll_interval=0.1, musicapi_poll_deadline=0.6
    )
    async with harness.running(**settings):
        payload, _ = await start_upload(harness)
        text = await final_edit(harness, payload)
    assert "took too long" in text


async def test_healthz_reports_gateway_and_store(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)), aiohttp.ClientSession() as s:
        async with s.get(f"http://127.0.0.1:{port}/healthz") as resp:
            assert resp.status == 200
            assert await resp.json() == {"gateway": True, "store": True, "musicapi": "ok"}
        harness.discord.accepting = False  # the gateway goes away and refuses reconnects
        for ws in list(harness.discord.sockets):
            await ws.close()
        await asyncio.sleep(0.2)
        async with s.get(f"http://127.0.0.1:{port}/healthz") as resp:
            assert resp.status == 503
            assert await resp.json() == {"gateway": False, "store": True, "musicapi": "ok"}


async def test_healthz_fails_when_the_store_does_not_answer(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)) as app, aiohttp.ClientSession() as s:
        await app.store.close()
        async with s.get(f"http://127.0.0.1:{port}/healthz") as resp:
            assert resp.status == 503
            assert await resp.json() == {"gateway": True, "store": False, "musicapi": "ok"}


async def test_sync_mode_serves_healthz_but_takes_no_callbacks(harness: Harness) -> None:
    port = free_port()
    async with harness.running(web_port=port) as app, aiohttp.ClientSession() as s:
        payload = await harness.interact(payloads.upload(url=LINK))
        assert "clip_id" in await harness.answer(payload)
        (record,) = await app.store.by_interaction(int(payload["id"]))
        async with s.get(f"http://127.0.0.1:{port}/healthz") as resp:
            health = (resp.status, await resp.json())
        callback = f"http://127.0.0.1:{port}/musicapi/callback/{record.id}.secret"
        body = json.dumps(flat_callback("task-1", "forged-clip")).encode()
        async with s.post(callback, data=body) as resp:
            post_status = resp.status
        async with s.get(callback) as resp:
            get_status = resp.status
        (after,) = await app.store.by_interaction(int(payload["id"]))
    assert health == (200, {"gateway": True, "store": True, "musicapi": "ok"})
    assert post_status == 404
    assert get_status == 404  # no such route at all: in callback mode a GET here is 405
    assert record.state == "succeeded" and record.callback_token is None
    assert (after.state, after.clip_id) == ("succeeded", record.clip_id)
    assert "callback_url" not in harness.musicapi.uploads[0]


async def test_healthz_answers_in_sync_mode_when_run_as_python_m_bot(harness: Harness) -> None:
    port = free_port()
    proc = await run_bot(harness.env(WEB_PORT=str(port), PUBLIC_URL=""), harness.tmp_path, launcher=True)
    try:
        await asyncio.wait_for(harness.discord.identified.wait(), 20)
        async with aiohttp.ClientSession() as s:
            for _ in range(100):  # READY reaches the bot just after its IDENTIFY reached the fake
                async with s.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    health = (resp.status, await resp.json())
                if health[0] == 200:
                    break
                await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert health == (200, {"gateway": True, "store": True, "musicapi": "ok"})
    assert proc.returncode == 0
    assert f"web server listening on 127.0.0.1:{port} (/healthz)" in err.decode()


async def test_kill_9_then_restart_still_delivers_the_callback(harness: Harness) -> None:
    port = free_port()
    env = harness.env(PUBLIC_URL=f"http://127.0.0.1:{port}", WEB_PORT=str(port), WEB_HOST="127.0.0.1")
    proc = await run_bot(env, harness.tmp_path, launcher=True)
    try:
        await asyncio.wait_for(harness.discord.identified.wait(), 20)
        await asyncio.sleep(0.3)
        payload, task_id = await start_upload(harness)
        proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    async with harness.running(public_url=f"http://127.0.0.1:{port}", web_port=port):
        status, _ = await harness.musicapi.send_callback(task_id, task_callback(task_id, "survived-kill"))
        text = await final_edit(harness, payload)
    assert status == 200
    assert "`survived-kill`" in text


async def test_restart_tells_members_whose_sync_upload_was_cut_off(harness: Harness) -> None:
    harness.musicapi.delay = 30
    proc = await run_bot(harness.env(), harness.tmp_path, launcher=True)
    try:
        await asyncio.wait_for(harness.discord.identified.wait(), 20)
        await asyncio.sleep(0.3)
        payload = await harness.interact(payloads.upload(url=LINK))
        await harness.callback_of(payload)
        await harness.musicapi.wait_for_uploads()
        proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    async with harness.running():
        text = await harness.answer(payload)
    assert "restarting" in text


async def test_malformed_callbacks_get_4xx_not_500(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        payload, task_id = await start_upload(harness)
        real, base, upload_id, _ = callback_parts(harness, task_id)
        statuses = [
            await post(f"{base}/{upload_id}.%C3%A9", b"{}"),  # a non-ASCII secret
            await post(f"{base}/{'9' * 40}.x", b"{}"),  # an id no database holds
            await post(real, b"[1, 2, 3]"),  # JSON, but not an object
            await post(real, b"not json"),
        ]
        (record,) = await app.store.by_interaction(int(payload["id"]))
    assert statuses == [404, 404, 400, 400]
    assert record.state == "pending"


async def test_shutdown_in_callback_mode_keeps_uploads_musicapi_may_have_taken(harness: Harness) -> None:
    port = free_port()
    harness.musicapi.delay = 30  # MusicAPI has not answered the POST yet when the bot stops
    async with harness.running(**callback_mode(port)) as app:
        payload = await harness.interact(payloads.upload(url=LINK))
        await harness.callback_of(payload)
        await harness.musicapi.wait_for_uploads()
        app.uploads.stop()
        text = await harness.answer(payload)
        (record,) = await app.store.by_interaction(int(payload["id"]))
    assert "processing" in text
    assert record.state == "pending" and record.callback_token


async def test_busy_web_port_stops_with_a_clear_message(harness: Harness) -> None:
    port = free_port()
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
    try:
        env = harness.env(PUBLIC_URL=f"http://127.0.0.1:{port}", WEB_PORT=str(port), WEB_HOST="127.0.0.1")
        proc = await run_bot(env, harness.tmp_path, launcher=True)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        blocker.close()
        await blocker.wait_closed()
    text = err.decode()
    assert proc.returncode not in (0, None)
    assert f"WEB_PORT {port}" in text and "Traceback" not in text


async def test_answers_that_could_not_be_shown_are_tried_again(harness: Harness) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        payload, task_id = await start_upload(harness)
        original = ("PATCH", f"/webhooks/{APP_ID}/{payload['token']}")
        channel = ("POST", f"/channels/{CHANNEL_ID}/messages")
        dm = ("POST", "/users/@me/channels")
        refusals = {
            original: (404, {"message": "Unknown Webhook", "code": 10015}),
            channel: (403, {"message": "Missing Access", "code": 50001}),
            dm: (403, {"message": "Cannot send messages to this user", "code": 50007}),
        }
        harness.discord.fail.update(refusals)
        await harness.musicapi.send_callback(task_id, flat_callback(task_id, "retried-clip"))
        await harness.discord.wait_for(*dm)
        await asyncio.sleep(0.1)
        (record,) = await app.store.by_interaction(int(payload["id"]))
        assert record.state == "succeeded" and not record.delivered
        harness.discord.fail.clear()
        watcher = app.watcher
        assert watcher is not None
        watcher._clock = lambda: time.time() + 10_000  # the retry is due
        await watcher.redeliver()
        text = await final_edit(harness, payload)
        (record,) = await app.store.by_interaction(int(payload["id"]))
    assert "`retried-clip`" in text and record.delivered


async def test_an_upload_whose_answer_was_lost_is_not_sent_again_and_its_callback_still_settles_it(
    harness: Harness,
) -> None:
    """Callback mode: MusicAPI read the upload, then the connection dropped. The bot sends it once and
    keeps waiting; MusicAPI's callback to the upload's own address brings the clip_id."""
    harness.musicapi.script(Answer(drop=True))
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        payload = await harness.interact(payloads.upload(url=LINK))
        pending = await harness.answer(payload)
        assert "processing" in pending
        (sent,) = harness.musicapi.uploads
        (record,) = await app.store.by_interaction(int(payload["id"]))
        assert record.state == "pending" and record.task_id is None
        status = await post(
            sent["callback_url"], json.dumps(flat_callback("task-late", "clip-late")).encode()
        )
        assert status == 200
        text = await final_edit(harness, payload)
    assert "`clip-late`" in text
    assert len(harness.musicapi.uploads) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 32_000 + b"]" * 32_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"code": 400, "message": ' + b'{"message": [' * 4_000 + b"]}" * 4_000 + b"}",
    ],
    ids=["arrays", "objects", "mixed"],
)
async def test_deeply_nested_callback_gets_4xx_without_a_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    assert len(body) <= 64 * 1024
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        payload, task_id = await start_upload(harness)
        caplog.clear()
        caplog.set_level(logging.DEBUG)
        status = await post(harness.musicapi.tasks[task_id]["callback_url"], body)
        (record,) = await app.store.by_interaction(int(payload["id"]))
    assert 400 <= status < 500
    assert record.state == "pending"
    # The bot's and the web server's own records; asyncio's garbage-collection notes about other tasks
    # (aiohttp 3.10.0 sometimes leaves one from an earlier test) say nothing about this request.
    handled = [r for r in caplog.records if r.name.startswith(("bot", "aiohttp"))]
    assert not [r for r in handled if r.levelno >= logging.ERROR or r.exc_info]


async def leave_an_unconfirmed_upload(harness: Harness, port: int) -> tuple[dict[str, Any], str]:
    """A run that stops while MusicAPI has not answered the upload POST: the upload stays pending with a
    callback address but no task id. Returns the payload and the callback URL MusicAPI was given."""
    harness.musicapi.delay = 30
    async with harness.running(**callback_mode(port)) as app:
        payload = await harness.interact(payloads.upload(url=LINK))
        await harness.callback_of(payload)
        await harness.musicapi.wait_for_uploads()
        app.uploads.stop()
        assert "processing" in await harness.answer(payload)
        (record,) = await app.store.by_interaction(int(payload["id"]))
    assert record.state == "pending" and record.callback_token and record.task_id is None
    harness.musicapi.delay = 0
    return payload, harness.musicapi.uploads[0]["callback_url"]


async def test_restart_tells_the_member_when_an_upload_without_task_id_gets_no_callback(
    harness: Harness,
) -> None:
    port = free_port()
    payload, _ = await leave_an_unconfirmed_upload(harness, port)
    async with harness.running(**callback_mode(port)) as app:
        watcher = app.watcher
        assert watcher is not None
        await watcher.poll_once()
        (record,) = await app.store.by_interaction(int(payload["id"]))
        assert record.state == "pending"  # within the grace MusicAPI's callback may still come
        watcher._clock = lambda: time.time() + UNCONFIRMED_GRACE + 1  # the grace is over
        await watcher.poll_once()
        text = await final_edit(harness, payload)
        (record,) = await app.store.by_interaction(int(payload["id"]))
    assert "the bot restarted" in text and "couldn't confirm" in text and "files.example.com" in text
    assert record.state == "failed" and record.error_kind == "unconfirmed"


async def test_callback_within_the_grace_still_delivers_an_upload_without_task_id(harness: Harness) -> None:
    port = free_port()
    payload, callback_url = await leave_an_unconfirmed_upload(harness, port)
    async with harness.running(**callback_mode(port)) as app:
        status = await post(
            callback_url, json.dumps(flat_callback("task-late", "clip-after-restart")).encode()
        )
        text = await final_edit(harness, payload)
        watcher = app.watcher
        assert watcher is not None
        watcher._clock = lambda: time.time() + UNCONFIRMED_GRACE + 1
        await watcher.poll_once()
        await asyncio.sleep(0.1)
        edits = harness.discord.sent("PATCH", f"/webhooks/{APP_ID}/{payload['token']}")
    assert status == 200
    assert "`clip-after-restart`" in text
    assert not any("couldn't confirm" in e.json["content"] for e in edits)


async def test_an_upload_whose_answer_was_lost_and_no_callback_came_is_told_after_the_grace(
    harness: Harness,
) -> None:
    """Within one run: the upload's answer was lost and MusicAPI never calls back. Without a task id the
    bot cannot ask, so after the grace its member hears it could not be confirmed; nothing is resent."""
    harness.musicapi.script(Answer(drop=True))
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        payload = await harness.interact(payloads.upload(url=LINK))
        assert "processing" in await harness.answer(payload)
        await app.watcher.poll_once()  # the grace starts
        started = time.time()
        app.watcher._clock = lambda: started + UNCONFIRMED_GRACE + 1
        await app.watcher.poll_once()
        text = await final_edit(harness, payload)
        (record,) = await app.store.by_interaction(int(payload["id"]))
    assert "couldn't confirm" in text and "didn't send it again" in text
    assert record.state == "failed" and record.error_kind == "unconfirmed"
    assert len(harness.musicapi.uploads) == 1


async def test_a_callback_for_an_upload_in_hand_is_settled_without_reading_it_back(harness: Harness) -> None:
    """The upload this process sent is in hand: its callback is checked and settled on that record, and
    the answer is shown once, without asking the store for it."""
    port = free_port()
    async with harness.running(**callback_mode(port)) as app:
        payload, task_id = await start_upload(harness)
        reads: list[str] = []
        get, by_interaction = app.store.get, app.store.by_interaction

        async def counted_get(upload_id: int) -> Any:
            reads.append("get")
            return await get(upload_id)

        async def counted_by_interaction(interaction_id: int) -> Any:
            reads.append("by_interaction")
            return await by_interaction(interaction_id)

        app.store.get = counted_get  # type: ignore[method-assign]
        app.store.by_interaction = counted_by_interaction  # type: ignore[method-assign]
        status, _ = await harness.musicapi.send_callback(task_id, task_callback(task_id, "clip-in-hand"))
        text = await final_edit(harness, payload)
        await app.settlement.drain(5.0)  # the answer shown, and recorded as seen
        (record,) = await by_interaction(int(payload["id"]))
    assert status == 200
    assert "`clip-in-hand`" in text
    assert reads == []
    assert record.state == "succeeded" and record.clip_id == "clip-in-hand" and record.delivered


async def test_a_callback_while_the_processing_answer_is_on_its_way_ends_with_the_clip_id(
    harness: Harness,
) -> None:
    """MusicAPI calls back while "processing" is still on its way to Discord: the clip_id is shown after
    it (never replaced by it), once."""
    port = free_port()
    async with harness.running(**callback_mode(port)):
        harness.discord.slow[("PATCH", "/webhooks/")] = 0.5
        payload = await harness.interact(payloads.upload(url=LINK))
        await harness.discord.wait_for("PATCH", f"/webhooks/{APP_ID}/{payload['token']}")  # on its way
        (task_id,) = harness.musicapi.tasks
        status, _ = await harness.musicapi.send_callback(task_id, task_callback(task_id, "clip-early"))
        edits = await harness.edits_of(payload, count=2)
        await asyncio.sleep(0.7)  # a third edit would have landed by now
        edits = harness.discord.sent("PATCH", f"/webhooks/{APP_ID}/{payload['token']}")
    assert status == 200
    assert [("clip-early" in e.json["content"]) for e in edits] == [False, True]
