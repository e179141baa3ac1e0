"""MusicAPI's webhooks for follow-ups: authenticate by the follow-up's own unguessable URL (and the
signature when a secret is configured), take each delivery once, settle the follow-up once."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from aiohttp import web

from bot.domain.errors import MusicAPIError
from bot.domain.followups.service import FollowUpService
from bot.musicapi import parse_generation
from bot.web.callbacks import MAX_CALLBACK_BYTES, signed_body, token_matches, url_key

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
        follow_up_id, secret = url_key(request)
        store = self._service.store
        record = await store.get(follow_up_id) if follow_up_id is not None else None
        if record is None or not token_matches(record.callback_token, secret):
            log.warning("follow-up webhook with an unknown token refused")
            return _status(404, "unknown")
        raw = await signed_body(request, self._secret, self._clock())
        if isinstance(raw, web.Response):
            if raw.status == 401:
                log.warning("webhook for follow-up %s with a bad or missing signature refused", record.id)
            return raw
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
