"""Extend and Cover on every clip_id (persistent buttons), and the owner's `/credits`."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.followup_views import FollowUpButton
from bot.discord_app.host import Host
from bot.discord_app.translator import command_text as _


class FollowUps(commands.Cog):
    def __init__(self, host: Host) -> None:
        self.follow_ups = host.follow_ups

    @app_commands.command(name=_("cmd.credits"), description=_("cmd.credits.description"))
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def credits(self, interaction: discord.Interaction) -> None:
        await self.follow_ups.credits(interaction)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Extend and Cover forms coming back (also those opened before a restart)."""
        await self.follow_ups.form_submitted(interaction)


async def setup(bot: Host) -> None:
    bot.add_dynamic_items(FollowUpButton)
    await bot.add_cog(FollowUps(bot))
