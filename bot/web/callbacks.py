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


def url_key(request: web.Request) -> tuple[int | None, str]:
    """The record id and the secret in a callback's URL (`…/{id}.{secret}`); no id when it is not one."""
    key, _, secret = request.match_info["key"].partition(".")
    valid = key.isascii() and key.isdigit() and len(key) <= 18
    return (int(key) if valid else None), secret


def token_matches(expected: str | None, given: str) -> bool:
    """The URL carries the record's own secret (compared in constant time); a spent secret matches nothing."""
    return bool(expected) and hmac.compare_digest(str(expected).encode(), given.encode())


async def signed_body(request: web.Request, secret: str | None, now: float) -> bytes | web.Response:
    """The body, once it fits and (with a configured secret) carries a valid signature; else the refusal."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _status(413, "too large")
    if secret is not None and not signature_ok(
        secret,
        request.headers.get("X-Webhook-Timestamp"),
        request.headers.get("X-Webhook-Signature"),
        raw,
        now,
    ):
        return _status(401, "bad signature")
    return raw


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
        upload_id, secret = url_key(request)
        record = None
        if upload_id is not None:
            # An upload this instance sent in this run is in hand; only another's (or one sent before a
            # restart) is read from the store: to check the secret, and whether it is still pending.
            record = self._settlement.held(upload_id) or await self._store.get(upload_id)
        if record is None or not token_matches(record.callback_token, secret):
            log.warning("callback with an unknown token refused")
            return _status(404, "unknown")
        raw = await signed_body(request, self._secret, self._clock())
        if isinstance(raw, web.Response):
            if raw.status == 401:
                log.warning("callback for upload %s with a bad or missing signature refused", record.id)
            return raw
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
