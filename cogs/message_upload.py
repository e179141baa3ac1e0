"""The message context menu "Upload to MusicAPI": every audio attachment of a message, one answer."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import attachment_info, refuse, texts_for, upload_and_answer
from bot.app import MusicBot
from bot.sources import audio_sources
from bot.translator import command_text as _


class MessageUpload(commands.Cog):
    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(
            name=_("cmd.message_upload"),
            callback=self.upload_message,
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
        )

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def upload_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        s = self.bot.settings
        items = audio_sources(
            [attachment_info(a) for a in message.attachments],
            limit=s.max_message_attachments,
            max_bytes=s.max_file_bytes,
        )
        if not items:
            await refuse(interaction, texts_for(interaction)("message.no_audio"))
            return
        await upload_and_answer(self.bot, interaction, items)


async def setup(bot: MusicBot) -> None:
    await bot.add_cog(MessageUpload(bot))
