"""Reading MusicAPI's answers and callbacks: task bodies in either shape, and errors as typed exceptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.errors import (
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
from bot.domain.ports import TaskResult, TaskState
from bot.domain.redact import redact_urls

TRANSIENT_STATUSES = frozenset({502, 503, 504})
_COPYRIGHT_MARKERS = ("matches an existing recording", "catalog", "copyright")
_SUCCEEDED = ("", "succeeded", "success", "complete", "completed")


def _message(body: Any) -> str:
    if isinstance(body, Mapping):
        for key in ("message", "error", "detail", "msg"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
            if isinstance(value, Mapping):
                return _message(value)
    return ""


def _reason(body: Any) -> str:
    """MusicAPI's reason, without signed URLs' secrets, at a length a member can read."""
    return redact_urls(_message(body))[:300]


def _is_copyright(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in _COPYRIGHT_MARKERS)


def error_for(status: int, body: Any) -> MusicAPIError:
    """Map an error answer (HTTP status or the body's `code`) to its typed exception."""
    message = _reason(body)
    lowered = message.lower()
    if _is_copyright(message):
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
    # 502 and 504 come from a proxy in front of MusicAPI: the request may have arrived all the same.
    return ServiceUnavailable(f"HTTP {status}", transient=status in TRANSIENT_STATUSES)


def _failure(body: Any) -> MusicAPIError:
    message = _reason(body)
    if message.lower() in ("success", "ok"):  # the envelope's word, not a reason
        message = ""
    if _is_copyright(message):
        return CopyrightBlocked(message)
    return TaskFailed(message)


def text_field(value: Any) -> str | None:
    """A non-blank string field (clip_id, task_id), stripped; None otherwise."""
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_task(body: Any) -> TaskResult:
    """Read a task body in either shape MusicAPI may use: flat, or with a `data` list."""
    if not isinstance(body, Mapping):
        raise ServiceUnavailable("task body is not an object")
    code = body.get("code", 200)
    task_id = text_field(body.get("task_id"))
    if code != 200:
        status = code if isinstance(code, int) and 400 <= code < 500 else 0
        error = error_for(status, body) if status else _failure(body)
        return TaskResult(TaskState.FAILED, task_id=task_id, error=error)
    data = body.get("data")
    item: Mapping[str, Any] = body
    if isinstance(data, list) and data and isinstance(data[0], Mapping):
        item = data[0]
    elif isinstance(data, Mapping):
        item = data
    state = str(item.get("state") or item.get("status") or "").lower()
    clip_id = text_field(item.get("clip_id"))
    if state in ("failed", "error"):
        return TaskResult(TaskState.FAILED, task_id=task_id, error=_failure(item if _message(item) else body))
    if clip_id and state in _SUCCEEDED:
        return TaskResult(TaskState.SUCCEEDED, clip_id=clip_id, task_id=task_id)
    running = state == TaskState.RUNNING.value
    return TaskResult(TaskState.RUNNING if running else TaskState.PENDING, task_id=task_id)
