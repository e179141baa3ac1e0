"""Small helpers every command uses: the member's language, who asked, and answers that upload nothing."""

from __future__ import annotations

import logging

import discord

from bot.domain import rendering
from bot.domain.records import TOKEN_LIFETIME, Requester, SourceKind
from bot.domain.sources import AttachmentInfo, SourceRejected
from bot.domain.texts import Texts

log = logging.getLogger(__name__)

#: Discord's code for a second initial response to one interaction.
ALREADY_ACKNOWLEDGED = 40060
_ACKNOWLEDGED = "acknowledged"


def texts_for(interaction: discord.Interaction) -> Texts:
    return Texts(interaction.locale.value)


def requester(interaction: discord.Interaction) -> Requester:
    """What the upload needs to know of the interaction, to answer now or after a restart."""
    return Requester(
        interaction_id=interaction.id,
        application_id=interaction.application_id,
        token=interaction.token,
        user_id=interaction.user.id,
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        locale=interaction.locale.value,
        token_expires_at=interaction.created_at.timestamp() + TOKEN_LIFETIME,
    )


def attachment_info(attachment: discord.Attachment) -> AttachmentInfo:
    return AttachmentInfo(attachment.filename, attachment.content_type, attachment.size, attachment.url)


def is_acknowledged(interaction: discord.Interaction) -> bool:
    """The interaction has its initial response (by discord.py's account, or by Discord's)."""
    return interaction.response.is_done() or bool(interaction.extras.get(_ACKNOWLEDGED))


async def think(interaction: discord.Interaction) -> None:
    """Show "thinking…" (the initial response), unless the interaction already has one.

    Discord may answer a 5xx although it applied the response; discord.py then tries again and Discord
    refuses that as "already acknowledged" (40060): the "thinking" is showing, so carry on.
    """
    if is_acknowledged(interaction):
        return
    try:
        await interaction.response.defer(thinking=True)
    except discord.HTTPException as exc:
        if exc.code != ALREADY_ACKNOWLEDGED:
            raise
        log.info("Discord had already applied the response to interaction %s; carrying on", interaction.id)
        interaction.extras[_ACKNOWLEDGED] = True


async def refuse(interaction: discord.Interaction, text: str) -> None:
    """Answer only the member and upload nothing (replacing a public "thinking" if there is one)."""
    if is_acknowledged(interaction):
        await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


async def refuse_source(interaction: discord.Interaction, exc: SourceRejected, kind: SourceKind) -> None:
    log.info(
        "upload refused user=%s guild=%s source=%s reason=%s",
        interaction.user.id,
        interaction.guild_id,
        kind.value,
        exc.reason.value,
    )
    await refuse(interaction, rendering.refusal(texts_for(interaction), exc))
