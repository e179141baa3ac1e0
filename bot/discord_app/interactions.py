"""Small helpers every command uses: the member's language, who asked, and answers that upload nothing."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import discord

from bot.discord_app.answers import UNSENT, unsent_why
from bot.discord_app.responses import WatchedResponse
from bot.domain import rendering
from bot.domain.ports import AlreadyRecorded
from bot.domain.records import TOKEN_LIFETIME, Requester, SourceKind
from bot.domain.sources import AttachmentInfo, SourceRejected
from bot.domain.texts import Texts

log = logging.getLogger(__name__)

#: Discord's code for a second initial response to one interaction.
ALREADY_ACKNOWLEDGED = 40060
_ACKNOWLEDGED = "acknowledged"


def texts_for(interaction: discord.Interaction) -> Texts:
    return Texts(interaction.locale.value)


def requester(interaction: discord.Interaction, source_message: str | None = None) -> Requester:
    """What the upload needs to know of the interaction, to answer now or after a restart;
    `source_message`: the link of the message its files come from."""
    return Requester(
        interaction_id=interaction.id,
        application_id=interaction.application_id,
        token=interaction.token,
        user_id=interaction.user.id,
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        locale=interaction.locale.value,
        token_expires_at=interaction.created_at.timestamp() + TOKEN_LIFETIME,
        attachment_limit=interaction.filesize_limit or None,
        source_message=source_message,
    )


def attachment_info(attachment: discord.Attachment) -> AttachmentInfo:
    return AttachmentInfo(attachment.filename, attachment.content_type, attachment.size, attachment.url)


def is_acknowledged(interaction: discord.Interaction) -> bool:
    """The interaction has its initial response (by discord.py's account, or by Discord's)."""
    return interaction.response.is_done() or bool(interaction.extras.get(_ACKNOWLEDGED))


class Redelivered(Exception):
    """Discord already holds an initial response to this interaction from another delivery of it (a
    gateway resume, a shard handover, another instance): that delivery carries it out and answers; this
    one starts nothing and sends nothing."""

    def __init__(self, interaction_id: int) -> None:
        super().__init__(f"interaction {interaction_id} was delivered again")
        self.interaction_id = interaction_id


async def respond(interaction: discord.Interaction, response: Awaitable[object]) -> None:
    """Send the initial response (a defer, a message, a modal).

    Refused as "already acknowledged" (40060): after a try of this very call that Discord answered with
    a 5xx, that try was applied, so carry on; otherwise another delivery of the interaction answered
    first, and Redelivered is raised.
    """
    call = WatchedResponse()
    try:
        await call.send(response)
    except discord.HTTPException as exc:
        if exc.code != ALREADY_ACKNOWLEDGED:
            raise
        if not call.unsure:
            log.info("interaction %s was delivered again; its first delivery answers it", interaction.id)
            raise Redelivered(interaction.id) from None
        log.info("Discord had already applied the response to interaction %s; carrying on", interaction.id)
        interaction.extras[_ACKNOWLEDGED] = True


async def answer_once(interaction: discord.Interaction, response: Awaitable[object]) -> None:
    """Send the initial response, or nothing when another delivery of the interaction answered first."""
    with contextlib.suppress(Redelivered):
        await respond(interaction, response)


async def think(interaction: discord.Interaction) -> None:
    """Show "thinking…" (the initial response), unless the interaction already has one. Raises
    Redelivered when another delivery of the interaction answered it first (see `respond`)."""
    if not is_acknowledged(interaction):
        await respond(interaction, interaction.response.defer(thinking=True))


async def refuse(interaction: discord.Interaction, text: str) -> None:
    """Answer only the member and upload nothing, replacing a public "thinking" if there is one (in its
    place when "thinking" cannot be deleted). A delivery of an interaction that another delivery answered
    first says nothing."""
    if not is_acknowledged(interaction):
        await answer_once(interaction, interaction.response.send_message(text, ephemeral=True))
        return
    # "thinking" goes first: Discord takes the first follow-up after a defer for the deferred response
    # itself, shown as the defer was (publicly here), whatever the follow-up's own flags say.
    try:
        await interaction.delete_original_response()
    except discord.NotFound:
        pass  # gone already: a try of this very call that Discord applied
    except UNSENT as exc:
        log.warning("could not delete the thinking of interaction %s (%s)", interaction.id, unsent_why(exc))
        await _say(interaction, interaction.edit_original_response(content=text))
        return
    await _say(interaction, interaction.followup.send(text, ephemeral=True))


async def _say(interaction: discord.Interaction, request: Awaitable[object]) -> None:
    """Send a refusal; one that fails is logged (the member has nothing more to be told)."""
    try:
        await request
    except UNSENT as exc:
        log.warning(
            "could not tell the member why interaction %s uploads nothing (%s)",
            interaction.id,
            unsent_why(exc),
        )


async def refuse_source(interaction: discord.Interaction, exc: SourceRejected, kind: SourceKind) -> None:
    log.info(
        "upload refused user=%s guild=%s source=%s reason=%s",
        interaction.user.id,
        interaction.guild_id,
        kind.value,
        exc.reason.value,
    )
    await refuse(interaction, rendering.refusal(texts_for(interaction), exc))


async def internal_error(interaction: discord.Interaction) -> None:
    """Tell the member something went wrong on the bot's side (an unexpected exception, logged by the
    caller): in place of its "thinking…", else privately; the message a button sits on stays as it is."""
    text = texts_for(interaction)("error.internal")
    try:
        if not is_acknowledged(interaction):
            await interaction.response.send_message(text, ephemeral=True)
        elif interaction.response.type in _UPDATES:
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.edit_original_response(content=text, view=None)
    except discord.HTTPException:
        log.warning("could not tell the member about the failure of interaction %s", interaction.id)


#: Initial responses that edit the message a component sits on (its content must not become an error).
_UPDATES = frozenset(
    {discord.InteractionResponseType.deferred_message_update, discord.InteractionResponseType.message_update}
)

_Item = TypeVar("_Item")


def answering_failures(
    callback: Callable[[_Item, discord.Interaction], Coroutine[Any, Any, None]],
) -> Callable[[_Item, discord.Interaction], Coroutine[Any, Any, None]]:
    """A button's or menu's callback whose unexpected failure still gets an answer: of an exception in a
    persistent component's callback discord.py only logs a line, and the member would be left with
    "This interaction failed". Another delivery of the interaction (Redelivered, AlreadyRecorded)
    answers it, so that one ends quietly."""

    @functools.wraps(callback)
    async def run(item: _Item, interaction: discord.Interaction) -> None:
        try:
            await callback(item, interaction)
        except (Redelivered, AlreadyRecorded):
            log.info("interaction %s was delivered again; its first delivery answers it", interaction.id)
        except Exception:
            log.exception("interaction %s failed unexpectedly", interaction.id)
            await internal_error(interaction)

    return run
