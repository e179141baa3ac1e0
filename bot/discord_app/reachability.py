"""Waiting for Discord at startup: a machine that starts the bot before its network is up (or while
Discord is down) gets a bot that keeps trying, not one that exits."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable

import aiohttp
from discord.http import Route

from bot.domain.backoff import Backoff, Throttle

log = logging.getLogger("bot")

#: Between attempts: 1 s at first, doubling up to 30 s.
REACH_BACKOFF = Backoff(first=1.0, ceiling=30.0)
#: At most one log line this often while Discord cannot be reached.
REPORT_EVERY = 30.0
#: One attempt may take this long: a network that swallows packets is a failed attempt, not a hang.
ATTEMPT_TIMEOUT = 10.0


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, socket.gaierror):
        return "its name does not resolve"
    if isinstance(exc, TimeoutError):
        return f"no answer within {ATTEMPT_TIMEOUT:g}s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {exc.strerror or type(exc).__name__}"
    return type(exc).__name__


async def wait_for_discord(
    session: aiohttp.ClientSession,
    *,
    backoff: Backoff = REACH_BACKOFF,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Return once Discord's API answers at all (any HTTP status: GET /gateway needs no token); until
    then try again with growing delays, logging one line at most every REPORT_EVERY seconds."""
    url = f"{Route.BASE}/gateway"
    throttle = Throttle(REPORT_EVERY)
    attempt = 0
    started = clock()
    while True:
        try:
            timeout = aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT)
            async with session.get(url, timeout=timeout, allow_redirects=False):
                pass
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            if throttle.ready(clock()):
                log.warning(
                    "cannot reach Discord (%s): trying again with growing delays, /healthz answers 503 "
                    "until the bot is connected",
                    _reason(exc),
                )
            await sleep(backoff.delay(attempt))
            attempt += 1
            continue
        if attempt:
            log.info("Discord is reachable after %.0fs (%d attempts)", clock() - started, attempt + 1)
        return
