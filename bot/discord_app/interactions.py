"""Small helpers every command uses: the member's language, who asked, and answers that upload nothing."""

from __future__ import annotations

import logging

import discord

from bot.domain import rendering
from bot.domain.records import TOKEN_LIFETIME, Requester, SourceKind
from bot.domain.sources import AttachmentInfo, SourceRejected
from bot.domain.texts import Texts

log = logging.getLogger(__name__)


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


async def refuse(interaction: discord.Interaction, text: str) -> None:
    """Answer only the member and upload nothing (replacing a public "thinking" if there is one)."""
    if interaction.response.is_done():
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
