"""The baseline for benchmarks/burst.py: the least a bot can do for `/upload url:`.

defer(thinking=True), POST the link to MusicAPI through one shared aiohttp session (as many connections
per host as BENCH_CONNECTIONS_PER_HOST says, 100 by default), edit the reply with the clip_id. No store, no retries, no per-user limit, no command sync: discord.py resolves an
interaction to a command by name in the local tree (global commands are the fallback for guild
interactions), so registering the command locally is enough against the fake Discord.

With PUBLIC_URL and WEB_PORT set, the least a bot can do in callback mode: defer, POST the link with a
callback URL naming the interaction, edit the reply to say MusicAPI is processing it; when MusicAPI's
callback comes (an aiohttp web server on WEB_HOST:WEB_PORT), answer it and edit the reply with the
clip_id. No store, no signature check, no restart safety.

With BENCH_DURABLE_DB set (a SQLite file), the least a bot that loses nothing to a `kill -9` must add:
our bot's own upload store on that file, asked exactly what our upload path asks of it (record the
upload before sending it, settle it before showing it, mark it shown after), and nothing else of our
bot. Its figures against the plain minimal bot's are the price of durability alone.

Configured like the real bot (DISCORD_TOKEN, MUSICAPI_API_KEY, MUSICAPI_BASE_URL) and pointed at the
fake Discord named by FAKE_DISCORD_URL, like tests/support/launch_bot.py. Stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from typing import Any

import aiohttp
import discord
import yarl
from aiohttp import web
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

base = os.environ["FAKE_DISCORD_URL"]
Route.BASE = f"{base}/api/v10"
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base.replace("http", "ws") + "/gateway")

MUSICAPI_UPLOAD = os.environ["MUSICAPI_BASE_URL"].rstrip("/") + "/api/v1/sonic/upload"
HEADERS = {"Authorization": f"Bearer {os.environ['MUSICAPI_API_KEY']}"}
PUBLIC_URL = os.environ.get("PUBLIC_URL", "").rstrip("/")
DURABLE_DB = os.environ.get("BENCH_DURABLE_DB", "")


class MinimalBot(discord.Client):
    def __init__(self, session: aiohttp.ClientSession, store: Any = None) -> None:
        super().__init__(intents=discord.Intents.none())
        self.session = session
        self.store = store  # BENCH_DURABLE_DB: our bot's SQLiteUploadStore
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(app_commands.Command(name="upload", description="Upload", callback=upload))
        self.waiting: dict[str, discord.Interaction] = {}  # callback mode: interaction id -> interaction
        self.edits: set[asyncio.Task[object]] = set()

    async def callback(self, request: web.Request) -> web.Response:
        """MusicAPI's callback: answer it, and edit the interaction's reply with the clip_id meanwhile."""
        body = await request.json()
        interaction = self.waiting.pop(request.match_info["key"])
        edit = asyncio.create_task(
            interaction.edit_original_response(content=f"clip_id: `{body['data'][0]['clip_id']}`")
        )
        self.edits.add(edit)
        edit.add_done_callback(self.edits.discard)
        return web.json_response({"status": "ok"})


async def upload(interaction: discord.Interaction, url: str) -> None:
    await interaction.response.defer(thinking=True)
    client = interaction.client
    assert isinstance(client, MinimalBot)
    if client.store is not None and not PUBLIC_URL:
        await durable_upload(client, interaction, url)
        return
    payload = {"url": url}
    if PUBLIC_URL:
        payload["callback_url"] = f"{PUBLIC_URL}/callback/{interaction.id}"
        client.waiting[str(interaction.id)] = interaction
    async with client.session.post(MUSICAPI_UPLOAD, json=payload, headers=HEADERS) as resp:
        body = await resp.json()
    if PUBLIC_URL:
        await interaction.edit_original_response(content=f"MusicAPI is processing {url}")
    else:
        await interaction.edit_original_response(content=f"clip_id: `{body['clip_id']}`")


async def durable_upload(client: MinimalBot, interaction: discord.Interaction, url: str) -> None:
    """The sync upload with our upload store's three writes, as our upload path makes them."""
    from bot.domain.records import SourceKind, UploadRecord

    record = await client.store.add(
        UploadRecord(
            interaction_id=interaction.id,
            application_id=interaction.application_id,
            interaction_token=interaction.token,
            token_expires_at=interaction.created_at.timestamp() + 900,
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            locale=interaction.locale.value,
            source_kind=SourceKind.LINK,
            label=url,
        )
    )
    async with client.session.post(MUSICAPI_UPLOAD, json={"url": url}, headers=HEADERS) as resp:
        body = await resp.json()
    await client.store.finish(record.key, clip_id=body["clip_id"])
    await interaction.edit_original_response(content=f"clip_id: `{body['clip_id']}`")
    await client.store.mark_delivered(interaction.id)


async def open_durable_store() -> Any:
    if not DURABLE_DB:
        return None
    from pathlib import Path

    from bot.storage.sqlite import SQLiteUploadStore

    return await SQLiteUploadStore.open(Path(DURABLE_DB))


async def run() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # As many connections to a host as the bot it is compared with (BENCH_CONNECTIONS_PER_HOST), so that
    # neither waits for a connection the other would have; aiohttp's default (100) otherwise.
    per_host = int(os.environ.get("BENCH_CONNECTIONS_PER_HOST", "100"))
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=per_host)
    store = await open_durable_store()
    async with aiohttp.ClientSession(connector=connector) as session, MinimalBot(session, store) as bot:
        if PUBLIC_URL:
            app = web.Application()
            app.router.add_post("/callback/{key}", bot.callback)
            server = web.AppRunner(app)
            await server.setup()
            await web.TCPSite(
                server, os.environ.get("WEB_HOST", "127.0.0.1"), int(os.environ["WEB_PORT"])
            ).start()
        runner = asyncio.create_task(bot.start(os.environ["DISCORD_TOKEN"]))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        if PUBLIC_URL:
            await server.cleanup()
    if store is not None:
        await store.close()


if __name__ == "__main__":
    # The same library logging as the real bot, so both pay for the same log lines from discord.py.
    discord.utils.setup_logging(level=logging.INFO, root=True)
    asyncio.run(run())
