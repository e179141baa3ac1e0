"""Keep secrets out of what members see and what the log keeps."""

from __future__ import annotations

import re

_URL = re.compile(r"(?i)\b((?:https?|wss?)://[^\s?#<>\"']+)[?#][^\s<>\"']*")


def redact_urls(text: str) -> str:
    """Drop the query and fragment of every URL in `text` (signed URLs carry their signature there)."""
    if "?" not in text and "#" not in text:  # nothing to drop: the common case, without a scan
        return text
    return _URL.sub(_kept, text)


def _kept(match: re.Match[str]) -> str:
    return match[1]
