"""`/upload`: an attached audio file, a link to one, or a link to a Discord message becomes a clip_id."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import refuse, refuse_source, texts_for, upload_and_answer
from bot.app import MusicBot
from bot.message_links import MessageUnreadable, linked_attachments
from bot.sources import (
    MessageLink,
    Rejection,
    SourceRejected,
    audio_sources,
    check_attachment,
    check_link,
    parse_message_link,
)
from bot.translator import command_text as _


class Upload(commands.Cog):
    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    @app_commands.command(
        name=_("cmd.upload"),
        description=_("cmd.upload.description"),
    )
    @app_commands.rename(file=_("cmd.upload.file"), url=_("cmd.upload.url"))
    @app_commands.describe(
        file=_("cmd.upload.file.description"),
        url=_("cmd.upload.url.description"),
    )
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def upload(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment | None = None,
        url: app_commands.Range[str, 1, 4000] | None = None,
    ) -> None:
        texts = texts_for(interaction)
        if (file is None) == (url is None):
            reason = Rejection.NO_SOURCE if file is None else Rejection.BOTH_SOURCES
            await refuse(interaction, texts(f"source.{reason.value}"))
            return
        link = parse_message_link(url) if url else None
        if link is not None:
            await self._upload_linked_message(interaction, link)
            return
        kind = "file" if file is not None else "link"
        try:
            if file is not None:
                source = check_attachment(
                    file.filename,
                    file.content_type,
                    file.size,
                    file.url,
                    max_bytes=self.bot.settings.max_file_bytes,
                )
            else:
                source = check_link(url or "")
        except SourceRejected as exc:
            await refuse_source(interaction, exc, kind)
            return
        await upload_and_answer(self.bot, interaction, [source])

    async def _upload_linked_message(self, interaction: discord.Interaction, link: MessageLink) -> None:
        texts = texts_for(interaction)
        with self.bot.answering.track():
            if self.bot.closing:
                await refuse(interaction, texts("error.shutdown"))
                return
            # Reading the message (and checking the member may) takes a few requests: "thinking" first.
            await interaction.response.defer(thinking=True)
            try:
                attachments = await linked_attachments(
                    self.bot,
                    link,
                    user_id=interaction.user.id,
                    guild_id=interaction.guild_id,
                    channel_id=interaction.channel_id,
                )
            except MessageUnreadable as exc:
                await refuse(interaction, texts(exc.key))
                return
            s = self.bot.settings
            items = audio_sources(attachments, limit=s.max_message_attachments, max_bytes=s.max_file_bytes)
            if not items:
                await refuse(interaction, texts("message.no_audio"))
                return
            await upload_and_answer(self.bot, interaction, items)


async def setup(bot: MusicBot) -> None:
    await bot.add_cog(Upload(bot))
