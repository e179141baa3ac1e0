"""The Discord side of an upload, shared by every entry point: guardrails, defer, run, one final answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import discord

from bot.discord_app.delivery import Delivery
from bot.discord_app.interactions import Redelivered, refuse, requester, texts_for, think
from bot.discord_app.message_links import MessageUnreadable, attachments_of, linked_attachments
from bot.domain import rendering
from bot.domain.audio import audio_sources
from bot.domain.inflight import InFlight
from bot.domain.ports import AlreadyRecorded
from bot.domain.sources import MessageLink, Source, SourceRejected
from bot.domain.uploads import Admission, UploadService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_file_bytes: int
    max_message_attachments: int
    max_uploads_per_user: int


class UploadDesk:
    """Takes uploads from interactions. While the bot shuts down it takes no new ones, and shutdown waits
    for those it is answering."""

    def __init__(
        self, *, client: discord.Client, uploads: UploadService, delivery: Delivery, limits: UploadLimits
    ) -> None:
        self._client = client
        self._uploads = uploads
        self._delivery = delivery
        self.limits = limits
        self.answering = InFlight()
        #: Set when shutdown begins: new commands are told the bot is restarting.
        self.closing = False

    async def _guarded(self, interaction: discord.Interaction, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` for the interaction, counted as an answer in progress; once shutdown has begun, the
        member is told the bot is restarting instead.

        A second delivery of an interaction ends here without a word: another delivery answered it
        first (Redelivered), or recorded its uploads first (AlreadyRecorded), and carries it out.
        """
        with self.answering.track():
            if self.closing:
                await refuse(interaction, texts_for(interaction)("error.shutdown"))
                return
            try:
                await work()
            except (Redelivered, AlreadyRecorded) as exc:
                log.info("%s: nothing started for this delivery", exc)

    def audio_of(self, message: discord.Message) -> list[Source | SourceRejected]:
        """A message's audio attachments, forwarded ones included, each a Source or the reason it is skipped."""
        return audio_sources(
            attachments_of(message),
            limit=self.limits.max_message_attachments,
            max_bytes=self.limits.max_file_bytes,
        )

    async def upload(
        self,
        interaction: discord.Interaction,
        items: Sequence[Source | SourceRejected],
        source_message: str | None = None,
    ) -> None:
        """Upload every source (listing skipped files with their reason) and give the one final answer;
        `source_message`: the link of the message the files come from, which the answer points to."""
        await self._guarded(interaction, lambda: self._upload(interaction, items, source_message))

    async def upload_linked_message(self, interaction: discord.Interaction, link: MessageLink) -> None:
        """Upload the audio of a message the member linked to, if they may read it."""
        await self._guarded(interaction, lambda: self._upload_linked(interaction, link))

    async def _upload_linked(self, interaction: discord.Interaction, link: MessageLink) -> None:
        texts = texts_for(interaction)
        # Reading the message (and checking the member may) takes a few requests: "thinking" first.
        await think(interaction)
        try:
            attachments = await linked_attachments(
                self._client,
                link,
                user_id=interaction.user.id,
                guild_id=interaction.guild_id,
                channel_id=interaction.channel_id,
            )
        except MessageUnreadable as exc:
            await refuse(interaction, texts(exc.key))
            return
        items = audio_sources(
            attachments,
            limit=self.limits.max_message_attachments,
            max_bytes=self.limits.max_file_bytes,
        )
        if not items:
            await refuse(interaction, texts("message.no_audio"))
            return
        await self._upload(interaction, items, link.jump_url)

    async def _upload(
        self,
        interaction: discord.Interaction,
        items: Sequence[Source | SourceRejected],
        source_message: str | None = None,
    ) -> None:
        texts = texts_for(interaction)
        wanted = sum(isinstance(item, Source) for item in items)
        user_id = interaction.user.id
        admission = await self._uploads.admit(user_id, wanted, self.limits.max_uploads_per_user)
        if admission is Admission.MEMBER_BUSY:
            busy = self._uploads.pending_for(user_id) + await self._uploads.pending_elsewhere(user_id)
            await refuse(interaction, texts("upload.busy_user", count=busy))
            return
        if admission is Admission.LINE_FULL:
            wait = self._uploads.queue.wait_for(wanted)
            log.warning(
                "the upload line is too long: refused %d upload(s) of user %s (expected wait %.0fs)",
                wanted,
                user_id,
                wait,
            )
            if wait > self._uploads.line_wait:
                await refuse(interaction, rendering.line_too_long(texts, wait))
            else:  # the wait would do, but MAX_QUEUE uploads already wait: say that, not a short wait
                await refuse(interaction, rendering.line_full(texts, self._uploads.queue.capacity))
            return
        try:
            await think(interaction)
        except BaseException:
            self._uploads.withdraw(user_id, wanted)
            raise
        progress = _Progress(interaction, self._delivery)
        try:
            who = requester(interaction, source_message)
            records = await self._uploads.start(who, items, on_place=progress.show)
        except AlreadyRecorded:
            raise
        except Exception:
            log.exception("upload failed unexpectedly for interaction %s", interaction.id)
            await self._delivery.show_text(interaction, texts("error.internal"))
            return
        finally:
            progress.waiting = False
        await self._delivery.deliver(interaction.id, records, interaction, held=True)


class _Progress:
    """The interim answer of one interaction while its uploads wait in line."""

    def __init__(self, interaction: discord.Interaction, delivery: Delivery) -> None:
        self._interaction = interaction
        self._delivery = delivery
        self.waiting = True

    async def show(self, place: int, seconds: float) -> None:
        if self.waiting:
            text = rendering.waiting(texts_for(self._interaction), place, seconds)
            await self._delivery.show_text(self._interaction, text, lambda: self.waiting)
