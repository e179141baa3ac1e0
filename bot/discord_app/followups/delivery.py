"""Putting a follow-up in front of its member, in the channel where it was asked for: edit the modal's
answer, else post in the channel mentioning the member, else DM. Rendered from the store each time."""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator, Callable

import aiohttp
import discord

from bot.discord_app.answers import Answers
from bot.discord_app.attachments import Attachments, Bundle, Outgoing, file_message, limit_for, song_message
from bot.discord_app.followups.views import has_song_menu, song_buttons
from bot.domain import rendering
from bot.domain.followups.catalog import CATALOG, ResultKind
from bot.domain.followups.files import attached
from bot.domain.followups.ports import FollowUpStore
from bot.domain.followups.records import FollowUpRecord, FollowUpState, Operation
from bot.domain.media import DEFAULT_ATTACHMENT_LIMIT
from bot.domain.texts import Texts


class FollowUpDelivery:
    def __init__(
        self,
        client: discord.Client,
        store: FollowUpStore,
        session: aiohttp.ClientSession,
        actions: frozenset[Operation],
        clock: Callable[[], float] = time.time,
        attachments: Attachments | None = None,
        alone: Callable[[], bool] = lambda: False,
    ) -> None:
        #: Songs arrive as files (turned off: as links only).
        self.attachments = attachments or Attachments(None)
        self._answers = Answers(client, session, clock)
        self._alone = alone
        self._store = store
        self._actions = actions
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
            shown = await self._show(record, interaction, again=False)
            if shown and not record.finished and not self._alone():
                # Another instance may have shown the result while this "working…" was on its way, and
                # this one would then stand: look again, and show the result once more if so. (Alone, no
                # other process settles this follow-up: nothing to look for.)
                latest = await self._store.get(follow_up_id)
                if latest is not None and latest.finished:
                    return await self._show(latest, interaction, again=True)
            return shown and record.finished

    async def _show(
        self, record: FollowUpRecord, interaction: discord.Interaction | None, *, again: bool
    ) -> bool:
        """Show `record` once (`again`: only to put its result back in place, never a second post or DM);
        whether its member has seen it. A result seen is recorded as delivered."""
        texts = Texts(record.locale)
        content = rendering.follow_up(texts, record, menu=has_song_menu(record, self._actions))
        limit = limit_for(interaction) if interaction is not None else _stored_limit(record)
        async with self._files(record, limit) as bundle:

            def within(cap: int) -> Outgoing:
                return self._message(record, texts, content, bundle.held_to(cap) if bundle else None, cap)

            message = within(limit)
            shown = await self._answers.edit(record, message, interaction)
            if not shown and record.finished and not again:
                shown = await self._answers.elsewhere(record, message, limit, within) is not None
        if shown and record.finished:
            await self._store.mark_delivered(record.key)
        return shown

    @contextlib.asynccontextmanager
    async def _files(self, record: FollowUpRecord, limit: int) -> AsyncIterator[Bundle | None]:
        """The result's files (see `attachments`), each within `limit` bytes: songs with their cover art,
        stems, a MIDI file; a WAV stays a link. None when it has none to attach."""
        if record.state is not FollowUpState.SUCCEEDED or not self.attachments.enabled:
            yield None
            return
        wanted = attached(record)
        if not wanted and CATALOG[record.action].result is not ResultKind.SONGS:
            yield None  # a link or a value: nothing to fetch
            return
        async with self.attachments.gather(wanted, limit) as bundle:
            yield bundle

    def _message(
        self, record: FollowUpRecord, texts: Texts, content: str, bundle: Bundle | None, limit: int
    ) -> Outgoing:
        """The message to show, its files held to `limit`. Each message gets a view of its own:
        `song_message` adds the files' link buttons to the view it is given."""
        view = song_buttons(record, texts, self._actions)
        if bundle is None:
            return Outgoing(content, view)
        if CATALOG[record.action].result is ResultKind.SONGS:
            return song_message(texts, content, record.songs, view, bundle, limit)
        return file_message(texts, content, view, bundle, limit)


def _stored_limit(record: FollowUpRecord) -> int:
    """The size Discord took per file where the follow-up was asked for (kept with it), for a result that
    arrives after its interaction is gone; Discord's default when it was not said."""
    return record.attachment_limit or DEFAULT_ATTACHMENT_LIMIT
