"""GET /metrics in Prometheus' text format, in sync and callback mode, moving with real uploads."""

from __future__ import annotations

import json

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.composition import App
from tests.cogs.test_follow_ups import FAST, buttons_of, extend_from_upload, press, result
from tests.fakes import payloads
from tests.fakes.musicapi import Answer, flat_callback
from tests.harness import Harness, free_port

LINK = "https://files.example.com/take.mp3"


async def scrape(app: App) -> tuple[dict[tuple[str, tuple[tuple[str, str], ...]], float], str]:
    """Every sample of /metrics by (name, labels), and the Content-Type it came with."""
    url = f"http://127.0.0.1:{app.settings.web_port}/metrics"
    async with aiohttp.ClientSession() as s, s.get(url) as resp:
        assert resp.status == 200
        assert resp.headers["Server"] == "musicapi-upload-bot"
        body, content_type = await resp.text(), resp.headers["Content-Type"]
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    return samples, content_type


def value(samples: dict, name: str, **labels: str) -> float:
    return float(samples.get((name, tuple(sorted(labels.items()))), 0.0))


async def test_metrics_in_sync_mode_move_with_real_uploads(harness: Harness) -> None:
    harness.musicapi.script(Answer(200, {"code": 200, "clip_id": "clip-1"}), Answer(400, {"code": 400}))
    async with harness.running() as app:
        before, content_type = await scrape(app)
        for url in (LINK, "https://files.example.com/short.mp3"):
            payload = await harness.interact(payloads.upload(url=url))
            await harness.answer(payload)
        refused = await harness.interact(payloads.upload(url="https://www.youtube.com/watch?v=x"))
        await harness.callback_of(refused)
        after, _ = await scrape(app)
    assert content_type.startswith("text/plain; version=0.0.4")
    assert value(before, "musicbot_uploads_total", outcome="succeeded", source="link") == 0
    assert value(after, "musicbot_uploads_total", outcome="succeeded", source="link") == 1
    assert value(after, "musicbot_uploads_total", outcome="bad_request", source="link") == 1
    assert value(after, "musicbot_musicapi_requests_total", endpoint="upload", status="200") == 1
    assert value(after, "musicbot_musicapi_requests_total", endpoint="upload", status="400") == 1
    assert value(after, "musicbot_answers_total", path="edited") == 2
    assert value(after, "musicbot_upload_seconds_count") == 2
    assert value(after, "musicbot_queue_wait_seconds_count") == 2
    assert value(after, "musicbot_musicapi_upload_seconds_count") == 2
    assert value(after, "musicbot_queue_waiting") == 0
    assert value(after, "musicbot_queue_in_flight") == 0
    assert value(after, "musicbot_uploads_pending") == 0
    assert value(after, "musicbot_gateway_connected", shard="0") == 1
    assert ("musicbot_gateway_latency_seconds", (("shard", "0"),)) in after


async def test_metrics_in_callback_mode_count_callbacks_by_result(harness: Harness) -> None:
    port = free_port()
    async with harness.running(public_url=f"http://127.0.0.1:{port}", web_port=port) as app:
        payload = await harness.interact(payloads.upload(url=LINK))
        await harness.answer(payload)
        waiting, _ = await scrape(app)
        (task_id,) = harness.musicapi.tasks
        callback_url = harness.musicapi.tasks[task_id]["callback_url"]
        assert (await harness.musicapi.send_callback(task_id, flat_callback(task_id, "clip-cb")))[0] == 200
        assert (await harness.musicapi.send_callback(task_id, flat_callback(task_id, "clip-cb")))[0] == 410
        forged = callback_url.rsplit(".", 1)[0] + ".not-the-secret"
        async with aiohttp.ClientSession() as s, s.post(forged, data=json.dumps({})) as resp:
            assert resp.status == 404
        await harness.edits_of(payload, count=2)
        after, _ = await scrape(app)
    assert value(waiting, "musicbot_uploads_pending") == 1
    assert value(after, "musicbot_uploads_pending") == 0
    assert value(after, "musicbot_callbacks_total", result="settled") == 1
    assert value(after, "musicbot_callbacks_total", result="already_settled") == 1
    assert value(after, "musicbot_callbacks_total", result="unknown_token") == 1
    assert value(after, "musicbot_uploads_total", outcome="succeeded", source="link") == 1


async def test_metrics_can_be_switched_off(harness: Harness) -> None:
    async with harness.running(metrics=False) as app, aiohttp.ClientSession() as s:
        base = f"http://127.0.0.1:{app.settings.web_port}"
        async with s.get(f"{base}/metrics") as resp:
            assert resp.status == 404
        async with s.get(f"{base}/healthz") as resp:
            assert resp.status == 200


async def test_follow_ups_are_counted_by_action_and_outcome(harness: Harness) -> None:
    async with harness.running(**FAST) as app:
        submit = await extend_from_upload(harness)
        await result(harness, submit)
        payload = await harness.interact(payloads.upload(url=LINK))
        components = (await harness.edits_of(payload))[0].json["components"]
        await press(harness, buttons_of(components)[0]["custom_id"], components, user_id=12345)
        after, _ = await scrape(app)
    assert value(after, "musicbot_follow_ups_total", action="extend", outcome="succeeded") == 1
    assert value(after, "musicbot_follow_ups_refused_total", reason="not_owner") == 1
    assert value(after, "musicbot_follow_up_credits_reserved_total") == 15
    assert value(after, "musicbot_musicapi_requests_total", endpoint="create", status="200") == 1
