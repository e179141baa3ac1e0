"""The bot: a `commands.Bot` that owns the settings, the shared HTTP session, the store and the services."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import discord
from discord import app_commands
from discord.backoff import ExponentialBackoff
from discord.ext import commands

from bot.commands_sync import sync_commands
from bot.delivery import Delivery
from bot.inflight import InFlight
from bot.musicapi import MusicAPIClient
from bot.settings import Settings
from bot.store import SQLiteUploadStore, UploadStore
from bot.texts import Texts
from bot.translator import CatalogTranslator
from bot.uploads import UploadService
from bot.watcher import PendingWatcher
from bot.web import WebServer

log = logging.getLogger(__name__)

EXTENSIONS = ("cogs.upload", "cogs.message_upload", "cogs.history")

#: How long shutdown lets in-flight uploads finish before interrupting them, and then waits for answers.
SHUTDOWN_GRACE = 3.0
SHUTDOWN_ANSWER_WAIT = 4.0


#: Connections one host may hold at once. Per host, so that answers to Discord never queue behind
#: slow uploads to MusicAPI.
CONNECTIONS_PER_HOST = 100


def http_session() -> aiohttp.ClientSession:
    """The one HTTP session the bot shares between MusicAPI and its late answers to Discord."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, limit_per_host=CONNECTIONS_PER_HOST))


class WebServerUnavailable(Exception):
    """The callback server cannot listen where WEB_HOST and WEB_PORT say."""


class MusicBot(commands.Bot):
    """Slash commands and context menus only: no privileged intents, no prefix commands."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.none(),
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            # Without the guilds intent no GUILD_CREATE follows READY, so there is nothing to wait for.
            guild_ready_timeout=0.1,
        )
        self.settings = settings
        self.session = session
        self.answering = InFlight()
        #: Set when shutdown begins: new commands are told the bot is restarting.
        self.closing = False
        self._store: UploadStore | None = None
        self._uploads: UploadService | None = None
        self._delivery: Delivery | None = None
        self._watcher: PendingWatcher | None = None
        self._web: WebServer | None = None

    @property
    def store(self) -> UploadStore:
        if self._store is None:
            raise RuntimeError("the store opens in setup_hook")
        return self._store

    @property
    def uploads(self) -> UploadService:
        if self._uploads is None:
            raise RuntimeError("the upload service starts in setup_hook")
        return self._uploads

    @property
    def delivery(self) -> Delivery:
        if self._delivery is None:
            raise RuntimeError("delivery starts in setup_hook")
        return self._delivery

    async def setup_hook(self) -> None:
        s = self.settings
        self._store = await SQLiteUploadStore.open(s.database_path)
        client = MusicAPIClient(
            self.session,
            base_url=s.musicapi_base_url,
            api_key=s.musicapi_api_key,
            timeout=s.musicapi_timeout,
            retries=s.musicapi_retries,
            backoff=s.musicapi_retry_backoff,
        )
        self._uploads = UploadService(
            client=client, store=self._store, upload_timeout=s.upload_timeout, callback_base=s.public_url
        )
        self._delivery = Delivery(self, self._store, self.session)
        self._watcher = PendingWatcher(
            uploads=self._uploads,
            store=self._store,
            deliver=self._delivery.deliver,
            poll_after=s.musicapi_poll_after,
            poll_interval=s.musicapi_poll_interval,
            deadline=s.musicapi_poll_deadline,
        )
        await self._watcher.recover()
        if s.callback_mode:
            self._web = WebServer(
                uploads=self._uploads,
                store=self._store,
                deliver=self._delivery.deliver,
                is_connected=self.is_connected,
                webhook_secret=s.musicapi_webhook_secret,
            )
            try:
                await self._web.start(s.web_host, s.web_port)
            except OSError as exc:
                raise WebServerUnavailable(
                    f"cannot listen on WEB_HOST {s.web_host}, WEB_PORT {s.web_port} ({exc.strerror})"
                ) from exc
        self._watcher.start()
        self.tree.error(self.on_app_command_error)
        await self.tree.set_translator(CatalogTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        guild = discord.Object(s.dev_guild_id) if s.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        await sync_commands(self, guild)

    async def connect(self, *, reconnect: bool = True) -> None:
        """discord.py's connect, retried while the very first gateway connection keeps failing.

        discord.py 2.7 retries a lost connection itself, but when the first one fails it stops with an
        AttributeError (it resumes from a socket it never had). A Discord outage at startup should not
        stop the bot, so it waits and tries again.
        """
        backoff = ExponentialBackoff(base=2)
        while not self.is_closed():
            try:
                await super().connect(reconnect=reconnect)
                return
            except AttributeError:
                if self.ws is not None or not reconnect:
                    raise
            delay = backoff.delay()
            log.warning("cannot reach Discord's gateway; trying again in %.0fs", delay)
            await asyncio.sleep(delay)

    def is_connected(self) -> bool:
        """Logged in, and the gateway connection is open."""
        return self.is_ready() and not self.is_closed() and self.ws is not None and self.ws.open

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """The last resort: log it for the operator, and still give the member an answer."""
        log.error("command %s failed", interaction.command and interaction.command.name, exc_info=error)
        text = Texts(interaction.locale.value)("error.internal")
        try:
            if interaction.response.is_done():  # "thinking…" is showing: it becomes the answer
                await interaction.edit_original_response(content=text)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell the member about the failure of interaction %s", interaction.id)

    async def close(self) -> None:
        """Finish or interrupt in-flight uploads, answer their members, then close the connections."""
        self.closing = True
        if self._uploads is not None and not self.is_closed():
            uploads = self._uploads
            if not await uploads.in_flight.wait_idle(SHUTDOWN_GRACE):
                log.info("interrupting %d upload(s) still in flight", uploads.in_flight.count)
                uploads.stop()
            await self.answering.wait_idle(SHUTDOWN_ANSWER_WAIT)
        if self._watcher is not None:
            await self._watcher.stop()
        if self._web is not None:
            web, self._web = self._web, None
            await web.stop()
        await super().close()
        if self._store is not None:
            store, self._store = self._store, None
            await store.close()

    async def on_ready(self) -> None:
        log.info("connected as %s (id %s)", self.user, self.user.id if self.user else "?")
