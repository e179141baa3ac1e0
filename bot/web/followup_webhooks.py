"""MusicAPI's webhooks for follow-ups: authenticate by the follow-up's own unguessable URL (and the
signature when a secret is configured), take each delivery once, settle the follow-up once."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable

from aiohttp import web

from bot.domain.errors import MusicAPIError
from bot.domain.followup_service import FollowUpService
from bot.musicapi import parse_generation
from bot.web.callbacks import MAX_CALLBACK_BYTES, signature_ok

log = logging.getLogger(__name__)


class FollowUpWebhookReceiver:
    """POST {WEBHOOK_PATH}/{follow-up id}.{secret}."""

    def __init__(
        self,
        *,
        service: FollowUpService,
        webhook_secret: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._service = service
        self._secret = webhook_secret
        self._clock = clock

    async def handle(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_CALLBACK_BYTES:
            return _status(413, "too large")
        key, _, secret = request.match_info["key"].partition(".")
        valid_id = key.isascii() and key.isdigit() and len(key) <= 18
        store = self._service.store
        record = await store.get(int(key)) if valid_id else None
        if (
            record is None
            or not record.callback_token
            or not hmac.compare_digest(record.callback_token.encode(), secret.encode())
        ):
            log.warning("follow-up webhook with an unknown token refused")
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
            log.warning("webhook for follow-up %s with a bad or missing signature refused", record.id)
            return _status(401, "bad signature")
        try:
            result = parse_generation(json.loads(raw))
        except (ValueError, RecursionError, MusicAPIError):
            return _status(400, "not a task result")
        if result.task_id and record.task_id and result.task_id != record.task_id:
            return _status(409, "task mismatch")
        delivery = request.headers.get("X-Webhook-Id") or request.headers.get("Idempotency-Key")
        seen = f"{record.key}:{delivery[:200]}" if delivery else None
        if seen and not await store.first_delivery(seen, self._clock()):
            return _status(200, "duplicate")
        if record.finished:
            return _status(410, "already settled")
        if not result.finished:
            return _status(202, "noted")
        try:
            settled = await self._service.settle(record, result)
        except Exception:
            if seen:
                await store.forget_delivery(seen)  # MusicAPI's retry of this delivery must be taken
            raise
        if not settled:
            return _status(410, "already settled")
        return _status(200, "ok")


def _status(status: int, text: str) -> web.Response:
    return web.json_response({"status": text}, status=status)
