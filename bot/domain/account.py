"""What the bot knows of its MusicAPI account: whether the key is accepted and MusicAPI answers, and the
credits left; checked once at startup (get-credits is free) and kept up to date by every answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import ErrorKind, UploadError
from bot.domain.followups.ports import Credits

log = logging.getLogger("bot")


class AccountState(StrEnum):
    """MusicAPI as the bot last saw it; `/healthz` reports it."""

    UNKNOWN = "unknown"
    OK = "ok"
    KEY_REJECTED = "key_rejected"
    UNREACHABLE = "unreachable"


@dataclass
class AccountHealth:
    """The last thing MusicAPI's answers said about the account (one per process)."""

    state: AccountState = AccountState.UNKNOWN
    credits: int | None = None

    def answered(self, status: int) -> None:
        """MusicAPI answered with HTTP `status`: a 401 means the key is rejected, a 5xx says nothing
        about the key, any other answer means the key was accepted."""
        if status == 401:
            self.state = AccountState.KEY_REJECTED
        elif status < 500:
            self.state = AccountState.OK

    def unreachable(self) -> None:
        """No answer at all (no connection, a timeout); a rejected key stays rejected until an answer
        says otherwise."""
        if self.state is not AccountState.KEY_REJECTED:
            self.state = AccountState.UNREACHABLE


async def check_account(get_credits: Callable[[], Awaitable[Credits]], health: AccountHealth) -> None:
    """Ask MusicAPI for the account's credits (free) and say in one log line what came back: the
    credits left, a rejected MUSICAPI_API_KEY (one ERROR line), or that MusicAPI did not answer."""
    try:
        credits = await get_credits()
    except UploadError as exc:
        if exc.kind is ErrorKind.UNAUTHORIZED:
            health.state = AccountState.KEY_REJECTED
            log.error(
                "MusicAPI rejected MUSICAPI_API_KEY: uploads and follow-ups fail until it is fixed "
                "(copy the key again from your MusicAPI dashboard)"
            )
        else:
            log.warning(
                "MusicAPI did not answer the startup credit check (%s); the bot runs on", exc.kind.value
            )
        return
    except Exception:  # a fault of the bot's own: said once; the bot runs on, and closes cleanly
        log.exception("the startup credit check failed unexpectedly; the bot runs on")
        return
    health.state, health.credits = AccountState.OK, credits.total
    log.info("MusicAPI key accepted: %d credits left", credits.total)
