"""The bot: a `commands.AutoShardedBot` that holds what the composition root built and hands it to the cogs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import commands

from bot.discord_app.attachments import Attachments
from bot.discord_app.command_sync import sync_commands
from bot.discord_app.delivery import Delivery
from bot.discord_app.desk import UploadDesk, UploadLimits
from bot.discord_app.error_handler import on_app_command_error
from bot.discord_app.followups.delivery import FollowUpDelivery
from bot.discord_app.followups.desk import FollowUpDesk
from bot.discord_app.followups.views import upload_buttons
from bot.discord_app.host import History, Host
from bot.discord_app.responses import UnsureResponses
from bot.discord_app.translator import CatalogTranslator
from bot.domain.followups.ports import FollowUpMetrics
from bot.domain.followups.service import FollowUpService
from bot.domain.ports import Metrics, UploadStore
from bot.domain.uploads import UploadService

log = logging.getLogger(__name__)

EXTENSIONS = ("cogs.upload", "cogs.message_upload", "cogs.history", "cogs.follow_ups")


class MusicBot(commands.AutoShardedBot):
    """Slash commands and context menus only: no privileged intents, no prefix commands.

    It runs the shards `shard_ids` of `shard_count` (all of them, as many as Discord recommends, when
    neither is given). Everything it needs is built before it and handed in; it builds only its own
    Discord-side helpers.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        store: UploadStore,
        uploads: UploadService,
        limits: UploadLimits,
        follow_ups: FollowUpService,
        history: History | None = None,
        dev_guild_id: int | None = None,
        metrics: Metrics | None = None,
        follow_up_metrics: FollowUpMetrics | None = None,
        extensions: tuple[str, ...] = EXTENSIONS,
        shard_count: int | None = None,
        shard_ids: Sequence[int] | None = None,
        attachments: Attachments | None = None,
    ) -> None:
        #: Initial responses of ours Discord may have applied despite a 5xx (see `responses`).
        self.unsure_responses = UnsureResponses()
        sharding: dict[str, Any] = {"shard_count": shard_count}
        if shard_ids is not None:
            sharding["shard_ids"] = list(shard_ids)
        super().__init__(
            **sharding,
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.none(),
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            # Without the guilds intent no GUILD_CREATE follows READY, so there is nothing to wait for.
            guild_ready_timeout=0.1,
            http_trace=self.unsure_responses.trace,
        )
        self._extensions = extensions
        self._dev_guild_id = dev_guild_id
        #: What /uploads shows a member, and deletes at their request (their follow-ups too).
        self.uploads_log: History = history if history is not None else store
        actions = follow_ups.actions
        self.delivery = Delivery(
            self,
            store,
            session,
            metrics,
            buttons=(lambda records, texts: upload_buttons(records, texts, actions)) if actions else None,
            attachments=attachments,
        )
        self.follow_up_delivery = FollowUpDelivery(
            self, follow_ups.store, session, actions, attachments=attachments
        )
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

    def shard_states(self) -> list[tuple[int, float, bool]]:
        """Each shard's id, gateway latency (seconds) and whether its connection is open."""
        return [
            (shard_id, info.latency, not info.is_closed()) for shard_id, info in sorted(self.shards.items())
        ]

    def is_connected(self) -> bool:
        """Logged in, and the gateway connection of every shard this process runs is open."""
        states = self.shard_states()
        return self.is_ready() and not self.is_closed() and bool(states) and all(up for _, _, up in states)

    async def on_ready(self) -> None:
        log.info("connected as %s (id %s)", self.user, self.user.id if self.user else "?")


if TYPE_CHECKING:
    _host: type[Host] = MusicBot  # the bot offers the cogs all they use
