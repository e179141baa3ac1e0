"""`/upload`: an attached audio file, a link to one, or a link to a Discord message becomes a clip_id."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.host import Host
from bot.discord_app.interactions import attachment_info, refuse, refuse_source, texts_for
from bot.discord_app.translator import command_text as _
from bot.domain.audio import check_attachment
from bot.domain.links import read_link
from bot.domain.records import SourceKind
from bot.domain.sources import MessageLink, Rejection, Source, SourceRejected


class Upload(commands.Cog):
    def __init__(self, host: Host) -> None:
        self.desk = host.desk

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
        if (file is None) == (url is None):
            reason = Rejection.NO_SOURCE if file is None else Rejection.BOTH_SOURCES
            await refuse(interaction, texts_for(interaction)(f"source.{reason.value}"))
            return
        kind = SourceKind.FILE if file is not None else SourceKind.LINK
        source: Source | MessageLink
        try:
            if file is not None:
                source = check_attachment(attachment_info(file), max_bytes=self.desk.limits.max_file_bytes)
            else:
                source = read_link(url or "")
        except SourceRejected as exc:
            await refuse_source(interaction, exc, kind)
            return
        if isinstance(source, MessageLink):
            await self.desk.upload_linked_message(interaction, source)
        else:
            await self.desk.upload(interaction, [source])


async def setup(bot: Host) -> None:
    await bot.add_cog(Upload(bot))
