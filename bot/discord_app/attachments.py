"""Answers that carry files, so that Discord shows its player: songs as `<title>.mp3`, their cover art as
an image, a member's own `/upload file:` in its answer.

How a result uses it: name the files to attach (`domain.media`: `song_files(songs)`, `stem_files(title,
[("vocals", url), ("instrumental", url)])`, `midi_file(title, url)`; a WAV stays a link), then

    limit = limit_for(interaction)                  # None after a restart: 10 MiB, which every place takes
    async with attachments.gather(wanted, limit) as bundle:
        text = "\n".join([content, *bundle.notes(texts, limit)])     # a line per file that goes as a link
        message = Outgoing(text, view, bundle)       # or song_message(...): cover art and link buttons too
        await interaction.edit_original_response(**message.edit_kwargs())     # the live answer, or
        await edit_by_token(session, application_id, token, message)        # the answer by its token, or
        await channel.send(**message.send_kwargs())                          # a post or a DM

(`answers.Answers` does the last three in turn: edit, else post in the channel, else DM.)

Each download is bounded (size, time, number at once) by the `Fetcher`; `gather` takes no longer than the
fetcher's time limit, and the spooled files are removed when the block ends. An edit with a bundle lists
the message's attachments (replacing what it had); an edit without one leaves them as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp
import discord
from discord.webhook.async_ import async_context

from bot.domain import rendering
from bot.domain.followups.records import Song
from bot.domain.media import (
    DEFAULT_ATTACHMENT_LIMIT,
    MAX_FILES,
    Fetched,
    Fetcher,
    FileKind,
    FileMetrics,
    Miss,
    Missed,
    Wanted,
    file_name,
    song_files,
    within,
)
from bot.domain.texts import Texts

log = logging.getLogger(__name__)

#: Discord's most embeds in one message.
MAX_EMBEDS = 10
#: What `member_files` gives when there is nothing to read.
NO_FILES: contextlib.nullcontext[None] = contextlib.nullcontext()


@dataclass(slots=True)
class Bundle:
    """The files gathered for one message: those fetched (open until the `gather` block ends) and those
    that go as links."""

    fetched: list[Fetched] = field(default_factory=list)
    missed: list[Missed] = field(default_factory=list)

    def files(self) -> list[discord.File]:
        """Fresh `discord.File`s for one request (each read from its start)."""
        out = []
        for item in self.fetched:
            item.file.seek(0)
            out.append(discord.File(cast(io.BufferedIOBase, item.file), filename=item.wanted.filename))
        return out

    def add(self, outcome: Fetched | Missed) -> None:
        if isinstance(outcome, Fetched):
            self.fetched.append(outcome)
        else:
            self.missed.append(outcome)

    def held_to(self, limit: int) -> Bundle:
        """This bundle where Discord takes at most `limit` bytes a file: the larger files go as links (their
        spooled files stay open until this bundle's block ends)."""
        if all(item.size <= limit for item in self.fetched):
            return self
        over = [Missed(f.wanted, Miss.TOO_LARGE, f.size, limit) for f in self.fetched if f.size > limit]
        return Bundle([f for f in self.fetched if f.size <= limit], [*self.missed, *over])

    def image_of(self, n: int) -> str | None:
        """`attachment://<name>` of item `n`'s cover art when it was fetched."""
        for item in self.fetched:
            if item.wanted.kind is FileKind.IMAGE and item.wanted.n == n:
                return f"attachment://{item.wanted.filename}"
        return None

    def notes(self, texts: Texts, limit: int) -> list[str]:
        """A short line per file that goes as a link (cover art without a line: it is shown from its URL)."""
        return [
            rendering.missed_file(texts, m.wanted.filename, m.reason, m.size, limit)
            for m in self.missed
            if m.wanted.kind is not FileKind.IMAGE
        ]

    def member_notes(self, texts: Texts) -> list[str]:
        """A line for a member's own file that is too large to go with the answer."""
        return [
            rendering.member_file_too_large(texts, m.wanted.filename, m.size, m.limit)
            for m in self.missed
            if m.reason is Miss.TOO_LARGE and m.size is not None and m.limit
        ]


class Attachments:
    """Gathers the files of a message through `fetcher`; with `fetcher` None (attachments turned off)
    every bundle is empty and answers stay links."""

    def __init__(
        self,
        fetcher: Fetcher | None,
        *,
        timeout: float = 30.0,
        concurrency: int = 4,
        turns: asyncio.Semaphore | None = None,
        metrics: FileMetrics | None = None,
    ) -> None:
        self._fetcher = fetcher
        self._metrics = metrics
        self._timeout = timeout
        #: Reading a member's own file takes a turn among the downloads (`turns`, shared with the fetcher).
        self._turns = turns if turns is not None else asyncio.Semaphore(concurrency)

    @property
    def enabled(self) -> bool:
        return self._fetcher is not None

    @contextlib.asynccontextmanager
    async def gather(self, wanted: Sequence[Wanted], limit: int) -> AsyncIterator[Bundle]:
        """Fetch `wanted` at once, each within `limit` bytes; the files stay open until the block ends."""
        bundle = Bundle()
        if self._fetcher is None or not wanted:
            yield bundle
            return
        fetcher = self._fetcher
        kept, bundle.missed = within(wanted, MAX_FILES)
        try:
            for outcome in await asyncio.gather(*(fetcher.fetch(w, limit) for w in kept)):
                bundle.add(outcome)
            self._count(bundle)
            yield bundle
        finally:
            for item in bundle.fetched:
                item.close()

    def member_files(self, interaction: discord.Interaction) -> AbstractAsyncContextManager[Bundle | None]:
        """The files a member gave a slash command (`/upload file:`), read through discord.py within the
        interaction's size limit and the same time limit; a message's attachments are not taken (the
        answer points to the message). None when there is nothing to read."""
        given = given_files(interaction)[:MAX_FILES] if self._fetcher is not None else []
        return self._read_given(given, _limit_of(interaction)) if given else NO_FILES

    @contextlib.asynccontextmanager
    async def _read_given(self, given: list[discord.Attachment], limit: int) -> AsyncIterator[Bundle]:
        bundle = Bundle()
        try:
            for attachment in given:
                bundle.add(await self._read(attachment, limit))
            self._count(bundle)
            yield bundle
        finally:
            for item in bundle.fetched:
                item.close()

    def _count(self, bundle: Bundle) -> None:
        if self._metrics is None:
            return
        for item in bundle.fetched:
            self._metrics.file_attached(item.wanted.kind.value, "attached")
        for missed in bundle.missed:
            self._metrics.file_attached(missed.wanted.kind.value, missed.reason.value)

    async def _read(self, attachment: discord.Attachment, cap: int) -> Fetched | Missed:
        wanted = Wanted(attachment.url, attachment.filename)
        if attachment.size > cap:
            return Missed(wanted, Miss.TOO_LARGE, attachment.size, cap)
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the bundle's block
        try:
            async with asyncio.timeout(self._timeout), self._turns:
                data = await attachment.read()
            if len(data) > cap:
                spool.close()
                return Missed(wanted, Miss.TOO_LARGE, len(data), cap)
            spool.write(data)
            del data
        except TimeoutError:
            spool.close()
            return Missed(wanted, Miss.TIMED_OUT)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            spool.close()
            log.info("could not read a member's file to attach it (%s)", type(exc).__name__)
            return Missed(wanted, Miss.UNAVAILABLE)
        spool.seek(0)
        return Fetched(wanted, spool, attachment.size)


def given_files(interaction: discord.Interaction) -> list[discord.Attachment]:
    """The attachments given as a slash command's options, in order."""
    if interaction.type is not discord.InteractionType.application_command:
        return []
    return [value for _, value in interaction.namespace if isinstance(value, discord.Attachment)]


def _limit_of(interaction: discord.Interaction) -> int:
    return interaction.filesize_limit or DEFAULT_ATTACHMENT_LIMIT


def limit_for(interaction: discord.Interaction | None) -> int:
    """The size Discord takes per file where the answer goes: the live interaction's limit, else the
    least any server allows (so that the file fits the edit, the channel post and the DM alike)."""
    return _limit_of(interaction) if interaction is not None else DEFAULT_ATTACHMENT_LIMIT


@dataclass(slots=True)
class Outgoing:
    """One message with its files: `bundle` None leaves a message's attachments as they are on an edit;
    a bundle (even an empty one) lists them, replacing the old ones."""

    content: str
    view: discord.ui.View | None = None
    bundle: Bundle | None = None
    embeds: list[discord.Embed] = field(default_factory=list)

    def _common(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"content": self.content}
        if self.view is not None:
            extra["view"] = self.view
        if self.embeds:
            extra["embeds"] = self.embeds[:MAX_EMBEDS]
        return extra

    def edit_kwargs(self) -> dict[str, Any]:
        """For `Interaction.edit_original_response` / `Message.edit`."""
        extra = self._common()
        if self.bundle is not None:
            extra["attachments"] = self.bundle.files()
        return extra

    def payload(self) -> dict[str, Any]:
        """The JSON body of an edit that uploads nothing: what `edit_by_token` would send (no buttons when
        `view` is None; no files when the bundle is empty)."""
        payload: dict[str, Any] = {
            "content": self.content,
            "components": self.view.to_components() if self.view is not None else [],
            "allowed_mentions": {"parse": []},
        }
        if self.embeds:
            payload["embeds"] = [embed.to_dict() for embed in self.embeds[:MAX_EMBEDS]]
        if self.bundle is not None:
            payload["attachments"] = []
        return payload

    def send_kwargs(self) -> dict[str, Any]:
        """For `Messageable.send` (a new message: its files, if any)."""
        extra = self._common()
        if self.bundle is not None and self.bundle.fetched:
            extra["files"] = self.bundle.files()
        return extra


async def edit_by_token(
    session: aiohttp.ClientSession, application_id: int, token: str, message: Outgoing
) -> None:
    """Edit an interaction's original response by its token alone (the interaction object is gone after
    a restart), files included, as `Interaction.edit_original_response` would."""
    if message.bundle is None or not message.bundle.fetched:
        # Nothing to upload: the JSON body alone, without discord.py's multipart machinery.
        await async_context.get().edit_original_interaction_response(
            application_id, token, session=session, payload=message.payload()
        )
        return
    kwargs = message.edit_kwargs()
    params = discord.http.handle_message_parameters(
        content=kwargs["content"],
        view=message.view,  # None: no buttons (an edit that had some loses them)
        embeds=kwargs.get("embeds", discord.utils.MISSING),
        attachments=kwargs.get("attachments", discord.utils.MISSING),
        allowed_mentions=discord.AllowedMentions.none(),
    )
    with params:
        await async_context.get().edit_original_interaction_response(
            application_id,
            token,
            session=session,
            payload=params.payload,
            multipart=params.multipart,
            files=params.files,
        )


def song_message(
    texts: Texts,
    content: str,
    songs: Sequence[Song],
    view: discord.ui.View | None,
    bundle: Bundle,
    limit: int,
) -> Outgoing:
    """A result's songs: the text with a line per file that goes as a link, the cover art of each song
    as an embed's image (attached when it came, else from MusicAPI's URL), and a link button per song to
    its file on MusicAPI's CDN."""
    text = _with_notes(texts, content, bundle, limit)
    embeds = []
    for n, song in enumerate(songs[:MAX_EMBEDS], start=1):
        image = bundle.image_of(n) or rendering.file_link(song.image_url)
        if image is None:
            continue
        embed = discord.Embed(description=rendering.song_caption(texts, n, song))
        embeds.append(embed.set_image(url=image))
    links = [(n, url) for n, s in enumerate(songs, start=1) if (url := rendering.file_link(s.audio_url))]
    if links:
        view = view or discord.ui.View(timeout=None)
        row = 1 + max((item.row or 0 for item in view.children), default=-1)
        for n, url in links:
            button = discord.ui.Button[discord.ui.View](
                style=discord.ButtonStyle.link, url=url, label=texts("media.file_button", n=n)
            )
            if len(url) <= 512 and not _add_to_row(view, button, row):
                break
    return Outgoing(text, view, bundle, embeds)


def file_message(
    texts: Texts, content: str, view: discord.ui.View | None, bundle: Bundle, limit: int
) -> Outgoing:
    """A result's files (stems, a MIDI file): the text, with a line per file that goes as a link."""
    return Outgoing(_with_notes(texts, content, bundle, limit), view, bundle)


def _with_notes(texts: Texts, content: str, bundle: Bundle, limit: int) -> str:
    notes = bundle.notes(texts, limit)
    return rendering.fit_message("\n".join([content, *notes]) if notes else content)


def _add_to_row(view: discord.ui.View, button: discord.ui.Button[discord.ui.View], row: int) -> bool:
    """Put `button` in `row` (below the message's other buttons) when it has room, else anywhere; False
    when the message has no room left."""
    for where in (row, None):
        button.row = where if where is None or where < 5 else None
        try:
            view.add_item(button)
        except ValueError:
            continue
        return True
    return False


__all__ = [
    "Attachments",
    "Bundle",
    "Outgoing",
    "edit_by_token",
    "file_message",
    "file_name",
    "limit_for",
    "song_files",
    "song_message",
]
