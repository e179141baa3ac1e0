"""The last resort for a command that failed unexpectedly: log it for the operator, still answer the member."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.discord_app.interactions import is_acknowledged, texts_for

log = logging.getLogger(__name__)


async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    log.error("command %s failed", interaction.command and interaction.command.name, exc_info=error)
    text = texts_for(interaction)("error.internal")
    try:
        if is_acknowledged(interaction):  # "thinking…" is showing: it becomes the answer
            await interaction.edit_original_response(content=text)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell the member about the failure of interaction %s", interaction.id)
