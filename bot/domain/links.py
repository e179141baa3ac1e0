"""Links a member pastes: a Discord message link, or a link that is safe for MusicAPI to fetch.

Every check is syntactic: nothing here resolves a name or opens a connection.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import SplitResult, urlsplit

from bot.domain.hosts import shown_host
from bot.domain.records import SourceKind
from bot.domain.sources import MessageLink, Rejection, Source, SourceRejected

MAX_URL_LENGTH = 2048

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
_PRIVATE_SUFFIXES = frozenset({
    "localhost", "local", "localdomain", "internal", "intranet", "lan", "home", "corp",
    "home.arpa", "test", "invalid", "example", "onion", "arpa",
    # service discovery inside clusters: Kubernetes (`<svc>.<ns>.svc`, `.svc.cluster.local`), Consul
    "svc", "cluster", "consul",
})  # fmt: skip

_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")  # \s is str.isspace(): Unicode spaces too
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_LEADING_ZERO = re.compile(r"^0[0-9]+$")
_DISCORD_MESSAGE_PATH = re.compile(r"^/channels/(@me|[0-9]{15,21})/([0-9]{15,21})/([0-9]{15,21})/?$")
_DISCORD_HOSTS = frozenset(
    {"discord.com", "ptb.discord.com", "canary.discord.com", "discordapp.com", "ptb.discordapp.com",
     "canary.discordapp.com", "www.discord.com", "www.discordapp.com"}
)  # fmt: skip


def read_link(url: str) -> Source | MessageLink:
    """What a pasted link is: a Discord message link, or an http(s) link to a public host that is not a
    streaming page. Anything else raises SourceRejected. The link is parsed once."""
    url = url.strip()
    parts, hostname = _split(url)
    message = _message_link(parts, hostname)
    if message is not None:
        return message
    host = _check_host(hostname)
    if host in _DISCORD_HOSTS:
        raise SourceRejected(Rejection.DISCORD_PAGE)
    if _matches(host, STREAMING_HOSTS):
        raise SourceRejected(Rejection.STREAMING_PAGE, host=host)
    return Source(kind=SourceKind.LINK, url=url, label=_label(hostname, parts.path))


def check_link(url: str) -> Source:
    """A link MusicAPI may fetch; a Discord message link is refused like any other Discord page."""
    source = read_link(url)
    if isinstance(source, MessageLink):
        raise SourceRejected(Rejection.DISCORD_PAGE)
    return source


def link_label(url: str) -> str:
    """Host and path of a link, never its query or fragment (signed URLs carry secrets there); a host that
    is not plain ASCII in its `xn--` form, so that a look-alike does not read as the host it mimics."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "link"
    return _label(host, parts.path)


def _label(host: str, path: str) -> str:
    return f"{shown_host(host)}{path}" if host else "link"


def _message_link(parts: SplitResult, hostname: str) -> MessageLink | None:
    """A Discord message link (`https://discord.com/channels/<guild>/<channel>/<message>`), else None."""
    host = hostname.rstrip(".")
    match = _DISCORD_MESSAGE_PATH.match(parts.path)
    if host not in _DISCORD_HOSTS or match is None:
        return None
    guild, channel, message = match.groups()
    return MessageLink(None if guild == "@me" else int(guild), int(channel), int(message))


def _matches(host: str, domains: frozenset[str]) -> bool:
    """`host` is one of `domains` or a name under one."""
    while True:
        if host in domains:
            return True
        _, dot, host = host.partition(".")
        if not dot:
            return False


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host spells, including inet_aton's shorthand forms (`127.1`, `0x7f.1`, `2130706433`)."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise SourceRejected(Rejection.MALFORMED) from None
    labels = host.split(".")
    if not _NUMERIC_LABEL.match(labels[-1]):
        return None
    if any(_LEADING_ZERO.match(label) for label in labels):
        _refuse_leading_zeros(host, labels)
    ip = _aton(host)
    if ip is None:
        raise SourceRejected(Rejection.MALFORMED)
    return ip


def _refuse_leading_zeros(host: str, labels: list[str]) -> None:
    """An IPv4 literal with a leading zero (`0127.0.0.1`, `010.0.0.1`, `0177.1`) is refused, always.

    inet_aton, and so glibc, curl and browsers, reads such a number as octal (`0127` is 87), while other
    programs read it as decimal (`0127` is 127) or refuse it: one link names different hosts to different
    fetchers, and the bot cannot know which one MusicAPI runs. It is refused as private when either reading
    is not public, since that sentence is then true for some fetcher; otherwise as malformed.
    """
    decimal = ".".join(label.lstrip("0") or "0" if _LEADING_ZERO.match(label) else label for label in labels)
    readings = (_aton(host), _aton(decimal))
    if any(ip is not None and not _is_public_ip(ip) for ip in readings):
        raise SourceRejected(Rejection.PRIVATE_HOST)
    raise SourceRejected(Rejection.MALFORMED)


def _aton(host: str) -> ipaddress.IPv4Address | None:
    """`host` read as inet_aton reads it; None when it is no IPv4 address to inet_aton."""
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


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


def _split(url: str) -> tuple[SplitResult, str]:
    """The link's parts and its host name, once checked that it has one (and no credentials)."""
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
    if "@" in parts.netloc:  # a user name (or password) comes before an @, and only then
        raise SourceRejected(Rejection.CREDENTIALS)
    hostname = parts.hostname
    if not hostname:
        raise SourceRejected(Rejection.MALFORMED)
    return parts, hostname


def _check_host(raw_host: str) -> str:
    host = raw_host.lower().rstrip(".")
    if not host:
        raise SourceRejected(Rejection.MALFORMED)
    ip = _ip_literal(host)
    if ip is not None:
        if not _is_public_ip(ip):
            raise SourceRejected(Rejection.PRIVATE_HOST)
        return host
    if host.isascii():
        ascii_host = host  # IDNA leaves it as it is; the checks below refuse what the codec would
    else:
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
    if len(labels) < 2 or _matches(ascii_host, _PRIVATE_SUFFIXES):
        raise SourceRejected(Rejection.PRIVATE_HOST)
    return ascii_host


# -- files the bot itself fetches (MusicAPI's songs, images, MIDI) ---------------------------------------
def fetchable(url: str, own_origin: str | None = None) -> bool:
    """Whether the bot may fetch `url`, a file MusicAPI's answer named: `https` to a public host (checked
    as a member's link is, syntactically), or anything on `own_origin` itself (scheme, host and port of
    MUSICAPI_BASE_URL: a local stand-in for MusicAPI serves its files there). Never a user name or password."""
    try:
        parts, hostname = _split(url)
    except SourceRejected:
        return False
    if own_origin is not None and _origin(parts) == _origin(urlsplit(own_origin)):
        return True
    if parts.scheme.lower() != "https":
        return False
    try:
        _check_host(hostname)
    except SourceRejected:
        return False
    return True


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return scheme, "", None
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower().rstrip("."), port if port is not None else default
