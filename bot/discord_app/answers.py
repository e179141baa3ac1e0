"""Answering an interaction where its member sees it: edit its response (the live interaction's, else by
its token), else post in its channel mentioning the member, else DM them. Upload answers (`delivery`) and
follow-up results (`followups.delivery`) both go this way; what they send is an `attachments.Outgoing`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

import aiohttp
import discord

from bot.discord_app.attachments import Outgoing, edit_by_token
from bot.domain import rendering
from bot.domain.media import DEFAULT_ATTACHMENT_LIMIT
from bot.domain.records import ERASED_TOKEN

log = logging.getLogger(__name__)

#: What a request to Discord that did not go through raises (after discord.py's own retries; a timeout
#: is an OSError).
UNSENT = (discord.HTTPException, aiohttp.ClientError, OSError)

#: Do not count on a token that has less than this many seconds left.
TOKEN_MARGIN = 10.0
#: Answers ping nobody; a channel post pings its member only (`Answers.elsewhere`).
NO_MENTIONS = discord.AllowedMentions.none()

#: The same message with its files held to a smaller size per file (a DM takes only what any place takes).
Within = Callable[[int], Outgoing]


class Addressee(Protocol):
    """Where an interaction's answer goes: an upload or follow-up record."""

    interaction_id: int
    application_id: int
    interaction_token: str
    token_expires_at: float
    user_id: int
    guild_id: int | None
    channel_id: int | None


class Answers:
    """Puts one message in front of an interaction's member, by the first way that works."""

    def __init__(
        self, client: discord.Client, session: aiohttp.ClientSession, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._session = session
        self._clock = clock

    async def edit(
        self, to: Addressee, message: Outgoing, interaction: discord.Interaction | None = None
    ) -> bool:
        """Edit the interaction's response: the live interaction's (over the connection it arrived on),
        else by its token; False when the token is spent (expired, or erased once it expired or its answer
        was shown) or the edit failed."""
        if to.interaction_token == ERASED_TOKEN or self._clock() > to.token_expires_at - TOKEN_MARGIN:
            return False
        if interaction is not None:
            return await self.edit_live(interaction, message)
        return await self._edit_by_token(to.interaction_id, to.application_id, to.interaction_token, message)

    async def edit_live(self, interaction: discord.Interaction, message: Outgoing) -> bool:
        """Edit the live interaction's response; once discord.py has closed (Discord ended the gateway for
        good, and discord.py's session went with it), by its token over the bot's own session."""
        if interaction.client.is_closed():
            return await self._edit_by_token(
                interaction.id, interaction.application_id, interaction.token, message
            )
        try:
            # No allowed_mentions here: the client's (none, see client.py) goes with it; given again, discord.py
            # would merge the two on every edit.
            await interaction.edit_original_response(**message.edit_kwargs())
        except UNSENT as exc:
            _could_not_edit(interaction.id, exc)
            return False
        return True

    async def _edit_by_token(
        self, interaction_id: int, application_id: int, token: str, message: Outgoing
    ) -> bool:
        try:
            await edit_by_token(self._session, application_id, token, message)
        except UNSENT as exc:
            _could_not_edit(interaction_id, exc)
            return False
        return True

    async def elsewhere(self, to: Addressee, message: Outgoing, limit: int, within: Within) -> str | None:
        """The response can no longer be edited: post `message` in the interaction's channel mentioning
        the member (a server's channel only), else DM it to them, its files (held to `limit` bytes each)
        `within` what a DM takes. Which worked ("channel" or "dm"), or None when neither did."""
        if to.guild_id is not None and to.channel_id is not None:
            mention = discord.AllowedMentions(users=[discord.Object(to.user_id)], everyone=False, roles=False)
            extra = message.send_kwargs()
            text = rendering.fit_message(f"<@{to.user_id}> {extra.pop('content')}")
            try:
                channel = self._client.get_partial_messageable(to.channel_id, guild_id=to.guild_id)
                await channel.send(text, allowed_mentions=mention, **extra)
            except discord.HTTPException as exc:
                log.info("could not post in channel %s (HTTP %s); trying a DM", to.channel_id, exc.status)
            else:
                return "channel"
        dm = message if limit <= DEFAULT_ATTACHMENT_LIMIT else within(DEFAULT_ATTACHMENT_LIMIT)
        try:
            dm_channel = await self._client.create_dm(discord.Object(to.user_id))
            await dm_channel.send(allowed_mentions=NO_MENTIONS, **dm.send_kwargs())
        except discord.HTTPException as exc:
            log.error(
                "could not answer interaction %s of user %s (HTTP %s); its result is in the store",
                to.interaction_id,
                to.user_id,
                exc.status,
            )
            return None
        return "dm"


def _could_not_edit(interaction_id: int, exc: BaseException) -> None:
    log.warning("could not edit the reply to interaction %s (%s)", interaction_id, unsent_why(exc))


def unsent_why(exc: BaseException) -> str:
    """A request to Discord that failed, for the log: its HTTP status, else the kind of failure (never the
    exception's text, which may carry a webhook's URL, token and all)."""
    return f"HTTP {exc.status}" if isinstance(exc, discord.HTTPException) else type(exc).__name__
