"""Host names as they are, not as they look: a label that is not plain ASCII is shown in its `xn--` form,
as browsers show a look-alike (`www.yоutube.com` with a Cyrillic о is `www.xn--yutube-wqf.com`).

Nothing here resolves a name; the mapping is the one browsers apply (IDNA 2008 with UTS #46), and a
label IDNA refuses is still shown in punycode, never as it looks.
"""

from __future__ import annotations

import re

import idna

#: The dots UTS #46 reads as label separators, besides ".".
_DOTS = re.compile("[\u3002\uff0e\uff61]")
#: `scheme://host` at the start of a link inside some text: the host is what `shown_links` rewrites.
_LINK_HOST = re.compile(r"(?i)\b((?:https?|wss?)://)([^/\s?#<>\"'@]+)")


def shown_host(host: str) -> str:
    """`host` with every label that is not plain ASCII in its `xn--` form; an ASCII host is unchanged."""
    if host.isascii():
        return host
    try:
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
    except idna.IDNAError:
        mapped = _DOTS.sub(".", host).lower()
    return ".".join(label if label.isascii() else _alabel(label) for label in mapped.split("."))


def _alabel(label: str) -> str:
    try:
        return idna.alabel(label).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        # IDNA refuses it (a joiner, a disallowed character...): punycode still shows every code point.
        return "xn--" + label.encode("punycode").decode("ascii")


def shown_links(text: str) -> str:
    """`text` with the host of every http(s)/ws(s) link in it shown as `shown_host` shows it."""
    if text.isascii():
        return text
    return _LINK_HOST.sub(lambda m: m[1] + _shown_netloc(m[2]), text)


def _shown_netloc(netloc: str) -> str:
    host, colon, port = netloc.rpartition(":") if _has_port(netloc) else (netloc, "", "")
    return shown_host(host) + colon + port


def _has_port(netloc: str) -> bool:
    _, colon, port = netloc.rpartition(":")
    return bool(colon) and port.isascii() and port.isdigit() and not netloc.startswith("[")
