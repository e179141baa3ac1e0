"""Putting a follow-up in front of its member, in the channel where it was asked for: edit the modal's
answer, else post in the channel mentioning the member, else DM. Rendered from the store each time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable

import aiohttp
import discord

from bot.discord_app.attachments import (
    Attachments,
    Outgoing,
    edit_by_token,
    file_message,
    limit_for,
    song_message,
)
from bot.discord_app.delivery import TOKEN_MARGIN
from bot.discord_app.followups.views import song_buttons
from bot.domain import rendering
from bot.domain.followups.catalog import CATALOG, ResultKind
from bot.domain.followups.files import attached
from bot.domain.followups.ports import FollowUpStore
from bot.domain.followups.records import FollowUpRecord, FollowUpState, Operation
from bot.domain.media import DEFAULT_ATTACHMENT_LIMIT
from bot.domain.records import ERASED_TOKEN
from bot.domain.texts import Texts

log = logging.getLogger(__name__)


class FollowUpDelivery:
    def __init__(
        self,
        client: discord.Client,
        store: FollowUpStore,
        session: aiohttp.ClientSession,
        actions: frozenset[Operation],
        clock: Callable[[], float] = time.time,
        attachments: Attachments | None = None,
    ) -> None:
        #: Songs arrive as files (turned off: as links only).
        self.attachments = attachments or Attachments(None)
        self._client = client
        self._store = store
        self._session = session
        self._actions = actions
        self._clock = clock
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, follow_up_id: int) -> asyncio.Lock:
        lock = self._locks.get(follow_up_id)
        if lock is None:
            lock = self._locks[follow_up_id] = asyncio.Lock()
        return lock

    async def deliver(self, follow_up_id: int, interaction: discord.Interaction | None = None) -> bool:
        """Show the follow-up as it stands now; True once its member has seen the final result."""
        async with self._lock(follow_up_id):
            record = await self._store.get(follow_up_id)
            if record is None:
                return False
            if record.finished and record.delivered:
                return True
            texts = Texts(record.locale)
            content = rendering.follow_up(texts, record)
            limit = limit_for(interaction) if interaction is not None else _stored_limit(record)
            async with self._message(record, texts, content, limit) as message:
                shown = await self._edit(record, message, interaction)
                if not shown and record.finished:
                    shown = await self._post(record, message)
                if not shown and record.finished and limit <= DEFAULT_ATTACHMENT_LIMIT:
                    shown = await self._dm(record, message)
            if not shown and record.finished and limit > DEFAULT_ATTACHMENT_LIMIT:
                # A DM takes what Discord takes anywhere: its files are gathered again within that.
                async with self._message(record, texts, content, DEFAULT_ATTACHMENT_LIMIT) as message:
                    shown = await self._dm(record, message)
            if shown and record.finished:
                await self._store.mark_delivered(follow_up_id)
            return shown and record.finished

    @contextlib.asynccontextmanager
    async def _message(
        self,
        record: FollowUpRecord,
        texts: Texts,
        content: str,
        limit: int,
    ) -> AsyncIterator[Outgoing]:
        """The message to show: a result with its files attached (see `attachments`), each within `limit`
        bytes: songs with their cover art, stems, a MIDI file; a WAV stays a link. Each message gets a
        view of its own: `song_message` adds the files' link buttons to the view it is given."""
        view = song_buttons(record, texts, self._actions)
        if record.state is not FollowUpState.SUCCEEDED or not self.attachments.enabled:
            yield Outgoing(content, view)
            return
        songs = CATALOG[record.action].result is ResultKind.SONGS
        wanted = attached(record)
        if not wanted and not songs:
            yield Outgoing(content, view)  # a link or a value: nothing to fetch
            return
        async with self.attachments.gather(wanted, limit) as bundle:
            if songs:
                yield song_message(texts, content, record.songs, view, bundle, limit)
            else:
                yield file_message(texts, content, view, bundle, limit)

    async def _edit(
        self, record: FollowUpRecord, message: Outgoing, interaction: discord.Interaction | None
    ) -> bool:
        if record.interaction_token == ERASED_TOKEN or self._clock() > record.token_expires_at - TOKEN_MARGIN:
            return False  # expired, or erased once it expired or its result was shown: post or DM instead
        try:
            if interaction is not None:
                await interaction.edit_original_response(
                    **message.edit_kwargs(), allowed_mentions=discord.AllowedMentions.none()
                )
            else:
                await edit_by_token(self._session, record.application_id, record.interaction_token, message)
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not edit the answer of follow-up %s (%s)", record.id, type(exc).__name__)
            return False
        return True

    async def _post(self, record: FollowUpRecord, message: Outgoing) -> bool:
        """In the channel where it was asked for, mentioning the member (a server's channel only)."""
        if record.guild_id is None or record.channel_id is None:
            return False
        extra = message.send_kwargs()
        content = extra.pop("content")
        mention = discord.AllowedMentions(users=[discord.Object(record.user_id)], everyone=False, roles=False)
        try:
            channel = self._client.get_partial_messageable(record.channel_id, guild_id=record.guild_id)
            text = rendering.fit_message(f"<@{record.user_id}> {content}")
            await channel.send(text, allowed_mentions=mention, **extra)
        except discord.HTTPException as exc:
            log.info(
                "could not post follow-up %s in its channel (HTTP %s); trying a DM", record.id, exc.status
            )
            return False
        return True

    async def _dm(self, record: FollowUpRecord, message: Outgoing) -> bool:
        extra = message.send_kwargs()
        content = extra.pop("content")
        try:
            dm = await self._client.create_dm(discord.Object(record.user_id))
            await dm.send(content, allowed_mentions=discord.AllowedMentions.none(), **extra)
        except discord.HTTPException as exc:
            log.error(
                "could not show follow-up %s to user %s (HTTP %s); its songs are in the store",
                record.id,
                record.user_id,
                exc.status,
            )
            return False
        return True


def _stored_limit(record: FollowUpRecord) -> int:
    """The size Discord took per file where the follow-up was asked for (kept with it), for a result that
    arrives after its interaction is gone; Discord's default when it was not said."""
    return record.attachment_limit or DEFAULT_ATTACHMENT_LIMIT
