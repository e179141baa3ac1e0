"""`/upload`: an attached audio file or a link becomes a MusicAPI clip_id."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.answers import refuse, refuse_source, texts_for, upload_and_answer
from bot.app import MusicBot
from bot.sources import Rejection, SourceRejected, check_attachment, check_link


class Upload(commands.Cog):
    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    @app_commands.command(
        name=_("upload", key="cmd.upload"),
        description=_(
            "Upload an audio file or a link to MusicAPI and get its clip_id", key="cmd.upload.description"
        ),
    )
    @app_commands.rename(file=_("file", key="cmd.upload.file"), url=_("url", key="cmd.upload.url"))
    @app_commands.describe(
        file=_("An audio file (mp3, wav, ogg, m4a, flac…)", key="cmd.upload.file.description"),
        url=_("A direct link to an audio file", key="cmd.upload.url.description"),
    )
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
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
        try:
            if file is not None:
                kind = "file"
                source = check_attachment(
                    file.filename,
                    file.content_type,
                    file.size,
                    file.url,
                    max_bytes=self.bot.settings.max_file_bytes,
                )
            else:
                kind = "link"
                source = check_link(url or "")
        except SourceRejected as exc:
            await refuse_source(interaction, exc, kind)
            return
        await upload_and_answer(self.bot, interaction, [source])


async def setup(bot: MusicBot) -> None:
    await bot.add_cog(Upload(bot))
