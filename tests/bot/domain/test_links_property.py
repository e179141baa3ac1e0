"""Property tests for bot.domain.links.check_link: it never crashes and never lets a non-public address through."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import string
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.domain.links import _PRIVATE_SUFFIXES, MAX_URL_LENGTH, check_link, link_label
from bot.domain.sources import Rejection, Source, SourceRejected

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------------------

_HOST_CHARS = string.ascii_letters + string.digits + "-._"
_PATH_CHARS = string.ascii_letters + string.digits + "-._~/%!$&'()*+,;=:@"

ipv4_any = st.integers(min_value=0, max_value=2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
ipv6_any = st.integers(min_value=0, max_value=2**128 - 1).map(lambda n: f"[{ipaddress.IPv6Address(n)}]")
hostnames = st.one_of(
    st.text(_HOST_CHARS, min_size=1, max_size=40),
    st.lists(st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?\Z"), min_size=1, max_size=4).map(".".join),
    st.sampled_from(
        [
            "example.com",
            "bücher.de",
            "youtube.com",
            "localhost",
            "a.local",
            "svc.internal",
            "cdn.discordapp.com",
        ]
    ),
    ipv4_any,
    ipv6_any,
    # shorthand numeric spellings that inet_aton accepts
    st.integers(min_value=0, max_value=2**32 - 1).map(str),
    st.integers(min_value=0, max_value=2**32 - 1).map(hex),
)
ports = st.one_of(
    st.just(""), st.integers(min_value=-5, max_value=70000).map(lambda p: f":{p}"), st.just(":")
)
userinfo = st.one_of(st.just(""), st.just(""), st.text(_HOST_CHARS + ":", max_size=8).map(lambda u: u + "@"))
paths = st.one_of(st.just(""), st.text(_PATH_CHARS, max_size=30).map(lambda p: "/" + p))
queries = st.one_of(st.just(""), st.text(_PATH_CHARS + "?", max_size=20).map(lambda q: "?" + q))
schemes = st.sampled_from(["http", "https", "HTTP", "ftp", "file", "javascript", "data", "", "ws"])
seps = st.sampled_from(["://", "://", ":", ":/", "//", ":///"])
junk = st.text(max_size=3)


@st.composite
def url_like(draw: st.DrawFn) -> str:
    edges: st.SearchStrategy[str] = st.one_of(st.just(""), junk)
    parts: list[str] = [
        draw(edges),
        draw(schemes),
        draw(seps),
        draw(userinfo),
        draw(hostnames),
        draw(ports),
        draw(paths),
        draw(queries),
        draw(edges),
    ]
    return "".join(parts)


any_text = st.one_of(st.text(max_size=200), url_like(), st.text(max_size=3000, min_size=2000))


# ---------------------------------------------------------------------------------------------
# an independent check of what an accepted URL may look like
# ---------------------------------------------------------------------------------------------


def _ip_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `host` reaches if it is an IP literal in any spelling a resolver would accept."""
    host = host.lower().rstrip(".")
    if ":" in host:
        return ipaddress.IPv6Address(host.split("%", 1)[0])
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii").rstrip(".")
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None and not _is_public(embedded):
            return False
        if ip in ipaddress.IPv6Network("64:ff9b::/96"):
            return _is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return ip.is_global and not ip.is_multicast


def assert_acceptable(source: Source, raw: str) -> None:
    url = source.url
    assert url == raw.strip()
    assert source.kind == "link"
    assert len(url) <= MAX_URL_LENGTH
    assert not any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url)
    parts = urlsplit(url)
    assert parts.scheme.lower() in ("http", "https")
    assert "@" not in parts.netloc
    assert parts.hostname
    ip = _ip_of(parts.hostname)
    if ip is not None:
        assert _is_public(ip), f"{url!r} reaches non-public {ip}"
    assert "?" not in source.label
    assert "#" not in source.label


# ---------------------------------------------------------------------------------------------
# (a) + (b): any text
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(any_text)
@example("http://[::1")
@example("http://0x/")
@example("http://1.2.3.4.5/")
@example("http://[v1.fe]/")
@example("http://xn--/")
@example("http://\udcff.com/")
@example("http://" + "a." * 130 + "com/")
def test_check_link_returns_source_or_rejects(text: str) -> None:
    try:
        source = check_link(text)
    except SourceRejected as exc:
        reason = exc.reason
    else:
        assert isinstance(source, Source)
        assert_acceptable(source, text)
        return
    assert isinstance(reason, Rejection)


@SETTINGS
@given(url_like())
def test_accepted_urls_are_safe(url: str) -> None:
    try:
        source = check_link(url)
    except SourceRejected:
        return
    assert_acceptable(source, url)


@SETTINGS
@given(url_like())
def test_an_accepted_links_label_is_the_one_link_label_gives(url: str) -> None:
    """read_link labels a link from the parse it checked; `link_label` (which parses on its own) agrees."""
    try:
        source = check_link(url)
    except SourceRejected:
        return
    assert source.label == link_label(url.strip())


# ---------------------------------------------------------------------------------------------
# (c): non-public addresses in any spelling are always refused
# ---------------------------------------------------------------------------------------------

V4_NETS = [
    ipaddress.IPv4Network(n)
    for n in (
        "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "192.168.0.0/16", "172.16.0.0/12",
        "100.64.0.0/10", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4", "198.18.0.0/15",
    )
]  # fmt: skip
V6_NETS = [ipaddress.IPv6Network(n) for n in ("::1/128", "::/128", "fe80::/10", "fc00::/7", "ff00::/8")]


def _in(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> st.SearchStrategy[int]:
    return st.integers(min_value=int(net.network_address), max_value=int(net.broadcast_address))


def _octets(n: int, width: int) -> list[int]:
    return [(n >> (8 * i)) & 0xFF for i in reversed(range(width))]


def _num(value: int, style: str) -> str:
    if style == "hex":
        return hex(value)
    if style == "HEX":
        return "0X" + format(value, "X")
    if style == "oct":
        return "0" + format(value, "o")
    return str(value)


@st.composite
def v4_spelling(draw: st.DrawFn) -> str:
    n = draw(st.one_of(*(_in(net) for net in V4_NETS)))
    form = draw(st.sampled_from(["dotted", "int", "a.b.c", "a.b"]))
    style = st.sampled_from(["dec", "hex", "HEX", "oct"])
    if form == "int":
        parts = [_num(n, draw(style))]
    elif form == "a.b":
        parts = [_num(n >> 24, draw(style)), _num(n & 0xFFFFFF, draw(style))]
    elif form == "a.b.c":
        a, b = _octets(n >> 16, 2)
        parts = [_num(a, draw(style)), _num(b, draw(style)), _num(n & 0xFFFF, draw(style))]
    else:
        parts = [_num(o, draw(style)) for o in _octets(n, 4)]
    host = ".".join(parts)
    assert socket.inet_aton(host) == ipaddress.IPv4Address(n).packed  # the spelling is right
    return host + draw(st.sampled_from(["", "."]))


@st.composite
def v6_spelling(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["net", "mapped", "nat64"]))
    if kind == "net":
        ip = ipaddress.IPv6Address(draw(st.one_of(*(_in(net) for net in V6_NETS))))
        text = draw(st.sampled_from([ip.compressed, ip.exploded, ip.compressed.upper()]))
    else:
        v4 = ipaddress.IPv4Address(draw(st.one_of(*(_in(net) for net in V4_NETS))))
        prefix = "::ffff:" if kind == "mapped" else "64:ff9b::"
        hi, lo = int(v4) >> 16, int(v4) & 0xFFFF
        text = draw(st.sampled_from([f"{prefix}{v4}", f"{prefix}{hi:x}:{lo:x}"]))
    zone = draw(st.sampled_from(["", "", "%25eth0"])) if text.lower().startswith("fe") else ""
    return f"[{text}{zone}]"


@st.composite
def private_urls(draw: st.DrawFn, hosts: st.SearchStrategy[str]) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP"]))
    host = draw(hosts)
    port = draw(st.one_of(st.just(""), st.integers(min_value=1, max_value=65535).map(lambda p: f":{p}")))
    path = draw(st.one_of(st.just(""), st.text(string.ascii_letters + string.digits + "/._-", max_size=20)))
    if path:
        path = "/" + path
    query = draw(
        st.one_of(st.just(""), st.text(string.ascii_letters + "=&", max_size=15).map(lambda q: "?" + q))
    )
    return f"{scheme}://{host}{port}{path}{query}"


@SETTINGS
@given(private_urls(st.one_of(v4_spelling(), v6_spelling())))
@example("http://127.1/")
@example("http://0x7f000001:8080/x?y=1")
@example("http://[::ffff:7f00:1]/")
@example("http://[64:ff9b::a9fe:a9fe]/latest")
def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(SourceRejected) as info:
        check_link(url)
    assert info.value.reason is Rejection.PRIVATE_HOST


_UNICODE_DOTS = ["\u3002", "\uff0e", "\uff61"]


@st.composite
def unicode_v4_spelling(draw: st.DrawFn) -> str:
    n = draw(st.one_of(*(_in(net) for net in V4_NETS[:6])))
    dot = draw(st.sampled_from(_UNICODE_DOTS))
    octets = [str(o) for o in _octets(n, 4)]
    if draw(st.booleans()):  # fullwidth digits, NFKC-equivalent to ASCII
        octets = ["".join(chr(0xFF10 + int(d)) for d in o) for o in octets]
        dot = draw(st.sampled_from([".", *_UNICODE_DOTS]))
    return dot.join(octets)


@settings(max_examples=50, deadline=None)
@given(private_urls(unicode_v4_spelling()))
def test_unicode_spelled_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(SourceRejected) as info:
        check_link(url)
    assert info.value.reason is Rejection.PRIVATE_HOST


# ---------------------------------------------------------------------------------------------
# (d): IPv4 literals with leading zeros, read differently by different fetchers, are never accepted
# ---------------------------------------------------------------------------------------------


@st.composite
def zero_padded_v4(draw: st.DrawFn) -> tuple[str, ipaddress.IPv4Address]:
    """Any IPv4 address in dotted decimal with at least one octet zero-padded, and that address."""
    ip = ipaddress.IPv4Address(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    octets = [str(o) for o in _octets(int(ip), 4)]
    padded = draw(st.sets(st.integers(min_value=0, max_value=3), min_size=1))
    zeros = draw(st.integers(min_value=1, max_value=3))
    return ".".join("0" * zeros + o if i in padded else o for i, o in enumerate(octets)), ip


@SETTINGS
@given(zero_padded_v4(), st.sampled_from(["http", "https"]), st.sampled_from(["", "."]))
@example(("0127.0.0.1", ipaddress.IPv4Address("127.0.0.1")), "http", "")
@example(("010.0.0.1", ipaddress.IPv4Address("10.0.0.1")), "http", "")
@example(("08.8.8.8", ipaddress.IPv4Address("8.8.8.8")), "https", "")
def test_zero_padded_ipv4_is_refused(
    spelled: tuple[str, ipaddress.IPv4Address], scheme: str, dot: str
) -> None:
    host, decimal_reading = spelled
    with pytest.raises(SourceRejected) as info:
        check_link(f"{scheme}://{host}{dot}/a.mp3")
    if not _is_public(decimal_reading):
        assert info.value.reason is Rejection.PRIVATE_HOST
    else:
        assert info.value.reason in (Rejection.PRIVATE_HOST, Rejection.MALFORMED)


@SETTINGS
@given(
    st.lists(st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?\Z"), max_size=3),
    st.sampled_from([*sorted(_PRIVATE_SUFFIXES), "svc.cluster.local"]),
    st.sampled_from(["", "."]),
)
def test_names_under_private_suffixes_are_refused(labels: list[str], suffix: str, dot: str) -> None:
    host = ".".join([*labels, suffix]) + dot
    with pytest.raises(SourceRejected) as info:
        check_link(f"https://{host.upper() if len(labels) % 2 else host}/a.mp3")
    assert info.value.reason is Rejection.PRIVATE_HOST
