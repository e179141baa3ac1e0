"""The Discord side of an upload command: guardrails, defer, run, answer. Shared by every entry point."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from bot import replies
from bot.sources import AttachmentInfo, Source, SourceRejected
from bot.texts import Texts
from bot.uploads import TOKEN_LIFETIME, Requester, Skipped

if TYPE_CHECKING:
    from bot.app import MusicBot

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


async def refuse(interaction: discord.Interaction, text: str) -> None:
    """Answer only the member and upload nothing (replacing a public "thinking" if there is one)."""
    if interaction.response.is_done():
        await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


async def refuse_source(interaction: discord.Interaction, exc: SourceRejected, kind: str) -> None:
    log.info(
        "upload refused user=%s guild=%s source=%s reason=%s",
        interaction.user.id,
        interaction.guild_id,
        kind,
        exc.reason.value,
    )
    await refuse(interaction, replies.rejection(texts_for(interaction), exc))


def attachment_info(attachment: discord.Attachment) -> AttachmentInfo:
    return AttachmentInfo(attachment.filename, attachment.content_type, attachment.size, attachment.url)


async def upload_and_answer(
    bot: MusicBot, interaction: discord.Interaction, items: Sequence[Source | SourceRejected]
) -> None:
    """Defer, upload every source (listing skipped files with their reason), and give the one final answer."""
    texts = texts_for(interaction)
    work = [
        item
        if isinstance(item, Source)
        else Skipped("file", str(item.details.get("filename", "")), replies.rejection(texts, item))
        for item in items
    ]
    with bot.answering.track():
        if bot.closing:
            await refuse(interaction, texts("error.shutdown"))
            return
        wanted = sum(isinstance(item, Source) for item in items)
        user_id = interaction.user.id
        if not bot.uploads.reserve(user_id, wanted, bot.settings.max_uploads_per_user):
            await refuse(interaction, texts("upload.busy_user", count=bot.uploads.pending_for(user_id)))
            return
        try:
            if not interaction.response.is_done():
                await interaction.response.defer(thinking=True)
        except BaseException:
            bot.uploads.release(user_id, wanted)
            raise
        try:
            records = await bot.uploads.start(requester(interaction), work)
        except Exception:
            log.exception("upload failed unexpectedly for interaction %s", interaction.id)
            await interaction.edit_original_response(content=texts("error.internal"))
            return
        await bot.delivery.deliver(interaction.id, records, interaction)
