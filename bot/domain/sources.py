"""What a member hands the bot to upload, and why it may be refused before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.records import SkipParams, SourceKind


class Rejection(StrEnum):
    """Why a source was refused before anything was sent; also the reason code a skipped file keeps."""

    NO_SOURCE = "no_source"
    BOTH_SOURCES = "both_sources"
    NOT_AUDIO = "not_audio"
    TOO_LARGE = "too_large"
    EMPTY_FILE = "empty_file"
    BAD_SCHEME = "bad_scheme"
    MALFORMED = "malformed"
    TOO_LONG = "too_long"
    WHITESPACE = "whitespace"
    CREDENTIALS = "credentials"
    PRIVATE_HOST = "private_host"
    STREAMING_PAGE = "streaming_page"
    DISCORD_PAGE = "discord_page"
    TOO_MANY = "too_many"


class SourceRejected(Exception):
    """A source the bot will not pass on; `details` are the reason's parameters (plain JSON values)."""

    def __init__(self, reason: Rejection, **details: str | int) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.details: SkipParams = details


@dataclass(frozen=True, slots=True)
class Source:
    """Something MusicAPI can fetch: `url` goes to MusicAPI, `label` is shown and logged."""

    kind: SourceKind
    url: str
    label: str


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    """What the bot knows of an attachment: enough to decide, and the URL MusicAPI fetches."""

    filename: str
    content_type: str | None
    size: int
    url: str


@dataclass(frozen=True, slots=True)
class MessageLink:
    """A link to a Discord message; the bot reads the message's attachments."""

    guild_id: int | None
    channel_id: int
    message_id: int

    @property
    def jump_url(self) -> str:
        """The message's link as Discord writes it (`@me` for a DM)."""
        where = self.guild_id if self.guild_id is not None else "@me"
        return f"https://discord.com/channels/{where}/{self.channel_id}/{self.message_id}"
