"""The last resort for a command that failed unexpectedly: log it for the operator, still answer the member."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.discord_app.interactions import ALREADY_ACKNOWLEDGED, Redelivered, is_acknowledged, texts_for
from bot.domain.ports import AlreadyRecorded

log = logging.getLogger(__name__)


async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    if isinstance(error, app_commands.CommandNotFound):
        await _command_gone(interaction, error)
        return
    if _answered_elsewhere(getattr(error, "original", error)):
        # Another delivery of this interaction answered it first: it carries it out, this one is quiet.
        log.info("interaction %s was delivered again; its first delivery answers it", interaction.id)
        return
    log.error("command %s failed", interaction.command and interaction.command.name, exc_info=error)
    text = texts_for(interaction)("error.internal")
    try:
        if is_acknowledged(interaction):  # "thinking…" is showing: it becomes the answer
            await interaction.edit_original_response(content=text)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell the member about the failure of interaction %s", interaction.id)


async def _command_gone(interaction: discord.Interaction, error: app_commands.CommandNotFound) -> None:
    """A command the bot no longer has, still in a member's cached command list: routine after an update,
    so one line in the log and a short answer that Discord will catch up."""
    log.info(
        "interaction %s for a command this bot no longer has: %r (type %s)",
        interaction.id,
        " ".join([*error.parents, error.name]),
        error.type.name,
    )
    try:
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])  # an autocomplete takes choices, not a message
        else:
            await interaction.response.send_message(texts_for(interaction)("command.gone"), ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell the member that interaction %s named an old command", interaction.id)


def _answered_elsewhere(error: BaseException) -> bool:
    return isinstance(error, Redelivered | AlreadyRecorded) or (
        isinstance(error, discord.HTTPException) and error.code == ALREADY_ACKNOWLEDGED
    )
