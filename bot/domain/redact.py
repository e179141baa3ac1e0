"""Keep secrets out of what members see and what the log keeps."""

from __future__ import annotations

import re

_URL = re.compile(r"(?i)\b((?:https?|wss?)://[^\s?#<>\"']+)[?#][^\s<>\"']*")


def redact_urls(text: str) -> str:
    """Drop the query and fragment of every URL in `text` (signed URLs carry their signature there)."""
    return _URL.sub(r"\1", text)
