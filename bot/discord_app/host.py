"""What the cogs use of the bot: a narrow interface, so that no cog depends on the bot class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.desk import UploadLimits
from bot.domain.followups.records import ClipOrigin, Operation
from bot.domain.records import UploadRecord
from bot.domain.sources import MessageLink, Source, SourceRejected


class Desk(Protocol):
    """Takes uploads from interactions and gives each its one final answer."""

    @property
    def limits(self) -> UploadLimits: ...
    def audio_of(self, message: discord.Message) -> list[Source | SourceRejected]: ...
    async def upload(
        self,
        interaction: discord.Interaction,
        items: Sequence[Source | SourceRejected],
        source_message: str | None = None,
    ) -> None: ...
    async def upload_linked_message(self, interaction: discord.Interaction, link: MessageLink) -> None: ...


class History(Protocol):
    """A member's own uploads, newest first; and deleting them at the member's request."""

    async def history(self, user_id: int, *, limit: int, offset: int = 0) -> list[UploadRecord]: ...
    async def forget_member(self, user_id: int) -> int: ...


class FollowUps(Protocol):
    """Extend and Cover from a clip_id, and the owner's view of the credits they spend."""

    async def press(
        self,
        interaction: discord.Interaction,
        action: Operation,
        origin: ClipOrigin,
        source_id: int,
        grant: str | None = None,
    ) -> None: ...
    async def on_message_of_others(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None: ...
    async def credits(self, interaction: discord.Interaction) -> None: ...
    async def form_submitted(self, interaction: discord.Interaction) -> None: ...


class Host(Protocol):
    """The bot as a cog sees it."""

    @property
    def follow_ups(self) -> FollowUps: ...
    @property
    def desk(self) -> Desk: ...
    @property
    def uploads_log(self) -> History: ...
    @property
    def tree(self) -> app_commands.CommandTree[Any]: ...
    async def add_cog(self, cog: commands.Cog, /) -> None: ...
    def add_dynamic_items(self, *items: type[discord.ui.DynamicItem[Any]]) -> None: ...
