"""Reading MusicAPI's answers and callbacks: task bodies in either shape, and errors as typed exceptions."""

from __future__ import annotations

import math
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
    UploadUnconfirmed,
)
from bot.domain.followups.ports import Credits, Generation
from bot.domain.followups.records import MAX_SONGS, Song
from bot.domain.ports import TaskResult, TaskState
from bot.domain.redact import redact_urls

TRANSIENT_STATUSES = frozenset({502, 503, 504})
#: Instruments of a MIDI answer named in its result.
MAX_INSTRUMENTS = 12
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


def _number(value: Any) -> float | None:
    """A finite, non-negative number (or numeric string); None otherwise."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and number >= 0 else None


def _link(value: Any) -> str | None:
    text = text_field(value)
    return text if text and text.startswith(("https://", "http://")) and len(text) <= 2048 else None


def _song(item: Mapping[str, Any], position: int) -> Song | None:
    clip_id = text_field(item.get("clip_id")) or text_field(item.get("id"))
    if clip_id is None:
        return None
    return Song(
        clip_id=clip_id[:100],
        title=(text_field(item.get("title")) or "")[:200],
        duration=_number(item.get("duration")),
        audio_url=_link(item.get("audio_url")),
        tags=(text_field(item.get("tags")) or "")[:200],
        position=position,
        image_url=_link(item.get("image_url")),
    )


def parse_generation(body: Any) -> Generation:
    """Read a create task (from polling or a webhook): its songs once every one has succeeded."""
    if not isinstance(body, Mapping):
        raise ServiceUnavailable("task body is not an object")
    code = body.get("code", 200)
    task_id = text_field(body.get("task_id"))
    if code != 200:
        status = code if isinstance(code, int) and 400 <= code < 500 else 0
        error = error_for(status, body) if status else _failure(body)
        return Generation(TaskState.FAILED, task_id=task_id, error=error)
    data = body.get("data")
    if isinstance(data, Mapping):
        task_id = task_id or text_field(data.get("task_id"))
        data = data.get("data", data.get("songs", [data]))
    items = [item for item in data if isinstance(item, Mapping)] if isinstance(data, list) else []
    if not items:
        return Generation(TaskState.PENDING, task_id=task_id)
    states = [str(item.get("state") or item.get("status") or "").lower() for item in items]
    failed = next(
        (item for item, state in zip(items, states, strict=True) if state in ("failed", "error")), None
    )
    if failed is not None:
        return Generation(
            TaskState.FAILED, task_id=task_id, error=_failure(failed if _message(failed) else body)
        )
    if all(state in _SUCCEEDED for state in states):
        songs = [song for i, item in enumerate(items[:MAX_SONGS]) if (song := _song(item, i)) is not None]
        if len(songs) == len(items[:MAX_SONGS]):
            return Generation(TaskState.SUCCEEDED, songs=tuple(songs), task_id=task_id)
    running = any(state == TaskState.RUNNING.value for state in states)
    return Generation(TaskState.RUNNING if running else TaskState.PENDING, task_id=task_id)


def parse_value(endpoint: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The result of a call answered at once, as the store keeps it; None while MusicAPI is still at work
    (MIDI's "generating" answers). A MIDI answer saying it failed is a failed task."""
    data = body.get("data")
    data = data if isinstance(data, Mapping) else body
    if endpoint == "bpm":
        bpm = [_number(data.get(key)) for key in ("avg_bpm", "min_bpm", "max_bpm")]
        if bpm[0] is None:
            raise UploadUnconfirmed("bpm answer without avg_bpm")  # it arrived, and may have cost
        return {"bpm": [round(v, 1) if v is not None else None for v in bpm]}
    url = _link(data.get("wav_url" if endpoint == "wav" else "midi_url")) or _link(data.get("url"))
    if endpoint == "midi":
        if url is None:
            if "fail" in _message(body).lower() or "fail" in _message(data).lower():
                raise TaskFailed(_reason(data) or _reason(body))
            return None
        instruments = data.get("instruments")
        names = [
            str(text_field(item.get("name")) or "")[:60]
            for item in (instruments if isinstance(instruments, list) else [])[:MAX_INSTRUMENTS]
            if isinstance(item, Mapping)
        ]
        return {"url": url, "instruments": [name for name in names if name]}
    if url is None:
        raise UploadUnconfirmed(f"{endpoint} answer without a link")  # it arrived, and may have cost
    return {"url": url}


def parse_credits(body: Mapping[str, Any]) -> Credits:
    """`{"credits": 50, "extra_credits": 0}`, flat or under `data`."""
    data = body.get("data")
    source: Mapping[str, Any] = data if isinstance(data, Mapping) else body
    credits, extra = _number(source.get("credits")), _number(source.get("extra_credits") or 0)
    if credits is None or extra is None:
        raise ServiceUnavailable("credits answer without credits")
    return Credits(int(credits), int(extra))
