"""Runs the real bot against loopback fakes of Discord and MusicAPI."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yarl
from aiohttp import web
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.composition import App, assemble, new_http_session
from bot.config import Settings
from bot.config.validation import validated
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, VALID_TOKEN, Call, FakeDiscord
from tests.fakes.musicapi import API_KEY, FakeMusicAPI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The fakes' accept queue: as a real service's, never what a burst waits on (the system's somaxconn caps it).
FAKE_BACKLOG = 4096


async def serve(app: web.Application, port: int = 0) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    # A burst opens a hundred connections at once; past the accept queue's default 128, SYNs are
    # dropped and retried a second later, which is the fake's delay, not the bot's.
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=FAKE_BACKLOG)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{bound}"


@dataclasses.dataclass
class Harness:
    discord: FakeDiscord
    musicapi: FakeMusicAPI
    discord_url: str
    musicapi_url: str
    tmp_path: Path

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "discord_token": VALID_TOKEN,
            "musicapi_api_key": API_KEY,
            "musicapi_base_url": self.musicapi_url,
            "musicapi_timeout": 5.0,
            "upload_timeout": 10.0,
            "musicapi_retry_backoff": 0.01,
            "database_url": f"sqlite:///{self.tmp_path / 'bot.db'}",
            "web_host": "127.0.0.1",
            "web_port": free_port(),  # the web server runs in every mode: never on a port in use
        }
        return validated(values | overrides)

    def env(self, **overrides: str) -> dict[str, str]:
        """Environment for running `python -m bot` against the fakes in a subprocess."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "MUSICAPI_"))}
        env.update(
            DISCORD_TOKEN=VALID_TOKEN,
            MUSICAPI_API_KEY=API_KEY,
            MUSICAPI_BASE_URL=self.musicapi_url,
            DATABASE_URL=f"sqlite:///{self.tmp_path / 'bot.db'}",
            FAKE_DISCORD_URL=self.discord_url,
            MUSICAPI_RETRY_BACKOFF="0.01",
            WEB_HOST="127.0.0.1",
            WEB_PORT=str(free_port()),
        )
        env.update(overrides)
        return env

    @contextlib.asynccontextmanager
    async def running(self, *, ready_within: float = 10.0, **overrides: Any) -> AsyncIterator[App]:
        """The bot and its services, logged in and connected to the fake gateway, until the block ends."""
        settings = self.settings(**overrides)
        self.discord.identified.clear()
        async with (
            new_http_session(settings.musicapi_concurrency) as session,
            assemble(settings, session) as app,
        ):
            task = asyncio.create_task(app.start())
            ready = asyncio.create_task(_until_ready(app))
            try:
                await asyncio.wait({task, ready}, timeout=ready_within, return_when=asyncio.FIRST_COMPLETED)
                if task.done():
                    task.result()
                assert ready.done(), "the bot did not become ready"
                yield app
            finally:
                ready.cancel()
                await app.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, 10)

    def expire_token(self, payload: dict[str, Any], status: int = 401) -> None:
        """From now on Discord refuses edits of `payload`'s response, as it does once the token expired."""
        body = (
            {"message": "Invalid Webhook Token", "code": 50027}
            if status == 401
            else {"message": "Unknown Webhook", "code": 10015}
        )
        self.discord.fail[("PATCH", f"/webhooks/{APP_ID}/{payload['token']}")] = (status, body)

    async def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        await self.discord.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def callback_of(self, payload: dict[str, Any], timeout: float = 10.0) -> Call:
        """The interaction response (defer or message) the bot sent for `payload`."""
        calls = await self.discord.wait_for(
            "POST", f"/interactions/{payload['id']}/{payload['token']}/callback", timeout=timeout
        )
        return calls[0]

    async def edits_of(self, payload: dict[str, Any], count: int = 1, timeout: float = 10.0) -> list[Call]:
        """The edits of the original response (the final answer) for `payload`."""
        return await self.discord.wait_for(
            "PATCH", f"/webhooks/{APP_ID}/{payload['token']}/messages/@original", count=count, timeout=timeout
        )

    async def answer(self, payload: dict[str, Any], timeout: float = 10.0) -> str:
        """The content of the first edit of `payload`'s response."""
        edit = (await self.edits_of(payload, timeout=timeout))[0]
        return str(edit.json["content"])


async def _until_ready(app: App) -> None:
    """Until the bot is connected; it may wait for Discord (and its web server) before logging in."""
    while True:
        with contextlib.suppress(RuntimeError):  # discord.py: not logged in yet
            await app.bot.wait_until_ready()
            return
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def make_harness(tmp_path: Path, fake_discord: FakeDiscord | None = None) -> AsyncIterator[Harness]:
    """Fresh fakes on loopback (`fake_discord`, if given: a FakeDiscord that also records more)."""
    fake_discord = fake_discord if fake_discord is not None else FakeDiscord()
    fake_music = FakeMusicAPI()
    d_runner, d_url = await serve(fake_discord.app())
    m_runner, m_url = await serve(fake_music.app())
    fake_discord.base_url = d_url
    fake_music.base_url = m_url
    # Members' files live on the fake's CDN, as they live on Discord's.
    old_cdn, payloads.CDN = payloads.CDN, f"{d_url}/cdn/attachments"
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = f"{d_url}/api/v10"
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(d_url.replace("http", "ws") + "/gateway")
    try:
        yield Harness(fake_discord, fake_music, d_url, m_url, tmp_path)
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway
        payloads.CDN = old_cdn
        for ws in list(fake_discord.sockets):
            await ws.close()
        await d_runner.cleanup()
        await m_runner.cleanup()
