"""bot.domain.links: which links may go to MusicAPI, and which are Discord message links (purely syntactic)."""

from __future__ import annotations

import pytest

from bot.domain.links import MAX_URL_LENGTH, check_link, link_label, read_link
from bot.domain.records import SourceKind
from bot.domain.sources import MessageLink, Rejection, Source, SourceRejected


def parse_message_link(url: str) -> MessageLink | None:
    """The message link `read_link` finds in `url`, or None when it is anything else."""
    try:
        found = read_link(url)
    except SourceRejected:
        return None
    return found if isinstance(found, MessageLink) else None


def reason_of(url: str) -> Rejection:
    with pytest.raises(SourceRejected) as info:
        check_link(url)
    return info.value.reason


# ---------------------------------------------------------------------------------------------
# check_link: accepted
# ---------------------------------------------------------------------------------------------

ACCEPTED = [
    pytest.param("https://example.com/music/song.mp3", "example.com/music/song.mp3", id="https-mp3"),
    pytest.param("http://example.com/song.wav", "example.com/song.wav", id="http"),
    pytest.param("https://files.example.org/download?id=42&token=abc", "files.example.org/download", id="no-ext"),
    pytest.param("https://example.com/api/v2/tracks/9f8e7d/download", "example.com/api/v2/tracks/9f8e7d/download",
                 id="download-endpoint"),
    pytest.param(
        "https://cdn.discordapp.com/attachments/1234567890123456/2345678901234567/voice.ogg"
        "?ex=66a1b2c3&is=66a06143&hm=0123456789abcdef",
        "cdn.discordapp.com/attachments/1234567890123456/2345678901234567/voice.ogg",
        id="discord-cdn",
    ),
    pytest.param("https://media.discordapp.net/attachments/1/2/a.mp3", "media.discordapp.net/attachments/1/2/a.mp3",
                 id="discord-media"),
    pytest.param("http://8.8.8.8/a.mp3", "8.8.8.8/a.mp3", id="public-ipv4"),
    pytest.param("http://1.1.1.1:8080/a.mp3", "1.1.1.1/a.mp3", id="public-ipv4-port"),
    pytest.param("http://[2001:4860:4860::8888]/a.mp3", "2001:4860:4860::8888/a.mp3", id="public-ipv6"),
    pytest.param("https://bücher.de/lied.mp3", "xn--bcher-kva.de/lied.mp3", id="idn-unicode-shown-as-xn"),
    pytest.param("https://xn--bcher-kva.de/lied.mp3", "xn--bcher-kva.de/lied.mp3", id="idn-punycode"),
    pytest.param("HTTPS://EXAMPLE.COM/Song.MP3", "example.com/Song.MP3", id="uppercase-scheme-host"),
    pytest.param("https://example.com:8443/a.flac", "example.com/a.flac", id="explicit-port"),
    pytest.param("https://notyoutube.com/a.mp3", "notyoutube.com/a.mp3", id="suffix-lookalike-not-streaming"),
    pytest.param("https://example.com/a.mp3#@evil.com", "example.com/a.mp3", id="at-in-fragment"),
    pytest.param("https://svc.cluster.example.com/a.mp3", "svc.cluster.example.com/a.mp3", id="private-words-inside"),
    pytest.param("https://files.consul.io/a.mp3", "files.consul.io/a.mp3", id="consul-not-last"),
    pytest.param("http://8.8.8.0/a.mp3", "8.8.8.0/a.mp3", id="zero-octet-no-padding"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "label"), ACCEPTED)
def test_check_link_accepts(url: str, label: str) -> None:
    source = check_link(url)
    assert source == Source(kind=SourceKind.LINK, url=url, label=label)


def test_check_link_strips_surrounding_whitespace() -> None:
    source = check_link("  \n https://example.com/a.mp3 \t ")
    assert source.url == "https://example.com/a.mp3"
    assert source.label == "example.com/a.mp3"


# ---------------------------------------------------------------------------------------------
# check_link: refused
# ---------------------------------------------------------------------------------------------

REFUSED = [
    # schemes
    pytest.param("ftp://example.com/a.mp3", Rejection.BAD_SCHEME, id="ftp"),
    pytest.param("file:///etc/passwd", Rejection.BAD_SCHEME, id="file"),
    pytest.param("ws://example.com/a.mp3", Rejection.BAD_SCHEME, id="ws"),
    pytest.param("javascript:alert(1)", Rejection.MALFORMED, id="javascript"),
    pytest.param("data:audio/mpeg;base64,SUQzBAAAAAAA", Rejection.MALFORMED, id="data"),
    pytest.param("mailto:someone@example.com", Rejection.MALFORMED, id="mailto"),
    # loopback / localhost
    pytest.param("http://localhost/a.mp3", Rejection.PRIVATE_HOST, id="localhost"),
    pytest.param("http://LOCALHOST:8080/a.mp3", Rejection.PRIVATE_HOST, id="localhost-upper-port"),
    pytest.param("http://api.localhost/a.mp3", Rejection.PRIVATE_HOST, id="sub.localhost"),
    pytest.param("http://localhost./a.mp3", Rejection.PRIVATE_HOST, id="localhost-trailing-dot"),
    pytest.param("http://127.0.0.1/a.mp3", Rejection.PRIVATE_HOST, id="127.0.0.1"),
    pytest.param("http://127.0.0.1./a.mp3", Rejection.PRIVATE_HOST, id="127.0.0.1-trailing-dot"),
    pytest.param("http://127.1/a.mp3", Rejection.PRIVATE_HOST, id="127.1"),
    pytest.param("http://0x7f.0.0.1/a.mp3", Rejection.PRIVATE_HOST, id="0x7f.0.0.1"),
    pytest.param("http://0X7F.1/a.mp3", Rejection.PRIVATE_HOST, id="0X7F.1"),
    pytest.param("http://0177.0.0.1/a.mp3", Rejection.PRIVATE_HOST, id="octal"),
    pytest.param("http://2130706433/a.mp3", Rejection.PRIVATE_HOST, id="decimal-int"),
    pytest.param("http://0x7f000001/a.mp3", Rejection.PRIVATE_HOST, id="hex-int"),
    pytest.param("http://127.255.255.254/a.mp3", Rejection.PRIVATE_HOST, id="127-high"),
    # private ranges
    pytest.param("http://10.0.0.5/a.mp3", Rejection.PRIVATE_HOST, id="10.x"),
    pytest.param("http://172.16.3.4/a.mp3", Rejection.PRIVATE_HOST, id="172.16.x"),
    pytest.param("http://172.31.255.255/a.mp3", Rejection.PRIVATE_HOST, id="172.31.x"),
    pytest.param("http://192.168.1.1/a.mp3", Rejection.PRIVATE_HOST, id="192.168.x"),
    pytest.param("http://169.254.169.254/latest/meta-data/", Rejection.PRIVATE_HOST, id="metadata"),
    pytest.param("http://100.64.0.1/a.mp3", Rejection.PRIVATE_HOST, id="cgnat"),
    pytest.param("http://100.127.255.254/a.mp3", Rejection.PRIVATE_HOST, id="cgnat-high"),
    pytest.param("http://0.0.0.0/a.mp3", Rejection.PRIVATE_HOST, id="0.0.0.0"),  # noqa: S104
    pytest.param("http://0/a.mp3", Rejection.PRIVATE_HOST, id="0"),
    pytest.param("http://224.0.0.1/a.mp3", Rejection.PRIVATE_HOST, id="multicast"),
    pytest.param("http://255.255.255.255/a.mp3", Rejection.PRIVATE_HOST, id="broadcast"),
    pytest.param("http://192.0.2.1/a.mp3", Rejection.PRIVATE_HOST, id="test-net"),
    # IPv6
    pytest.param("http://[::1]/a.mp3", Rejection.PRIVATE_HOST, id="[::1]"),
    pytest.param("http://[::1]:8080/a.mp3", Rejection.PRIVATE_HOST, id="[::1]-port"),
    pytest.param("http://[::]/a.mp3", Rejection.PRIVATE_HOST, id="[::]"),
    pytest.param("http://[fe80::1]/a.mp3", Rejection.PRIVATE_HOST, id="[fe80::1]"),
    pytest.param("http://[fe80::1%25eth0]/a.mp3", Rejection.PRIVATE_HOST, id="[fe80::1%eth0]"),
    pytest.param("http://[fc00::1]/a.mp3", Rejection.PRIVATE_HOST, id="[fc00::1]"),
    pytest.param("http://[fd12:3456::1]/a.mp3", Rejection.PRIVATE_HOST, id="[fd..]"),
    pytest.param("http://[::ffff:127.0.0.1]/a.mp3", Rejection.PRIVATE_HOST, id="v4-mapped-loopback"),
    pytest.param("http://[::ffff:7f00:1]/a.mp3", Rejection.PRIVATE_HOST, id="v4-mapped-hex"),
    pytest.param("http://[::ffff:169.254.169.254]/", Rejection.PRIVATE_HOST, id="v4-mapped-metadata"),
    pytest.param("http://[64:ff9b::7f00:1]/a.mp3", Rejection.PRIVATE_HOST, id="nat64-loopback"),
    pytest.param("http://[64:ff9b::10.0.0.1]/a.mp3", Rejection.PRIVATE_HOST, id="nat64-private"),
    pytest.param("http://[2002:7f00:1::]/a.mp3", Rejection.PRIVATE_HOST, id="6to4-loopback"),
    pytest.param("http://[2001:db8::1]/a.mp3", Rejection.PRIVATE_HOST, id="documentation"),
    # names that never point at a public host
    pytest.param("http://intranet/a.mp3", Rejection.PRIVATE_HOST, id="single-label"),
    pytest.param("http://nas/a.mp3", Rejection.PRIVATE_HOST, id="single-label-2"),
    pytest.param("http://printer.local/a.mp3", Rejection.PRIVATE_HOST, id=".local"),
    pytest.param("http://db.svc.internal/a.mp3", Rejection.PRIVATE_HOST, id=".internal"),
    pytest.param("http://router.home.arpa/a.mp3", Rejection.PRIVATE_HOST, id=".home.arpa"),
    pytest.param("http://x.onion/a.mp3", Rejection.PRIVATE_HOST, id=".onion"),
    pytest.param("http://minio.storage.svc/a.mp3", Rejection.PRIVATE_HOST, id=".svc"),
    pytest.param("http://minio.storage.svc.cluster.local/a.mp3", Rejection.PRIVATE_HOST, id=".svc.cluster.local"),
    pytest.param("http://files.prod.cluster/a.mp3", Rejection.PRIVATE_HOST, id=".cluster"),
    pytest.param("http://vault.service.consul/a.mp3", Rejection.PRIVATE_HOST, id=".consul"),
    pytest.param("http://NAS.LAN./a.mp3", Rejection.PRIVATE_HOST, id=".lan-upper-dot"),
    # leading zeros: octal to inet_aton, decimal to other fetchers (refused either way)
    pytest.param("http://0127.0.0.1/a.mp3", Rejection.PRIVATE_HOST, id="0127-decimal-loopback"),
    pytest.param("http://010.0.0.1/a.mp3", Rejection.PRIVATE_HOST, id="010-decimal-private"),
    pytest.param("http://0177.1/a.mp3", Rejection.PRIVATE_HOST, id="0177.1-octal-loopback"),
    pytest.param("http://192.168.000.001/a.mp3", Rejection.PRIVATE_HOST, id="zero-padded-private"),
    pytest.param("http://010.0.0.09/a.mp3", Rejection.PRIVATE_HOST, id="not-octal-decimal-private"),
    pytest.param("http://08.8.8.8/a.mp3", Rejection.MALFORMED, id="not-octal-public"),
    pytest.param("http://01.1.1.1/a.mp3", Rejection.MALFORMED, id="leading-zero-public"),
    pytest.param("http://8.8.8.010/a.mp3", Rejection.MALFORMED, id="leading-zero-last"),
    # credentials
    pytest.param("http://user:pass@example.com/a.mp3", Rejection.CREDENTIALS, id="user-pass"),
    pytest.param("http://user@example.com/a.mp3", Rejection.CREDENTIALS, id="user"),
    pytest.param("http://@example.com/a.mp3", Rejection.CREDENTIALS, id="empty-user"),
    pytest.param("https://example.com\\@evil.com/a.mp3", Rejection.CREDENTIALS, id="backslash-at"),
    # whitespace and control characters
    pytest.param("https://exa mple.com/a.mp3", Rejection.WHITESPACE, id="space-in-host"),
    pytest.param("https://example.com/my song.mp3", Rejection.WHITESPACE, id="space-in-path"),
    pytest.param("https://example.com/a\tb.mp3", Rejection.WHITESPACE, id="tab"),
    pytest.param("https://example.com/a\nb.mp3", Rejection.WHITESPACE, id="newline"),
    pytest.param("https://example.com/a\x00.mp3", Rejection.WHITESPACE, id="nul"),
    pytest.param("https://example.com/a\x1b.mp3", Rejection.WHITESPACE, id="escape"),
    pytest.param("https://example.com/a\x7f.mp3", Rejection.WHITESPACE, id="del"),
    pytest.param("https://example.com/a\u00a0.mp3", Rejection.WHITESPACE, id="nbsp"),
    pytest.param("https://example.com/a.mp3 https://other.com/b.mp3", Rejection.WHITESPACE, id="two-links"),
    pytest.param("not a url", Rejection.WHITESPACE, id="prose"),
    # malformed
    pytest.param("", Rejection.MALFORMED, id="empty"),
    pytest.param("   ", Rejection.MALFORMED, id="blank"),
    pytest.param("https://", Rejection.MALFORMED, id="no-host"),
    pytest.param("notaurl", Rejection.MALFORMED, id="word"),
    pytest.param("example.com/a.mp3", Rejection.MALFORMED, id="no-scheme"),
    pytest.param("//example.com/a.mp3", Rejection.MALFORMED, id="scheme-relative"),
    pytest.param("http:example.com/a.mp3", Rejection.MALFORMED, id="no-slashes"),
    pytest.param("https://[::1", Rejection.MALFORMED, id="unclosed-bracket"),
    pytest.param("https://[not-an-ip]/a.mp3", Rejection.MALFORMED, id="bracket-garbage"),
    pytest.param("https://example.com:99999/a.mp3", Rejection.MALFORMED, id="port-too-big"),
    pytest.param("https://example.com:abc/a.mp3", Rejection.MALFORMED, id="port-not-number"),
    pytest.param("https://example.com:-1/a.mp3", Rejection.MALFORMED, id="port-negative"),
    pytest.param("https://:443/a.mp3", Rejection.MALFORMED, id="port-without-host"),
    pytest.param("http://example..com/a.mp3", Rejection.MALFORMED, id="empty-label"),
    pytest.param("http://-example.com/a.mp3", Rejection.MALFORMED, id="leading-hyphen"),
    pytest.param("http://256.1.1.1/a.mp3", Rejection.MALFORMED, id="octet-too-big"),
    pytest.param("http://1.2.3.4.5/a.mp3", Rejection.MALFORMED, id="five-octets"),
    pytest.param("http://a.b.c.10/a.mp3", Rejection.MALFORMED, id="numeric-tld"),
    pytest.param(f"http://{'a' * 64}.com/a.mp3", Rejection.MALFORMED, id="label-too-long"),
    # too long
    pytest.param("https://example.com/" + "a" * (MAX_URL_LENGTH - 19) + ".mp3", Rejection.TOO_LONG, id="too-long"),
    pytest.param("https://example.com/ " + "a" * MAX_URL_LENGTH, Rejection.TOO_LONG, id="too-long-before-space"),
    # streaming pages
    pytest.param("https://www.youtube.com/watch?v=dQw4w9WgXcQ", Rejection.STREAMING_PAGE, id="youtube"),
    pytest.param("https://youtube.com/watch?v=dQw4w9WgXcQ", Rejection.STREAMING_PAGE, id="youtube-bare"),
    pytest.param("https://m.youtube.com/watch?v=dQw4w9WgXcQ", Rejection.STREAMING_PAGE, id="youtube-mobile"),
    pytest.param("https://youtu.be/dQw4w9WgXcQ", Rejection.STREAMING_PAGE, id="youtu.be"),
    pytest.param("https://music.youtube.com/watch?v=abc", Rejection.STREAMING_PAGE, id="yt-music"),
    pytest.param("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC", Rejection.STREAMING_PAGE, id="spotify"),
    pytest.param("https://soundcloud.com/artist/track", Rejection.STREAMING_PAGE, id="soundcloud"),
    pytest.param("https://music.apple.com/us/album/x/123", Rejection.STREAMING_PAGE, id="apple-music"),
    pytest.param("https://artist.bandcamp.com/track/song", Rejection.STREAMING_PAGE, id="bandcamp"),
    pytest.param("https://www.tiktok.com/@user/video/1", Rejection.STREAMING_PAGE, id="tiktok"),
    pytest.param("https://WWW.YOUTUBE.COM./watch?v=1", Rejection.STREAMING_PAGE, id="youtube-upper-dot"),
    # Discord pages
    pytest.param("https://discord.com/channels/123456789012345678/123456789012345678/123456789012345678",
                 Rejection.DISCORD_PAGE, id="discord-message"),
    pytest.param("https://discord.com/invite/abc", Rejection.DISCORD_PAGE, id="discord-invite"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_check_link_refuses(url: str, reason: Rejection) -> None:
    assert reason_of(url) is reason


@pytest.mark.parametrize(
    "url",
    [
        # Unicode spellings of 127.0.0.1 / 10.0.0.1. IDNA (and every URL parser MusicAPI's fetcher is
        # likely to use: WHATWG, urllib3 via idna) maps U+3002/U+FF0E to "." and fullwidth digits to
        # ASCII, so these reach the loopback/private address.
        "http://127\u30020\u30020\u30021/a.mp3",
        "http://127\uff0e0\uff0e0\uff0e1/a.mp3",
        "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/a.mp3",
        "http://10\u30020\u30020\u30021/a.mp3",
    ],
)
def test_check_link_refuses_unicode_spelled_private_ip(url: str) -> None:
    assert reason_of(url) is Rejection.PRIVATE_HOST


def test_check_link_refuses_port_zero() -> None:
    assert reason_of("https://example.com:0/a.mp3") is Rejection.MALFORMED


def test_rejection_details() -> None:
    with pytest.raises(SourceRejected) as info:
        check_link("ftp://example.com/a.mp3")
    assert info.value.details == {"scheme": "ftp"}
    assert str(info.value) == "bad_scheme"

    with pytest.raises(SourceRejected) as info:
        check_link("https://www.YouTube.com/watch?v=x")
    assert info.value.details == {"host": "www.youtube.com"}

    with pytest.raises(SourceRejected) as info:
        check_link("https://example.com/" + "a" * MAX_URL_LENGTH)
    assert info.value.details == {"limit": MAX_URL_LENGTH}


def test_url_of_exactly_max_length_is_accepted() -> None:
    url = "https://example.com/" + "a" * (MAX_URL_LENGTH - len("https://example.com/"))
    assert len(url) == MAX_URL_LENGTH
    assert check_link(url).url == url
    assert reason_of(url + "a") is Rejection.TOO_LONG


def test_length_is_measured_after_stripping() -> None:
    url = "https://example.com/" + "a" * (MAX_URL_LENGTH - len("https://example.com/"))
    assert check_link("   " + url + "   ").url == url


# ---------------------------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://example.com/a.mp3?X-Amz-Signature=secret&X-Amz-Credential=key", "example.com/a.mp3"),
        ("https://example.com/a.mp3#token=secret", "example.com/a.mp3"),
        ("https://EXAMPLE.com:8443/dir/a.mp3?sig=secret#frag", "example.com/dir/a.mp3"),
        ("https://example.com?sig=secret", "example.com"),
        ("not a url", "link"),
        ("https://[::1", "link"),
        ("mailto:x@example.com", "link"),
    ],
)
def test_link_label_drops_query_and_fragment(url: str, label: str) -> None:
    assert link_label(url) == label
    assert "secret" not in link_label(url)


def test_check_link_label_never_contains_query() -> None:
    url = "https://bucket.s3.amazonaws.com/song.mp3?X-Amz-Signature=deadbeef&X-Amz-Expires=900"
    source = check_link(url)
    assert source.url == url  # MusicAPI needs the signature
    assert source.label == "bucket.s3.amazonaws.com/song.mp3"
    assert "?" not in source.label
    assert "deadbeef" not in source.label


# ---------------------------------------------------------------------------------------------
# Discord message links
# ---------------------------------------------------------------------------------------------

G, C, M = 123456789012345678, 234567890123456789, 345678901234567890


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://discord.com/channels/{G}/{C}/{M}", MessageLink(G, C, M)),
        (f"https://ptb.discord.com/channels/{G}/{C}/{M}", MessageLink(G, C, M)),
        (f"https://canary.discord.com/channels/{G}/{C}/{M}", MessageLink(G, C, M)),
        (f"https://discordapp.com/channels/{G}/{C}/{M}", MessageLink(G, C, M)),
        (f"https://www.discord.com/channels/{G}/{C}/{M}", MessageLink(G, C, M)),
        (f"https://discord.com/channels/@me/{C}/{M}", MessageLink(None, C, M)),
        (f"https://discord.com/channels/{G}/{C}/{M}/", MessageLink(G, C, M)),
        (f"  https://Discord.com/channels/{G}/{C}/{M}  ", MessageLink(G, C, M)),
    ],
)
def test_parse_message_link(url: str, expected: MessageLink) -> None:
    assert parse_message_link(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        f"https://discord.com/channels/{G}/{C}",  # a channel, not a message
        "https://discord.com/channels/1/2/3",  # not snowflakes
        f"https://discord.com/channels/{G}/{C}/{M}/extra",
        f"https://discord.com.evil.example/channels/{G}/{C}/{M}",
        f"https://evil.example/channels/{G}/{C}/{M}",
        f"https://cdn.discordapp.com/channels/{G}/{C}/{M}",
        "https://discord.com/invite/abcdef",
        "https://example.com/song.mp3",
        f"ftp://discord.com/channels/{G}/{C}/{M}",
        f"https://user@discord.com/channels/{G}/{C}/{M}",
        "not a link",
        "",
    ],
)
def test_parse_message_link_none(url: str) -> None:
    assert parse_message_link(url) is None


def test_check_link_refuses_deprecated_site_local_ipv6() -> None:
    assert reason_of("http://[fec0::1]/a.mp3") is Rejection.PRIVATE_HOST
