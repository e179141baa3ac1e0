"""Putting an interaction's uploads in front of its member: edit the original response, else post or DM.

Every answer is rendered from the store, so the command's first reply, a callback and a poll all show
the same, latest state; a per-interaction lock keeps an older rendering from landing after a newer one.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Sequence

import aiohttp
import discord

from bot.discord_app.answers import Answers
from bot.discord_app.attachments import NO_FILES, Attachments, Bundle, Outgoing, limit_for
from bot.domain import rendering
from bot.domain.ports import Metrics, NoMetrics, UploadStore
from bot.domain.records import UploadRecord, UploadState
from bot.domain.texts import Texts


def _always() -> bool:
    return True


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
        self._answers = Answers(client, session, clock)
        self._alone = alone
        self._buttons = buttons
        self._metrics = metrics or NoMetrics()
        self._store = store
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, interaction_id: int) -> asyncio.Lock:
        lock = self._locks.get(interaction_id)
        if lock is None:
            lock = self._locks[interaction_id] = asyncio.Lock()
        return lock

    async def show_text(
        self, interaction: discord.Interaction, content: str, still_current: Callable[[], bool] = _always
    ) -> bool:
        """Put `content` (a place in line, or an error no upload record holds) in place of "thinking…",
        unless `still_current()` says it is outdated by the time the interaction's answers take their
        turn; whether it was shown."""
        async with self._lock(interaction.id):
            return still_current() and await self._answers.edit_live(interaction, Outgoing(content))

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
        given = self.attachments.member_files(interaction) if live and interaction is not None else NO_FILES
        async with given as files:
            message = _message(texts, content, view, files) if hearable else Outgoing(content, view, Bundle())
            shown = await self._answers.edit(first, message, interaction)
            path = "edited" if shown else None
            if again:
                return shown, done  # only to put the final answer back in place: never a second post or DM
            if not shown and done:
                limit = limit_for(interaction if live else None)  # what the member's files were read within
                path = await self._answers.elsewhere(
                    first,
                    message,
                    limit,
                    lambda cap: _message(texts, content, view, files.held_to(cap) if files else None),
                )
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


def _message(texts: Texts, content: str, view: discord.ui.View | None, files: Bundle | None) -> Outgoing:
    """The answer with the member's own files that were read (an edit without any leaves the message's
    files as they are), and a line for each that is too large to go with it."""
    if files is None:
        return Outgoing(content, view)
    if notes := files.member_notes(texts):
        content = rendering.fit_message("\n".join([content, *notes]))
    return Outgoing(content, view, files if files.fetched else None)
