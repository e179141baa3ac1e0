"""MusicAPI's HTTP client: sonic upload and task lookup, every failure a typed `MusicAPIError`."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.errors import (
    BadRequest,
    CopyrightBlocked,
    Forbidden,
    MusicAPIError,
    NoSubscription,
    OutOfCredits,
    RateLimited,
    ServiceUnavailable,
    TaskFailed,
    Unauthorized,
)
from bot.redact import redact_urls

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({502, 503, 504})
_COPYRIGHT_MARKERS = ("matches an existing recording", "catalog", "copyright")


@dataclass(frozen=True, slots=True)
class UploadAccepted:
    """What POST /sonic/upload gave back: a clip_id (sync mode) or a task_id (callback mode)."""

    clip_id: str | None = None
    task_id: str | None = None


@dataclass(frozen=True, slots=True)
class TaskResult:
    """The state of an upload task, from a callback or from GET /sonic/task/{id}."""

    state: str  # "pending", "running", "succeeded" or "failed"
    clip_id: str | None = None
    task_id: str | None = None
    error: MusicAPIError | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed")


def _message(body: Any) -> str:
    if isinstance(body, Mapping):
        for key in ("message", "error", "detail", "msg"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
            if isinstance(value, Mapping):
                return _message(value)
    return ""


def error_for(status: int, body: Any) -> MusicAPIError:
    """Map an error answer (HTTP status or the body's `code`) to its typed exception."""
    message = redact_urls(_message(body))[:300]
    lowered = message.lower()
    if any(marker in lowered for marker in _COPYRIGHT_MARKERS):
        return CopyrightBlocked(message)
    if status == 400:
        return BadRequest(message)
    if status == 401:
        return Unauthorized(message)
    if status == 403:
        if "credit" in lowered:
            return OutOfCredits(message)
        if "subscription" in lowered:
            return NoSubscription(message)
        return Forbidden(message)
    if status == 429:
        return RateLimited(message)
    if 400 <= status < 500:
        return BadRequest(message)
    return ServiceUnavailable(f"HTTP {status}", transient=status in TRANSIENT_STATUSES)


def _failure(body: Any) -> MusicAPIError:
    message = redact_urls(_message(body))[:300]
    if message.lower() in ("success", "ok"):  # the envelope's word, not a reason
        message = ""
    if any(marker in message.lower() for marker in _COPYRIGHT_MARKERS):
        return CopyrightBlocked(message)
    return TaskFailed(message)


def _clip_id(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_task(body: Any) -> TaskResult:
    """Read a task body in either shape MusicAPI may use: flat, or with a `data` list."""
    if not isinstance(body, Mapping):
        raise ServiceUnavailable("task body is not an object")
    code = body.get("code", 200)
    task_id = _clip_id(body.get("task_id"))
    if code != 200:
        status = code if isinstance(code, int) and 400 <= code < 500 else 0
        error = error_for(status, body) if status else _failure(body)
        return TaskResult("failed", task_id=task_id, error=error)
    data = body.get("data")
    item: Mapping[str, Any] = body
    if isinstance(data, list) and data and isinstance(data[0], Mapping):
        item = data[0]
    elif isinstance(data, Mapping):
        item = data
    state = str(item.get("state") or item.get("status") or "").lower()
    clip_id = _clip_id(item.get("clip_id"))
    if state in ("failed", "error"):
        return TaskResult("failed", task_id=task_id, error=_failure(item if _message(item) else body))
    if clip_id and state in ("", "succeeded", "success", "complete", "completed"):
        return TaskResult("succeeded", clip_id=clip_id, task_id=task_id)
    return TaskResult(state if state in ("pending", "running") else "pending", task_id=task_id)


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
        if callback_url:
            task_id = _clip_id(body.get("task_id"))
            clip_id = _clip_id(body.get("clip_id"))
            if task_id is None and clip_id is None:
                raise ServiceUnavailable("upload answer without task_id")
            return UploadAccepted(clip_id=clip_id, task_id=task_id)
        clip_id = _clip_id(body.get("clip_id"))
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
