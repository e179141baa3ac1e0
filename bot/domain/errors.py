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
    QUEUE_TIMED_OUT = "queue_timed_out"
    UNCONFIRMED = "unconfirmed"
    SHUTDOWN = "shutdown"
    FAILED = "failed"
    #: The whole bot's daily ceiling (TOTAL_DAILY_CREDITS) was reached: nothing was sent.
    OVER_CEILING = "over_ceiling"


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
    """HTTP 429; `retry_after` is how long MusicAPI asked to wait, when it said."""

    kind = ErrorKind.RATE_LIMITED

    def __init__(self, detail: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ServiceUnavailable(MusicAPIError):
    """5xx, timeouts, dropped connections, non-JSON bodies, answers without a clip_id.

    `transient`: worth asking again. `delivered`: the request may have reached MusicAPI (and may have
    been carried out); only a request that certainly did not arrive may be sent again when it costs.
    """

    kind = ErrorKind.UNAVAILABLE

    def __init__(self, detail: str = "", *, transient: bool = False, delivered: bool = True) -> None:
        super().__init__(detail)
        self.transient = transient
        self.delivered = delivered


class UploadUnconfirmed(MusicAPIError):
    """The upload may have reached MusicAPI, but its answer was lost (a dropped connection, a timeout, a
    gateway error, a restart of the bot). It is not sent again: that could upload, and charge, twice."""

    kind = ErrorKind.UNCONFIRMED


class TaskFailed(MusicAPIError):
    """An async upload task ended in failure; `detail` is MusicAPI's reason, if any."""

    kind = ErrorKind.FAILED


class UploadTimedOut(UploadError):
    """The bot's overall time limit for one upload ran out while MusicAPI was at work on it."""

    kind = ErrorKind.TIMED_OUT


class QueueTimedOut(UploadError):
    """The bot's overall time limit for one upload ran out while it waited in the bot's own line:
    nothing was sent to MusicAPI."""

    kind = ErrorKind.QUEUE_TIMED_OUT


class ShuttingDown(UploadError):
    """The bot stopped while the upload was in flight."""

    kind = ErrorKind.SHUTDOWN


class OverCeiling(UploadError):
    """The whole bot's credits for today are spent (TOTAL_DAILY_CREDITS): nothing was sent."""

    kind = ErrorKind.OVER_CEILING
