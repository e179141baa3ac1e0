"""Which attachments are audio the bot passes on to MusicAPI, and which it skips and why."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

from bot.domain.records import SourceKind
from bot.domain.sources import AttachmentInfo, Rejection, Source, SourceRejected

AUDIO_EXTENSIONS = frozenset(
    {
        "mp3", "wav", "wave", "ogg", "oga", "opus", "m4a", "mp4a", "aac", "flac", "aif", "aiff",
        "aifc", "webm", "weba", "wma", "alac", "amr", "mka", "caf", "3gp",
    }
)  # fmt: skip

#: Content types Discord sends for "we don't know"; the file name decides then.
_GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})


def extension(name: str) -> str:
    return PurePosixPath(name).suffix.lower().lstrip(".")


def is_audio(filename: str, content_type: str | None) -> bool:
    """Audio by content type (`audio/*`); by file extension when the type is absent or generic."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime and mime not in _GENERIC_TYPES:
        return mime.startswith("audio/")
    return extension(filename) in AUDIO_EXTENSIONS


def check_attachment(attachment: AttachmentInfo, *, max_bytes: int) -> Source:
    """Accept an attachment that is audio and within the size cap; its CDN URL goes to MusicAPI as is."""
    name = attachment.filename
    if not is_audio(name, attachment.content_type):
        raise SourceRejected(Rejection.NOT_AUDIO, filename=name)
    if attachment.size <= 0:
        raise SourceRejected(Rejection.EMPTY_FILE, filename=name)
    if attachment.size > max_bytes:
        raise SourceRejected(Rejection.TOO_LARGE, filename=name, size=attachment.size, limit=max_bytes)
    return Source(kind=SourceKind.FILE, url=attachment.url, label=name)


def audio_sources(
    attachments: Sequence[AttachmentInfo], *, limit: int, max_bytes: int
) -> list[Source | SourceRejected]:
    """The audio attachments of a message, in order: each a Source, or the reason it is skipped.

    Attachments that are not audio are left out; an empty list means the message has no audio.
    """
    picked: list[Source | SourceRejected] = []
    accepted = 0
    for att in (a for a in attachments if is_audio(a.filename, a.content_type)):
        if accepted >= limit:
            picked.append(SourceRejected(Rejection.TOO_MANY, filename=att.filename, limit=limit))
            continue
        try:
            picked.append(check_attachment(att, max_bytes=max_bytes))
            accepted += 1
        except SourceRejected as exc:
            picked.append(exc)
    return picked
