"""What a member may upload: attachments that are audio, and links that are safe for MusicAPI to fetch.

Every check is syntactic: nothing here resolves a name or opens a connection.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 2048

AUDIO_EXTENSIONS = frozenset(
    {
        "mp3", "wav", "wave", "ogg", "oga", "opus", "m4a", "mp4a", "aac", "flac", "aif", "aiff",
        "aifc", "webm", "weba", "wma", "alac", "amr", "mka", "caf", "3gp",
    }
)  # fmt: skip

#: Content types Discord sends for "we don't know"; the file name decides then.
_GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})

#: Pages that play music but are not audio files MusicAPI can fetch.
STREAMING_HOSTS = frozenset(
    {
        "youtube.com", "youtu.be", "youtube-nocookie.com", "spotify.com", "spotify.link",
        "soundcloud.com", "snd.sc", "music.apple.com", "itunes.apple.com", "podcasts.apple.com",
        "bandcamp.com", "tiktok.com", "deezer.com", "deezer.page.link", "tidal.com",
        "music.amazon.com", "music.amazon.co.uk", "music.amazon.de", "audiomack.com",
        "mixcloud.com", "instagram.com", "facebook.com", "twitch.tv", "vimeo.com", "pandora.com",
        "music.yandex.ru", "music.youtube.com", "suno.com", "suno.ai", "udio.com",
    }
)  # fmt: skip

#: Names that never point at a public host.
_PRIVATE_SUFFIXES = (
    "localhost", "local", "localdomain", "internal", "intranet", "lan", "home", "corp",
    "home.arpa", "test", "invalid", "example", "onion", "arpa",
)  # fmt: skip

_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")  # \s is str.isspace(): Unicode spaces too
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_DISCORD_MESSAGE_PATH = re.compile(r"^/channels/(@me|[0-9]{15,21})/([0-9]{15,21})/([0-9]{15,21})/?$")
_DISCORD_HOSTS = frozenset(
    {"discord.com", "ptb.discord.com", "canary.discord.com", "discordapp.com", "ptb.discordapp.com",
     "canary.discordapp.com", "www.discord.com", "www.discordapp.com"}
)  # fmt: skip


class Rejection(StrEnum):
    """Why a source was refused before anything was sent."""

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
    def __init__(self, reason: Rejection, **details: object) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.details = details


@dataclass(frozen=True, slots=True)
class Source:
    """Something MusicAPI can fetch: `url` goes to MusicAPI, `label` is shown and logged."""

    kind: str  # "file" or "link"
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


def extension(name: str) -> str:
    return PurePosixPath(name).suffix.lower().lstrip(".")


def is_audio(filename: str, content_type: str | None) -> bool:
    """Audio by content type (`audio/*`); by file extension when the type is absent or generic."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime and mime not in _GENERIC_TYPES:
        return mime.startswith("audio/")
    return extension(filename) in AUDIO_EXTENSIONS


def check_attachment(
    filename: str, content_type: str | None, size: int, url: str, *, max_bytes: int
) -> Source:
    """Accept an attachment that is audio and within the size cap; its CDN URL goes to MusicAPI as is."""
    if not is_audio(filename, content_type):
        raise SourceRejected(Rejection.NOT_AUDIO, filename=filename)
    if size <= 0:
        raise SourceRejected(Rejection.EMPTY_FILE, filename=filename)
    if size > max_bytes:
        raise SourceRejected(Rejection.TOO_LARGE, filename=filename, size=size, limit=max_bytes)
    return Source(kind="file", url=url, label=filename)


def audio_sources(
    attachments: Sequence[AttachmentInfo], *, limit: int, max_bytes: int
) -> list[Source | SourceRejected]:
    """The audio attachments of a message, in order: each a Source, or the reason it is skipped.

    Attachments that are not audio are left out; an empty list means the message has no audio.
    """
    picked: list[Source | SourceRejected] = []
    for att in (a for a in attachments if is_audio(a.filename, a.content_type)):
        if len([p for p in picked if isinstance(p, Source)]) >= limit:
            picked.append(SourceRejected(Rejection.TOO_MANY, filename=att.filename, limit=limit))
            continue
        try:
            picked.append(
                check_attachment(att.filename, att.content_type, att.size, att.url, max_bytes=max_bytes)
            )
        except SourceRejected as exc:
            picked.append(exc)
    return picked


def link_label(url: str) -> str:
    """Host and path of a link, never its query or fragment (signed URLs carry secrets there)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "link"
    return f"{host}{parts.path}" if host else "link"


def _matches(host: str, domains: frozenset[str]) -> bool:
    labels = host.split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels)))


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host spells, including inet_aton's shorthand forms (`127.1`, `0x7f.1`, `2130706433`)."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise SourceRejected(Rejection.MALFORMED) from None
    if not _NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        raise SourceRejected(Rejection.MALFORMED) from None


def _is_public_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not _is_public_ip(embedded):
            return False
        if ip in ipaddress.IPv6Network("64:ff9b::/96"):
            return _is_public_ip(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def _split(url: str) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise SourceRejected(Rejection.TOO_LONG, limit=MAX_URL_LENGTH)
    if not url:
        raise SourceRejected(Rejection.MALFORMED)
    if _SPACE_OR_CONTROL.search(url):
        raise SourceRejected(Rejection.WHITESPACE)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise SourceRejected(Rejection.MALFORMED) from None
    if port == 0:
        raise SourceRejected(Rejection.MALFORMED)
    if parts.scheme.lower() not in ("http", "https"):
        if not parts.scheme or "//" not in url:
            raise SourceRejected(Rejection.MALFORMED)
        raise SourceRejected(Rejection.BAD_SCHEME, scheme=parts.scheme.lower())
    if "@" in parts.netloc or parts.username is not None:
        raise SourceRejected(Rejection.CREDENTIALS)
    if not parts.hostname:
        raise SourceRejected(Rejection.MALFORMED)
    return parts


def _check_host(raw_host: str) -> str:
    host = raw_host.lower().rstrip(".")
    if not host:
        raise SourceRejected(Rejection.MALFORMED)
    ip = _ip_literal(host)
    if ip is not None:
        if not _is_public_ip(ip):
            raise SourceRejected(Rejection.PRIVATE_HOST)
        return host
    try:
        ascii_host = host.encode("idna").decode("ascii").rstrip(".")
    except UnicodeError:
        raise SourceRejected(Rejection.MALFORMED) from None
    if ascii_host != host:
        # IDNA folds full-width digits and ideographic dots: `１２７。０。０。１` is 127.0.0.1 to a fetcher.
        return _check_host(ascii_host)
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise SourceRejected(Rejection.MALFORMED)
    if len(labels) < 2 or any(ascii_host == s or ascii_host.endswith("." + s) for s in _PRIVATE_SUFFIXES):
        raise SourceRejected(Rejection.PRIVATE_HOST)
    return ascii_host


def parse_message_link(url: str) -> MessageLink | None:
    """A Discord message link (`https://discord.com/channels/<guild>/<channel>/<message>`), else None."""
    if "/channels/" not in url:
        return None
    try:
        parts = _split(url.strip())
    except SourceRejected:
        return None
    host = (parts.hostname or "").rstrip(".")
    match = _DISCORD_MESSAGE_PATH.match(parts.path)
    if host not in _DISCORD_HOSTS or match is None:
        return None
    guild, channel, message = match.groups()
    return MessageLink(None if guild == "@me" else int(guild), int(channel), int(message))


def check_link(url: str) -> Source:
    """Accept an http(s) link to a public host that is not a streaming page; raise SourceRejected."""
    url = url.strip()
    parts = _split(url)
    host = _check_host(parts.hostname or "")
    if host in _DISCORD_HOSTS:
        raise SourceRejected(Rejection.DISCORD_PAGE)
    if _matches(host, STREAMING_HOSTS):
        raise SourceRejected(Rejection.STREAMING_PAGE, host=host)
    return Source(kind="link", url=url, label=link_label(url))
