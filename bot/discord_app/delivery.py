"""Putting an interaction's uploads in front of its member: edit the original response, else post or DM.

Every answer is rendered from the store, so the command's first reply, a callback and a poll all show
the same, latest state; a per-interaction lock keeps an older rendering from landing after a newer one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aiohttp
import discord
from discord.webhook.async_ import async_context

from bot.discord_app.attachments import Attachments, Bundle
from bot.domain import rendering
from bot.domain.ports import Metrics, NoMetrics, UploadStore
from bot.domain.records import ERASED_TOKEN, UploadRecord, UploadState
from bot.domain.texts import Texts

log = logging.getLogger(__name__)

#: Do not count on a token that has less than this many seconds left.
TOKEN_MARGIN = 10.0

#: The buttons under an interaction's finished answer (Extend and Cover on each clip_id), or None.
Buttons = Callable[[Sequence[UploadRecord], Texts], discord.ui.View | None]


class Delivery:
    """Shows an interaction's uploads to its member: the one path every answer takes."""

    def __init__(
        self,
        client: discord.Client,
        store: UploadStore,
        session: aiohttp.ClientSession,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        buttons: Buttons | None = None,
        attachments: Attachments | None = None,
        alone: Callable[[], bool] = lambda: False,
    ) -> None:
        #: A member's `/upload file:` goes with its answer (turned off: the answer names it only).
        self.attachments = attachments or Attachments(None)
        self._client = client
        self._alone = alone
        self._buttons = buttons
        self._metrics = metrics or NoMetrics()
        self._store = store
        self._session = session
        self._clock = clock
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, interaction_id: int) -> asyncio.Lock:
        lock = self._locks.get(interaction_id)
        if lock is None:
            lock = self._locks[interaction_id] = asyncio.Lock()
        return lock

    async def show_progress(
        self, interaction: discord.Interaction, content: str, still_current: Callable[[], bool]
    ) -> None:
        """Put an interim answer (a place in line) in place of "thinking…", unless `still_current()` says
        it is outdated by the time the interaction's answers take their turn."""
        async with self._lock(interaction.id):
            if still_current():
                await self._edit_interaction(interaction, content)

    async def deliver(
        self,
        interaction_id: int,
        settled: Sequence[UploadRecord] = (),
        interaction: discord.Interaction | None = None,
        *,
        held: bool = False,
    ) -> bool:
        """Show the interaction's uploads as they stand now; True when the member has seen the result.

        `settled`: records the caller holds; when they are all of the interaction's and all finished,
        nothing can change them any more, so the store need not be asked. `held`: they are the copies this
        process settles (`UploadService.held`), so they are current even while pending, as far as this
        instance goes. `interaction`: the live interaction, when the command itself answers (its
        connection to Discord is already open).
        """
        async with self._lock(interaction_id):
            shown, done = await self._show(interaction_id, settled, interaction, again=False, held=held)
            if shown and not done and not self._alone():
                # Another instance may have shown the final answer while this earlier one was on its way,
                # and this one would then stand: look again, and show the final answer once more if so.
                # (Alone, no other process settles these uploads: nothing to look for.)
                latest = await self._store.by_interaction(interaction_id)
                if latest and all(r.finished for r in latest):
                    shown, _ = await self._show(interaction_id, latest, interaction, again=True)
            return shown

    async def _show(
        self,
        interaction_id: int,
        settled: Sequence[UploadRecord],
        interaction: discord.Interaction | None,
        *,
        again: bool,
        held: bool = False,
    ) -> tuple[bool, bool]:
        """Show the interaction's uploads once (`again`: even when its final answer was shown already);
        whether the member has seen it, and whether it is final."""
        if settled and len(settled) == settled[0].batch_size and (held or all(r.finished for r in settled)):
            records = list(settled)
        else:
            # Read back only what this process does not hold: an answer after a restart, or one upload
            # of a message of several.
            records = await self._store.by_interaction(interaction_id)
        if not records:
            return False, False
        first = records[0]
        done = all(r.finished for r in records)
        if done and all(r.delivered for r in records) and not again:
            return True, True
        texts = Texts(first.locale)
        view = self._buttons(records, texts) if done and self._buttons is not None else None
        content = rendering.outcomes(texts, records, follow_ups=view is not None)
        # The member's own file goes with the command's first answer and later edits keep it, unless
        # nothing came of the upload (a refused file is not passed around by the bot): then it goes.
        hearable = any(r.state is UploadState.SUCCEEDED or not r.finished for r in records)
        live = interaction is not None and not again and hearable
        given = self.attachments.member_files(interaction) if live and interaction is not None else None
        async with given or _no_files() as bundle:
            if not hearable:
                bundle.drop = True  # an edit that lists no files: whatever the message had is removed
            if notes := bundle.member_notes(texts):
                content = rendering.fit_message("\n".join([content, *notes]))
            shown = await self._edit(first, content, interaction, view, bundle)
            path = "edited" if shown else None
            if again:
                return shown, done  # only to put the final answer back in place: never a second post or DM
            if not shown and done:
                path = await self._fallback(first, records, content, view, bundle)
                shown = path is not None
        if done:
            self._metrics.answer_shown(path or "undelivered")
        if shown and done:
            # Recorded once the member has seen it: an answer is shown once (never again after a
            # restart), and its token can be erased at once.
            await self._store.mark_delivered(interaction_id)
            for record in records:
                record.delivered = True  # the caller's copies, so that they are not shown again
        return shown, done

    async def _edit(
        self,
        record: UploadRecord,
        content: str,
        interaction: discord.Interaction | None,
        view: discord.ui.View | None = None,
        bundle: Bundle | None = None,
    ) -> bool:
        if record.interaction_token == ERASED_TOKEN or self._clock() > record.token_expires_at - TOKEN_MARGIN:
            return False  # expired, or erased once it expired or its answer was shown: post or DM instead
        if interaction is not None:
            return await self._edit_interaction(interaction, content, view, bundle)
        payload: dict[str, Any] = {"content": content, "allowed_mentions": {"parse": []}}
        if view is not None:
            payload["components"] = view.to_components()
        if bundle is not None and bundle.drop:
            payload["attachments"] = []
        try:
            # discord.py has no public call to edit a response by its token alone (the interaction
            # object is gone after a restart); its webhook adapter is what Interaction itself uses.
            await async_context.get().edit_original_interaction_response(
                record.application_id,
                record.interaction_token,
                session=self._session,
                payload=payload,
            )
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            _could_not_edit(record.interaction_id, exc)
            return False
        return True

    async def _edit_interaction(
        self,
        interaction: discord.Interaction,
        content: str,
        view: discord.ui.View | None = None,
        bundle: Bundle | None = None,
    ) -> bool:
        """Edit the answer of a live interaction (over the connection it arrived on)."""
        extra: dict[str, Any] = {"view": view} if view is not None else {}
        if bundle is not None and (bundle.fetched or bundle.drop):
            extra["attachments"] = bundle.files()
        try:
            await interaction.edit_original_response(
                content=content, allowed_mentions=discord.AllowedMentions.none(), **extra
            )
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            _could_not_edit(interaction.id, exc)
            return False
        return True

    async def _fallback(
        self,
        record: UploadRecord,
        records: list[UploadRecord],
        content: str,
        view: discord.ui.View | None = None,
        bundle: Bundle | None = None,
    ) -> str | None:
        """The reply can no longer be edited: mention the member in the channel, or DM them; return which
        ("channel" or "dm"), or None when neither worked."""
        extra: dict[str, Any] = {"view": view} if view is not None else {}
        if bundle is not None and bundle.fetched:
            extra["files"] = bundle.files()
        mention = discord.AllowedMentions(users=[discord.Object(record.user_id)], everyone=False, roles=False)
        text = rendering.fit_message(f"<@{record.user_id}> {content}")
        if record.guild_id is not None and record.channel_id is not None:
            try:
                channel = self._client.get_partial_messageable(record.channel_id, guild_id=record.guild_id)
                await channel.send(text, allowed_mentions=mention, **extra)
            except discord.HTTPException as exc:
                log.info("could not post in channel %s (HTTP %s); trying a DM", record.channel_id, exc.status)
            else:
                return "channel"
        try:
            dm = await self._client.create_dm(discord.Object(record.user_id))
            await dm.send(content, allowed_mentions=discord.AllowedMentions.none(), **extra)
        except discord.HTTPException as exc:
            log.error(
                "could not deliver upload(s) %s to user %s (HTTP %s); the clip_id is in the store",
                ",".join(str(r.id) for r in records),
                record.user_id,
                exc.status,
            )
            return None
        return "dm"


@contextlib.asynccontextmanager
async def _no_files() -> AsyncIterator[Bundle]:
    yield Bundle()


def _could_not_edit(interaction_id: int, exc: Exception) -> None:
    if isinstance(exc, discord.HTTPException):
        log.warning("could not edit the reply to interaction %s (HTTP %s)", interaction_id, exc.status)
    else:
        log.warning("could not reach Discord for interaction %s (%s)", interaction_id, type(exc).__name__)
