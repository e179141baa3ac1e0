"""Riding out a gateway outage quietly: connecting a shard with growing, jittered delays (one log line per
attempt, the traceback once), and discord.py's reconnect messages cut to one line after the first."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.shard import Shard

from bot.domain.backoff import Backoff

log = logging.getLogger("bot.gateway")

#: Between attempts to open a shard's gateway connection: 2 s at first, doubling up to a minute.
GATEWAY_BACKOFF = Backoff(first=2.0, ceiling=60.0)
#: How long opening one shard's connection (and its IDENTIFY) may take; discord.py's default is 180 s.
SHARD_CONNECT_TIMEOUT = 30.0
#: discord.py's message for each reconnect of a running shard (logger discord.shard), with a traceback.
RECONNECT_MESSAGE = "Attempting a reconnect for shard ID %s in %.2fs"


async def launch_shard(
    client: discord.AutoShardedClient,
    gateway: yarl.URL,
    shard_id: int,
    *,
    initial: bool,
    backoff: Backoff | None = None,
) -> None:
    """Open shard `shard_id`'s gateway connection, trying again until it opens, and start the shard.

    This replaces `AutoShardedClient.launch_shard`, which retries from inside its own `except` every 5 s
    with no backoff, so that each failure logs all the earlier tracebacks again, chained: a gateway
    refusing for 90 s wrote thousands of lines (https://github.com/Rapptz/discord.py/issues/10202).
    Here the first failure is logged with its traceback, each later one as one line.
    """
    backoff = backoff or GATEWAY_BACKOFF
    attempt = 0
    while True:
        try:
            coro = DiscordWebSocket.from_client(client, initial=initial, gateway=gateway, shard_id=shard_id)
            ws = await asyncio.wait_for(coro, timeout=client.shard_connect_timeout)
            break
        except Exception as exc:
            delay = backoff.delay(attempt)
            if attempt == 0:
                log.warning(
                    "could not connect shard %s to Discord's gateway; trying again in %.1fs",
                    shard_id,
                    delay,
                    exc_info=True,
                )
            else:
                log.warning(
                    "shard %s: gateway still unreachable (attempt %d: %s); trying again in %.1fs",
                    shard_id,
                    attempt + 1,
                    _brief(exc),
                    delay,
                )
            attempt += 1
        # Outside the `except`: the next failure is not chained to this one.
        await asyncio.sleep(delay)
    if attempt:
        log.info("shard %s connected to the gateway after %d attempts", shard_id, attempt + 1)
    # What discord.py's own launcher does with the open connection (its private shard table and queue).
    shards: dict[int, Shard] = getattr(client, "_AutoShardedClient__shards")  # noqa: B009
    queue: asyncio.PriorityQueue[Any] = getattr(client, "_AutoShardedClient__queue")  # noqa: B009
    shards[shard_id] = shard = Shard(ws, client, queue.put_nowait)
    shard.launch()


def _brief(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:120]}" if text else type(exc).__name__


class QuietReconnects(logging.Filter):
    """discord.py logs every reconnect of a running shard at ERROR with the same traceback: the first
    one of an outage keeps it, later ones become one WARNING line, until the shard is connected again."""

    def __init__(self) -> None:
        super().__init__()
        self._told: set[int] = set()

    def connected(self, shard_id: int) -> None:
        self._told.discard(shard_id)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != RECONNECT_MESSAGE or not isinstance(record.args, tuple) or not record.args:
            return True
        shard_id = record.args[0]
        if not isinstance(shard_id, int):
            return True
        if shard_id in self._told:
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        self._told.add(shard_id)
        return True


def quiet_reconnects() -> QuietReconnects:
    """A QuietReconnects filter on discord.py's shard logger; remove it with `forget_reconnects`."""
    found = QuietReconnects()
    logging.getLogger("discord.shard").addFilter(found)
    return found


def forget_reconnects(found: QuietReconnects) -> None:
    logging.getLogger("discord.shard").removeFilter(found)
