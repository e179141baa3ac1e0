"""The baseline for benchmarks/burst.py: the least a bot can do for `/upload url:`.

defer(thinking=True), POST the link to MusicAPI through one shared aiohttp session (as many connections
per host as BENCH_CONNECTIONS_PER_HOST says, 100 by default), edit the reply with the clip_id. No store, no retries, no per-user limit, no command sync: discord.py resolves an
interaction to a command by name in the local tree (global commands are the fallback for guild
interactions), so registering the command locally is enough against the fake Discord.

Configured like the real bot (DISCORD_TOKEN, MUSICAPI_API_KEY, MUSICAPI_BASE_URL) and pointed at the
fake Discord named by FAKE_DISCORD_URL, like tests/support/launch_bot.py. Stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

base = os.environ["FAKE_DISCORD_URL"]
Route.BASE = f"{base}/api/v10"
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base.replace("http", "ws") + "/gateway")

MUSICAPI_UPLOAD = os.environ["MUSICAPI_BASE_URL"].rstrip("/") + "/api/v1/sonic/upload"
HEADERS = {"Authorization": f"Bearer {os.environ['MUSICAPI_API_KEY']}"}


class MinimalBot(discord.Client):
    def __init__(self, session: aiohttp.ClientSession) -> None:
        super().__init__(intents=discord.Intents.none())
        self.session = session
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(app_commands.Command(name="upload", description="Upload", callback=upload))


async def upload(interaction: discord.Interaction, url: str) -> None:
    await interaction.response.defer(thinking=True)
    client = interaction.client
    assert isinstance(client, MinimalBot)
    async with client.session.post(MUSICAPI_UPLOAD, json={"url": url}, headers=HEADERS) as resp:
        body = await resp.json()
    await interaction.edit_original_response(content=f"clip_id: `{body['clip_id']}`")


async def run() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # As many connections to a host as the bot it is compared with (BENCH_CONNECTIONS_PER_HOST), so that
    # neither waits for a connection the other would have; aiohttp's default (100) otherwise.
    per_host = int(os.environ.get("BENCH_CONNECTIONS_PER_HOST", "100"))
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=per_host)
    async with aiohttp.ClientSession(connector=connector) as session, MinimalBot(session) as bot:
        runner = asyncio.create_task(bot.start(os.environ["DISCORD_TOKEN"]))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


if __name__ == "__main__":
    # The same library logging as the real bot, so both pay for the same log lines from discord.py.
    discord.utils.setup_logging(level=logging.INFO, root=True)
    asyncio.run(run())
