"""Typed failures of an upload. `bot.domain.rendering` turns each kind into words a member can read."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """Why an upload did not yield a clip_id; also what the store records."""

    BAD_REQUEST = "bad_request"
    COPYRIGHT = "copyright"
    UNAUTHORIZED = "unauthorized"
    NO_CREDITS = "no_credits"
    NO_SUBSCRIPTION = "no_subscription"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    TIMED_OUT = "timed_out"
    SHUTDOWN = "shutdown"
    UNCONFIRMED = "unconfirmed"
    FAILED = "failed"


class UploadError(Exception):
    """Base of every failure an upload can end with."""

    kind: ErrorKind = ErrorKind.UNAVAILABLE

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.kind.value)
        self.detail = detail


class MusicAPIError(UploadError):
    """MusicAPI answered, or failed to answer, in a way that yields no clip_id."""


class BadRequest(MusicAPIError):
    """HTTP 400: `detail` is MusicAPI's reason."""

    kind = ErrorKind.BAD_REQUEST


class CopyrightBlocked(MusicAPIError):
    kind = ErrorKind.COPYRIGHT


class Unauthorized(MusicAPIError):
    kind = ErrorKind.UNAUTHORIZED


class OutOfCredits(MusicAPIError):
    kind = ErrorKind.NO_CREDITS


class NoSubscription(MusicAPIError):
    kind = ErrorKind.NO_SUBSCRIPTION


class Forbidden(MusicAPIError):
    kind = ErrorKind.FORBIDDEN


class RateLimited(MusicAPIError):
    kind = ErrorKind.RATE_LIMITED


class ServiceUnavailable(MusicAPIError):
    """5xx, timeouts, dropped connections, non-JSON bodies, answers without a clip_id."""

    kind = ErrorKind.UNAVAILABLE

    def __init__(self, detail: str = "", *, transient: bool = False) -> None:
        super().__init__(detail)
        self.transient = transient


class TaskFailed(MusicAPIError):
    """An async upload task ended in failure; `detail` is MusicAPI's reason, if any."""

    kind = ErrorKind.FAILED


class UploadTimedOut(UploadError):
    """The bot's overall time limit for one upload ran out."""

    kind = ErrorKind.TIMED_OUT


class ShuttingDown(UploadError):
    """The bot stopped while the upload was in flight."""

    kind = ErrorKind.SHUTDOWN


class Unconfirmed(UploadError):
    """The bot restarted before MusicAPI confirmed it took a callback-mode upload: there is no task id to
    ask about, and no callback came."""

    kind = ErrorKind.UNCONFIRMED
