"""The bot: a `commands.AutoShardedBot` that holds what the composition root built and hands it to the cogs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import yarl
from discord.ext import commands

from bot.discord_app.attachments import Attachments
from bot.discord_app.command_sync import sync_commands
from bot.discord_app.delivery import Delivery
from bot.discord_app.desk import UploadDesk, UploadLimits
from bot.discord_app.error_handler import on_app_command_error
from bot.discord_app.followups.delivery import FollowUpDelivery
from bot.discord_app.followups.desk import FollowUpDesk
from bot.discord_app.followups.views import UploadMenus
from bot.discord_app.gateway import SHARD_CONNECT_TIMEOUT, forget_reconnects, launch_shard, quiet_reconnects
from bot.discord_app.host import History, Host
from bot.discord_app.invite import invite_url
from bot.discord_app.reach import ReachTree, guild_installs_only
from bot.discord_app.translator import CatalogTranslator
from bot.domain.followups.ports import FollowUpMetrics
from bot.domain.followups.service import FollowUpService
from bot.domain.ports import Metrics, UploadStore
from bot.domain.reach import Reach
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
        reach: Reach | None = None,
    ) -> None:
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
            shard_connect_timeout=SHARD_CONNECT_TIMEOUT,
            tree_cls=ReachTree,
        )
        #: Where the bot works: checked by the tree before every command, and by follow-up buttons.
        self.reach = reach if reach is not None else Reach()
        if isinstance(self.tree, ReachTree):
            self.tree.reach = self.reach
        self._quiet_reconnects = quiet_reconnects()
        self._invite_logged = False
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
            buttons=UploadMenus(actions) if actions else None,
            attachments=attachments,
            alone=lambda: uploads.alone,
        )
        self.follow_up_delivery = FollowUpDelivery(
            self, follow_ups.store, session, actions, attachments=attachments, alone=lambda: uploads.alone
        )
        self.follow_ups = FollowUpDesk(
            client=self, service=follow_ups, delivery=self.follow_up_delivery, metrics=follow_up_metrics
        )
        self.follow_ups.reach = self.reach
        self.desk = UploadDesk(client=self, uploads=uploads, delivery=self.delivery, limits=limits)

    async def setup_hook(self) -> None:
        self.tree.error(on_app_command_error)
        await self.tree.set_translator(CatalogTranslator())
        for extension in self._extensions:
            await self.load_extension(extension)
        if not self.reach.allow_user_installs:
            guild_installs_only(self.tree)
        guild = discord.Object(self._dev_guild_id) if self._dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        await sync_commands(self, guild)

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        """discord.py's events, and `form_submit` (`on_form_submit` in a cog) for each submitted form.

        A form the bot opened is answered by whichever instance its submit reaches, also after a
        restart, and discord.py routes a submit only to a modal this process still holds. An
        `on_interaction` listener would see every submit, but costs every interaction a task of its own.
        """
        super().dispatch(event_name, *args, **kwargs)
        if event_name == "interaction" and args and args[0].type is discord.InteractionType.modal_submit:
            super().dispatch("form_submit", *args)

    async def launch_shard(self, gateway: yarl.URL, shard_id: int, *, initial: bool = False) -> None:
        # discord.py's launcher logs every earlier traceback again on each retry (Rapptz/discord.py#10202).
        await launch_shard(self, gateway, shard_id, initial=initial)

    async def on_shard_connect(self, shard_id: int) -> None:
        self._quiet_reconnects.connected(shard_id)

    async def close(self) -> None:
        # Closed before it logged in (while waiting for the network, or the web port was taken):
        # discord.py's sharded close expects the event queue that logging in creates.
        if getattr(self, "_AutoShardedClient__queue", None) is None:
            setattr(self, "_AutoShardedClient__queue", asyncio.PriorityQueue())  # noqa: B010
        await super().close()
        forget_reconnects(self._quiet_reconnects)

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
        if self.application_id is not None and not self._invite_logged:
            self._invite_logged = True
            log.info(
                "invite link (exactly the permissions the bot uses): %s", invite_url(self.application_id)
            )


if TYPE_CHECKING:
    _host: type[Host] = MusicBot  # the bot offers the cogs all they use
