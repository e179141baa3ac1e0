"""Waiting for Discord at startup when the network swallows packets: each attempt ends after a bound."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from discord.http import Route

import bot.discord_app.reachability as reachability
from bot.domain.backoff import Backoff


async def test_a_network_that_swallows_packets_is_an_attempt_that_ends_not_a_hang(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first three connections are accepted and never answered; the fourth gets an answer."""
    connections = 0
    silent: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        if connections <= 3:
            silent.append(writer)  # read nothing, answer nothing
            return
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr(Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    monkeypatch.setattr(reachability, "ATTEMPT_TIMEOUT", 0.2)
    caplog.set_level(logging.INFO, logger="bot")
    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.wait_for(
                reachability.wait_for_discord(session, backoff=Backoff(first=0.01, ceiling=0.05)), 30
            )
    finally:
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()
    assert connections == 4
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "no answer within 0.2s" in warnings[0]  # one line per 30 s
    assert any("Discord is reachable after" in r.getMessage() for r in caplog.records)
