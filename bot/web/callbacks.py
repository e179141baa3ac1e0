"""MusicAPI's upload callbacks: authenticate by the per-upload token (and the signature when configured),
read the result, settle the upload once."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable

from aiohttp import web

from bot.domain.errors import MusicAPIError
from bot.domain.ports import Metrics, NoMetrics, UploadStore
from bot.domain.settlement import Settlement
from bot.musicapi import parse_task

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


class CallbackReceiver:
    """POST {CALLBACK_PATH}/{upload id}.{secret}: settles an upload, then its member is shown the answer."""

    def __init__(
        self,
        *,
        store: UploadStore,
        settlement: Settlement,
        webhook_secret: str | None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._metrics = metrics or NoMetrics()
        self._store = store
        self._settlement = settlement
        self._secret = webhook_secret
        self._clock = clock

    async def handle(self, request: web.Request) -> web.Response:
        response = await self._handle(request)
        self._metrics.callback_received(RESULTS.get(response.status, str(response.status)))
        return response

    async def _handle(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_CALLBACK_BYTES:
            return _status(413, "too large")
        upload_id, _, secret = request.match_info["key"].partition(".")
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
        except (ValueError, RecursionError, MusicAPIError):
            # RecursionError: a body nested thousands of levels deep (`[[[[...]]]]`) fits in the size cap
            # but is no task result; it is refused like any other malformed body.
            return _status(400, "not a task result")
        if result.task_id and record.task_id and result.task_id != record.task_id:
            return _status(409, "task mismatch")
        if not result.finished:
            return _status(202, "noted")
        if not await self._settlement.task_finished(record, result):
            return _status(410, "already settled")
        return _status(200, "ok")


#: What each answer to a callback means, for the metrics.
RESULTS = {
    200: "settled",
    202: "still_running",
    400: "malformed",
    401: "bad_signature",
    404: "unknown_token",
    409: "task_mismatch",
    410: "already_settled",
    413: "too_large",
}


def _status(status: int, text: str) -> web.Response:
    return web.json_response({"status": text}, status=status)
