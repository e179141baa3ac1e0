"""Reading the audio attachments of a message a member linked to (`/upload url:<message link>`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import discord

from bot.sources import AttachmentInfo, MessageLink

#: A message fetch happens before the interaction is deferred, so it must stay well under 3 s.
FETCH_TIMEOUT = 2.0


class MessageUnreadable(Exception):
    """The linked message can't be used; `key` names the text that says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def attachments_in(message: Mapping[str, Any]) -> list[AttachmentInfo]:
    """A message's attachments, forwarded ones included, as Discord's API gives them (fresh CDN URLs)."""
    raw: list[Mapping[str, Any]] = list(message.get("attachments") or [])
    for snapshot in message.get("message_snapshots") or []:
        raw.extend((snapshot.get("message") or {}).get("attachments") or [])
    return [
        AttachmentInfo(
            str(a.get("filename", "")), a.get("content_type"), int(a.get("size", 0)), str(a.get("url", ""))
        )
        for a in raw
    ]


async def linked_attachments(
    client: discord.Client, link: MessageLink, *, guild_id: int | None, channel_id: int | None
) -> list[AttachmentInfo]:
    """Fetch the linked message, within the server (or DM) the member is in; raise MessageUnreadable."""
    if link.guild_id is None:
        if link.channel_id != channel_id:
            raise MessageUnreadable("link.private")
    elif link.guild_id != guild_id:
        raise MessageUnreadable("link.other_server")
    try:
        async with asyncio.timeout(FETCH_TIMEOUT):
            data = await client.http.get_message(link.channel_id, link.message_id)
    except discord.NotFound:
        raise MessageUnreadable("link.not_found") from None
    except (discord.HTTPException, TimeoutError):
        raise MessageUnreadable("link.unreadable") from None
    return attachments_in(data)
