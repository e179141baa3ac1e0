"""MusicAPI's HTTP client: sonic upload and task lookup, every failure a typed `MusicAPIError`."""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from bot.domain.account import AccountHealth
from bot.domain.errors import RateLimited, ServiceUnavailable, UploadTimedOut, UploadUnconfirmed
from bot.domain.followups.ports import Credits, Generation
from bot.domain.ports import Metrics, NoMetrics, TaskResult, UploadAccepted
from bot.musicapi.parsing import (
    error_for,
    parse_credits,
    parse_generation,
    parse_task,
    parse_value,
    text_field,
)

log = logging.getLogger(__name__)


#: The largest answer the bot reads; MusicAPI's answers are a few hundred bytes.
MAX_ANSWER_BYTES = 256 * 1024
#: How long opening a connection may take; a request that could not connect certainly did not arrive.
CONNECT_TIMEOUT = 10.0
#: MIDI is asked for again while MusicAPI makes it: this often (seconds), and at most this many times.
MIDI_EVERY = 3.0
MIDI_ASKS = 20
#: A 429's Retry-After is honoured (the request sent again after it) when it is at most this long.
MAX_RETRY_AFTER = 10.0


class MusicAPIClient:
    """One MusicAPI account.

    A GET is asked again after transient failures (with exponential backoff and jitter). A POST costs
    credits and no idempotency key exists, so it is sent again only when it certainly did not arrive
    (the connection could not be opened, a 503 with no body, a 429 with a short Retry-After); when it
    may have arrived and the answer was lost, the upload is reported as unconfirmed instead.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str,
        timeout: float,
        retries: int,
        backoff: float,
        metrics: Metrics | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        health: AccountHealth | None = None,
    ) -> None:
        self._session = session
        #: What MusicAPI's answers say about the account (the key, whether it answers at all).
        self.health = health if health is not None else AccountHealth()
        self._metrics = metrics or NoMetrics()
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, CONNECT_TIMEOUT))
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep

    async def upload(self, url: str, *, callback_url: str | None = None) -> UploadAccepted:
        payload: dict[str, str] = {"url": url}
        if callback_url:
            payload["callback_url"] = callback_url
        body = await self._call("POST", "/api/v1/sonic/upload", payload, endpoint="upload")
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
        body = await self._call("GET", f"/api/v1/sonic/task/{task_id}", None, endpoint="task")
        return parse_task({**body, "task_id": body.get("task_id", task_id)})

    async def start_task(self, endpoint: str, body: Mapping[str, Any]) -> str:
        """POST /api/v1/sonic/{endpoint} (create, stems/basic): MusicAPI's task id. Costs credits, so it is
        never sent again when it may have arrived; a 200 without a task id cannot be followed, so it is
        reported as unconfirmed too."""
        answer = await self._call("POST", f"/api/v1/sonic/{endpoint}", body, endpoint=endpoint)
        data = answer.get("data")
        task_id = text_field(answer.get("task_id")) or (
            text_field(data.get("task_id")) if isinstance(data, Mapping) else None
        )
        if task_id is None:
            raise UploadUnconfirmed(f"{endpoint} answer without task_id")
        return task_id

    async def run(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /api/v1/sonic/{endpoint} for wav, midi or bpm; the result read from its answer. MIDI is
        made while MusicAPI is asked: "generating" answers are followed by the same POST (its answer
        proves the last one arrived) every MIDI_EVERY seconds, at most MIDI_ASKS times."""
        path = f"/api/v1/sonic/{endpoint}"
        for ask in range(MIDI_ASKS if endpoint == "midi" else 1):
            if ask:
                await self._sleep(MIDI_EVERY)
            answer = await self._call("POST", path, body, endpoint=endpoint)
            value = parse_value(endpoint, answer)
            if value is not None:
                return value
        # Every ask arrived (each answer says so) and may cost: the result did not come in time.
        raise UploadTimedOut(f"{endpoint} gave no result in {MIDI_ASKS} asks")

    async def get_generation(self, task_id: str) -> Generation:
        body = await self._call("GET", f"/api/v1/sonic/task/{task_id}", None, endpoint="task")
        return parse_generation({**body, "task_id": body.get("task_id", task_id)})

    async def get_credits(self) -> Credits:
        credits = parse_credits(await self._call("GET", "/api/v1/get-credits", None, endpoint="credits"))
        self.health.credits = credits.total
        return credits

    async def _call(
        self, method: str, path: str, payload: Mapping[str, Any] | None, *, endpoint: str
    ) -> Mapping[str, Any]:
        attempt = 0
        while True:
            try:
                return await self._once(method, path, payload, endpoint)
            except (ServiceUnavailable, RateLimited) as exc:
                delay = self._retry_delay(method, exc, attempt)
                if delay is None:
                    if (
                        method == "POST"
                        and isinstance(exc, ServiceUnavailable)
                        and exc.transient
                        and exc.delivered
                    ):
                        # It may have arrived: sending it again could upload, and charge, twice.
                        raise UploadUnconfirmed(str(exc)) from None
                    raise
                attempt += 1
                log.warning(
                    "MusicAPI %s %s failed (%s); retry %d in %.1fs", method, path, exc, attempt, delay
                )
                await self._sleep(delay)

    def _retry_delay(self, method: str, exc: ServiceUnavailable | RateLimited, attempt: int) -> float | None:
        """How long to wait before sending the request again, or None when it must not be sent again."""
        if attempt >= self._retries:
            return None
        if isinstance(exc, RateLimited):
            wait: float | None = exc.retry_after
            return wait if wait is not None and wait <= MAX_RETRY_AFTER else None
        if not exc.transient or (method == "POST" and exc.delivered):
            return None
        return float(self._backoff * 2**attempt * random.uniform(0.5, 1.0))  # noqa: S311

    async def _once(
        self, method: str, path: str, payload: Mapping[str, Any] | None, endpoint: str
    ) -> Mapping[str, Any]:
        try:
            async with self._session.request(
                method, self._base + path, json=payload, headers=self._headers, timeout=self._timeout
            ) as resp:
                status = resp.status
                raw = await _read_capped(resp)
                retry_after = _seconds(resp.headers.get("Retry-After"))
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # The connection was never opened: the request certainly did not arrive.
            self._metrics.musicapi_request(endpoint, "not_connected")
            self.health.unreachable()
            raise ServiceUnavailable(type(exc).__name__, transient=True, delivered=False) from None
        except TimeoutError:
            self._metrics.musicapi_request(endpoint, "timeout")
            self.health.unreachable()
            raise ServiceUnavailable("timed out", transient=True) from None
        except aiohttp.ClientConnectionError as exc:
            self._metrics.musicapi_request(endpoint, "connection_lost")
            raise ServiceUnavailable(type(exc).__name__, transient=True) from None
        except aiohttp.ClientError as exc:
            self._metrics.musicapi_request(endpoint, "client_error")
            raise ServiceUnavailable(type(exc).__name__) from None
        self._metrics.musicapi_request(endpoint, str(status))
        self.health.answered(status)
        try:
            # JSON between systems is UTF-8 (RFC 8259): decoded here, json.loads need not guess the encoding.
            # A byte order mark is let pass; cut off by hand, since the "utf-8-sig" codec runs in Python.
            body = json.loads(raw.removeprefix(codecs.BOM_UTF8).decode()) if raw is not None else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            body = None
        if raw is None:
            raise ServiceUnavailable(f"HTTP {status} with an answer over {MAX_ANSWER_BYTES} bytes")
        if status == 503 and not raw.strip():
            raise ServiceUnavailable("HTTP 503", transient=True, delivered=False)
        if status >= 400:
            error = error_for(status, body)
            if isinstance(error, RateLimited):
                error.retry_after = retry_after
            raise error
        if not isinstance(body, Mapping):
            raise ServiceUnavailable(f"HTTP {status} with a body that is not a JSON object")
        code = body.get("code", 200)
        if isinstance(code, int) and code >= 400:
            raise error_for(code, body)
        return body


async def _read_capped(resp: aiohttp.ClientResponse) -> bytes | None:
    """The answer's body, or None when it is larger than MAX_ANSWER_BYTES (nothing more is read)."""
    if (resp.content_length or 0) > MAX_ANSWER_BYTES:
        return None
    raw = bytearray()
    while chunk := await resp.content.read(64 * 1024):
        raw += chunk
        if len(raw) > MAX_ANSWER_BYTES:
            return None
    return bytes(raw)


def _seconds(value: str | None) -> float | None:
    """A Retry-After given in seconds (the HTTP-date form is taken as absent)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < float("inf") else None
