"""The web server as anyone on the internet sees it: what it tells about itself, and malformed requests."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from tests.bot.web.test_callbacks import callback_mode, start_upload
from tests.harness import Harness, free_port


async def test_server_header_names_no_versions(harness: Harness) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with harness.running(**callback_mode(port)), aiohttp.ClientSession() as s:
        _, task_id = await start_upload(harness)
        callback_url = harness.musicapi.tasks[task_id]["callback_url"]
        answers = []
        for method, url, body in [
            ("GET", f"{base}/healthz", None),
            ("GET", f"{base}/no-such-page", None),
            ("GET", callback_url, None),  # 405
            ("POST", callback_url, b"x" * 100_000),  # 413
            ("POST", f"{base}/musicapi/callback/1.wrong", b"{}"),  # 404 from the receiver
        ]:
            async with s.request(method, url, data=body) as resp:
                answers.append((resp.status, resp.headers.getall("Server")))
    assert [status for status, _ in answers] == [200, 404, 405, 413, 404]
    for _, servers in answers:
        assert servers == ["musicapi-upload-bot"]


MALFORMED = [
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)),  # TLS on a plain port
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE \x00\x01 HTTP/9\r\n\r\n",  # garbage as a second request
    b"GET /\x00\x7f HTTP/1.1\r\nHost: x\r\n\r\n",  # a bad request line
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
    b"POST /musicapi/callback/1.x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    b"POST /musicapi/callback/1.x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n",
    b"NOT HTTP AT ALL\r\n\r\n",
]


async def send_raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


@pytest.mark.parametrize("data", MALFORMED)
async def test_malformed_requests_log_one_line_without_a_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture, data: bytes
) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)), aiohttp.ClientSession() as s:
        caplog.set_level(logging.DEBUG)
        answer = await send_raw(port, data)
        async with s.get(f"http://127.0.0.1:{port}/healthz") as resp:
            still_up = resp.status
    assert b" 400 Bad Request\r\n" in answer
    assert still_up == 200
    web_records = [r for r in caplog.records if r.name.startswith(("aiohttp", "bot.web"))]
    assert not [r for r in web_records if r.levelno >= logging.WARNING or r.exc_info]
    refused = [r.getMessage() for r in web_records]
    assert len(refused) == 1
    assert all(m.startswith("refused a malformed HTTP request from ") for m in refused)


async def test_malformed_requests_are_quiet_when_the_log_level_is_warning(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    async with harness.running(**callback_mode(port)):
        caplog.set_level(logging.WARNING)
        await send_raw(port, MALFORMED[3])
    assert not [r for r in caplog.records if r.name.startswith(("aiohttp", "bot.web"))]
