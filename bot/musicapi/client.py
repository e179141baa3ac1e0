"""MusicAPI's HTTP client: sonic upload and task lookup, every failure a typed `MusicAPIError`."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from bot.domain.errors import ServiceUnavailable
from bot.domain.ports import TaskResult, UploadAccepted
from bot.musicapi.parsing import error_for, parse_task, text_field

log = logging.getLogger(__name__)


class MusicAPIClient:
    """One MusicAPI account. Transient failures are retried with exponential backoff and jitter."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str,
        timeout: float,
        retries: int,
        backoff: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep

    async def upload(self, url: str, *, callback_url: str | None = None) -> UploadAccepted:
        payload: dict[str, str] = {"url": url}
        if callback_url:
            payload["callback_url"] = callback_url
        body = await self._call("POST", "/api/v1/sonic/upload", payload)
        clip_id = text_field(body.get("clip_id"))
        if callback_url:
            task_id = text_field(body.get("task_id"))
            if task_id is None and clip_id is None:
                raise ServiceUnavailable("upload answer without task_id")
            return UploadAccepted(clip_id=clip_id, task_id=task_id)
        if clip_id is None:
            raise ServiceUnavailable("upload answer without clip_id")
        return UploadAccepted(clip_id=clip_id)

    async def get_task(self, task_id: str) -> TaskResult:
        body = await self._call("GET", f"/api/v1/sonic/task/{task_id}", None)
        return parse_task({**body, "task_id": body.get("task_id", task_id)})

    async def _call(self, method: str, path: str, payload: dict[str, str] | None) -> Mapping[str, Any]:
        attempt = 0
        while True:
            try:
                return await self._once(method, path, payload)
            except ServiceUnavailable as exc:
                if not exc.transient or attempt >= self._retries:
                    raise
                delay = self._backoff * (2**attempt) * random.uniform(0.5, 1.0)  # noqa: S311
                attempt += 1
                log.warning(
                    "MusicAPI %s %s failed (%s); retry %d in %.1fs", method, path, exc, attempt, delay
                )
                await self._sleep(delay)

    async def _once(self, method: str, path: str, payload: dict[str, str] | None) -> Mapping[str, Any]:
        try:
            async with self._session.request(
                method, self._base + path, json=payload, headers=self._headers, timeout=self._timeout
            ) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError:
            raise ServiceUnavailable("timed out") from None
        except aiohttp.ClientConnectionError as exc:
            raise ServiceUnavailable(type(exc).__name__, transient=True) from None
        except aiohttp.ClientError as exc:
            raise ServiceUnavailable(type(exc).__name__) from None
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        if status >= 400:
            raise error_for(status, body)
        if not isinstance(body, Mapping):
            raise ServiceUnavailable(f"HTTP {status} with a body that is not a JSON object")
        code = body.get("code", 200)
        if isinstance(code, int) and code >= 400:
            raise error_for(code, body)
        return body
