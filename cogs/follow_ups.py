"""Extend and Cover on every clip_id (persistent buttons); "Extend or cover" on someone else's result, for
the members a server's admins allow (Manage Server by default, widened or narrowed in Integrations);
and the owner's `/credits`."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.followups.views import FollowUpButton, GrantedButton, MoreMenu, PartnerMenu
from bot.discord_app.host import Host
from bot.discord_app.translator import command_text as _


class FollowUps(commands.Cog):
    def __init__(self, host: Host) -> None:
        self.host = host
        self.follow_ups = host.follow_ups
        self.menu = app_commands.ContextMenu(
            name=_("cmd.follow_up_others"),
            callback=self.follow_up_others,
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
            allowed_contexts=app_commands.AppCommandContext(guild=True),
        )
        # Server admins only, until they give it to roles, members or channels in Integrations.
        self.menu.default_permissions = discord.Permissions(manage_guild=True)

    async def cog_load(self) -> None:
        self.host.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.host.tree.remove_command(self.menu.name, type=self.menu.type)

    async def follow_up_others(self, interaction: discord.Interaction, message: discord.Message) -> None:
        await self.follow_ups.on_message_of_others(interaction, message)

    @app_commands.command(name=_("cmd.credits"), description=_("cmd.credits.description"))
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    # Hidden in servers from everyone but admins (Discord cannot hide it from all but the bot's owner);
    # anyone else who runs it anyway is told it is for the owner.
    @app_commands.default_permissions()
    async def credits(self, interaction: discord.Interaction) -> None:
        await self.follow_ups.credits(interaction)

    @commands.Cog.listener()
    async def on_form_submit(self, interaction: discord.Interaction) -> None:
        """Extend and Cover forms coming back (also those opened before a restart): `form_submit` is
        the bot's own event (`MusicBot.dispatch`), for each modal submit."""
        await self.follow_ups.form_submitted(interaction)


async def setup(bot: Host) -> None:
    bot.add_dynamic_items(FollowUpButton, GrantedButton, MoreMenu, PartnerMenu)
    await bot.add_cog(FollowUps(bot))
