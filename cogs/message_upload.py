"""The message context menu "Upload to MusicAPI": every audio attachment of a message, one answer."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.host import Host
from bot.discord_app.interactions import refuse, texts_for
from bot.discord_app.translator import command_text as _


class MessageUpload(commands.Cog):
    def __init__(self, host: Host) -> None:
        self.host = host
        self.menu = app_commands.ContextMenu(
            name=_("cmd.message_upload"),
            callback=self.upload_message,
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
        )

    async def cog_load(self) -> None:
        self.host.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.host.tree.remove_command(self.menu.name, type=self.menu.type)

    async def upload_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        items = self.host.desk.audio_of(message)
        if not items:
            await refuse(interaction, texts_for(interaction)("message.no_audio"))
            return
        await self.host.desk.upload(interaction, items, source_message=message.jump_url)


async def setup(bot: Host) -> None:
    await bot.add_cog(MessageUpload(bot))
