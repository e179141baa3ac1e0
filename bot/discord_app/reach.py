"""Where the bot works (ALLOWED_GUILDS, ALLOW_USER_INSTALLS), checked before any command runs: elsewhere
the member gets one sentence, only they see it, and nothing reaches MusicAPI."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.discord_app.interactions import refuse, texts_for
from bot.domain.reach import Reach

log = logging.getLogger(__name__)


async def refused_here(reach: Reach, interaction: discord.Interaction) -> bool:
    """True (and the member told why) when the bot does not work where `interaction` comes from."""
    key = reach.refusal(interaction.guild_id, installed_in_guild=interaction.is_guild_integration())
    if key is None:
        return False
    log.info(
        "interaction refused user=%s guild=%s: %s",
        interaction.user.id,
        interaction.guild_id,
        key.split(".")[-1],
    )
    try:
        await refuse(interaction, texts_for(interaction)(key))
    except discord.HTTPException:
        log.warning("could not tell the member why interaction %s was refused", interaction.id)
    return True


class ReachTree(app_commands.CommandTree[Any]):
    """The bot's command tree: every command and context menu first checks where it was used."""

    reach: Reach = Reach()

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return not await refused_here(self.reach, interaction)


def guild_installs_only(tree: app_commands.CommandTree[Any]) -> None:
    """ALLOW_USER_INSTALLS=off: register every command for servers that added the bot only, so that
    members' own installs and DMs do not offer them at all (the check above still refuses old ones)."""
    for command in tree.get_commands():
        command.allowed_installs = app_commands.AppInstallationType(guild=True, user=False)
        command.allowed_contexts = app_commands.AppCommandContext(guild=True)
