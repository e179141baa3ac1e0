"""The bot: a `commands.Bot` that holds what the composition root built and hands it to the cogs."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord.backoff import ExponentialBackoff
from discord.ext import commands

from bot.discord_app.command_sync import sync_commands
from bot.discord_app.delivery import Delivery
from bot.discord_app.desk import UploadDesk, UploadLimits
from bot.discord_app.error_handler import on_app_command_error
from bot.discord_app.followup_delivery import FollowUpDelivery
from bot.discord_app.followup_desk import FollowUpDesk
from bot.discord_app.followup_views import upload_buttons
from bot.discord_app.host import Host
from bot.discord_app.translator import CatalogTranslator
from bot.domain.followup_ports import FollowUpMetrics
from bot.domain.followup_service import FollowUpService
from bot.domain.ports import Metrics, UploadStore
from bot.domain.uploads import UploadService

log = logging.getLogger(__name__)

EXTENSIONS = ("cogs.upload", "cogs.message_upload", "cogs.history", "cogs.follow_ups")


class MusicBot(commands.Bot):
    """Slash commands and context menus only: no privileged intents, no prefix commands.

    Everything it needs is built before it and handed in; it builds only its own Discord-side helpers.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        store: UploadStore,
        uploads: UploadService,
        limits: UploadLimits,
        follow_ups: FollowUpService,
        dev_guild_id: int | None = None,
        metrics: Metrics | None = None,
        follow_up_metrics: FollowUpMetrics | None = None,
        extensions: tuple[str, ...] = EXTENSIONS,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.none(),
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            # Without the guilds intent no GUILD_CREATE follows READY, so there is nothing to wait for.
            guild_ready_timeout=0.1,
        )
        self._extensions = extensions
        self._dev_guild_id = dev_guild_id
        self.uploads_log: UploadStore = store
        actions = follow_ups.actions
        self.delivery = Delivery(
            self,
            store,
            session,
            metrics,
            buttons=(lambda records, texts: upload_buttons(records, texts, actions)) if actions else None,
        )
        self.follow_up_delivery = FollowUpDelivery(self, follow_ups.store, session, actions)
        self.follow_ups = FollowUpDesk(
            client=self, service=follow_ups, delivery=self.follow_up_delivery, metrics=follow_up_metrics
        )
        self.desk = UploadDesk(client=self, uploads=uploads, delivery=self.delivery, limits=limits)

    async def setup_hook(self) -> None:
        self.tree.error(on_app_command_error)
        await self.tree.set_translator(CatalogTranslator())
        for extension in self._extensions:
            await self.load_extension(extension)
        guild = discord.Object(self._dev_guild_id) if self._dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        await sync_commands(self, guild)

    async def connect(self, *, reconnect: bool = True) -> None:
        """discord.py's connect, retried while the very first gateway connection keeps failing.

        discord.py 2.7 retries a lost connection itself, but when the first one fails it stops with an
        AttributeError (it resumes from a socket it never had: Rapptz/discord.py#10520). A Discord outage
        at startup should not stop the bot, so it waits and tries again.
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

    def shard_states(self) -> list[tuple[int, float, bool]]:
        """Each shard's id, gateway latency (seconds) and whether its connection is open."""
        return [(self.shard_id or 0, self.latency, self.is_connected())]

    def is_connected(self) -> bool:
        """Logged in, and the gateway connection is open."""
        return self.is_ready() and not self.is_closed() and self.ws is not None and self.ws.open

    async def on_ready(self) -> None:
        log.info("connected as %s (id %s)", self.user, self.user.id if self.user else "?")


if TYPE_CHECKING:
    _host: type[Host] = MusicBot  # the bot offers the cogs all they use
