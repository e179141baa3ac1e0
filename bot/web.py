"""The bot's small web server: MusicAPI's upload callbacks, and a health check."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from aiohttp import web

from bot.errors import MusicAPIError
from bot.musicapi import parse_task
from bot.store import UploadRecord, UploadStore
from bot.uploads import CALLBACK_PATH, UploadService

log = logging.getLogger(__name__)

MAX_CALLBACK_BYTES = 64 * 1024
#: A signed callback older or newer than this is refused (replay protection).
SIGNATURE_TOLERANCE = 300


def signature_ok(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float) -> bool:
    """`X-Webhook-Signature: sha256=<hex>` over f"{timestamp}.{body}", with a fresh timestamp."""
    if not timestamp or not signature or not signature.startswith("sha256="):
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > SIGNATURE_TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.removeprefix("sha256=").encode())


class WebServer:
    """POST {CALLBACK_PATH}/{upload id}.{secret} settles an upload; GET /healthz reports readiness."""

    def __init__(
        self,
        *,
        uploads: UploadService,
        store: UploadStore,
        deliver: Callable[[int, Sequence[UploadRecord]], Coroutine[Any, Any, object]],
        is_connected: Callable[[], bool],
        webhook_secret: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._uploads = uploads
        self._store = store
        self._deliver = deliver
        self._is_connected = is_connected
        self._secret = webhook_secret
        self._clock = clock
        self._deliveries: set[asyncio.Task[object]] = set()
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_CALLBACK_BYTES)
        app.router.add_post(CALLBACK_PATH + "/{key}", self.callback)
        app.router.add_get("/healthz", self.healthz)
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        log.info("callback server listening on %s:%s", host, port)

    async def stop(self) -> None:
        if self._deliveries:
            await asyncio.wait(self._deliveries, timeout=3.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def healthz(self, request: web.Request) -> web.Response:
        gateway = self._is_connected()
        store = await self._store.ping()
        status = 200 if gateway and store else 503
        return web.json_response({"gateway": gateway, "store": store}, status=status)

    async def callback(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_CALLBACK_BYTES:
            return _status(413, "too large")
        key = request.match_info["key"]
        upload_id, _, secret = key.partition(".")
        valid_id = upload_id.isascii() and upload_id.isdigit() and len(upload_id) <= 18
        record = await self._store.get(int(upload_id)) if valid_id else None
        if (
            record is None
            or not record.callback_token
            or not hmac.compare_digest(record.callback_token.encode(), secret.encode())
        ):
            log.warning("callback with an unknown token refused")
            return _status(404, "unknown")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _status(413, "too large")
        if self._secret is not None and not signature_ok(
            self._secret,
            request.headers.get("X-Webhook-Timestamp"),
            request.headers.get("X-Webhook-Signature"),
            raw,
            self._clock(),
        ):
            log.warning("callback for upload %s with a bad or missing signature refused", record.id)
            return _status(401, "bad signature")
        if record.finished:
            return _status(410, "already settled")
        try:
            result = parse_task(json.loads(raw))
        except (ValueError, MusicAPIError):
            return _status(400, "not a task result")
        if result.task_id and record.task_id and result.task_id != record.task_id:
            return _status(409, "task mismatch")
        if not result.finished:
            return _status(202, "noted")
        if not await self._uploads.settle_task(record, result):
            return _status(410, "already settled")
        task: asyncio.Task[object] = asyncio.create_task(self._deliver(record.interaction_id, [record]))
        self._deliveries.add(task)
        task.add_done_callback(self._delivered)
        return _status(200, "ok")

    def _delivered(self, task: asyncio.Task[object]) -> None:
        self._deliveries.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivering a callback's result failed", exc_info=task.exception())


def _status(status: int, text: str) -> web.Response:
    return web.json_response({"status": text}, status=status)
