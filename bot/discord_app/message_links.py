"""A message's attachments, forwarded ones included: of a message a member linked to
(`/upload url:<message link>`, read over REST) or picked with "Upload to MusicAPI"."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import discord

from bot.discord_app.interactions import attachment_info
from bot.discord_app.permissions import member_can_read
from bot.domain.sources import AttachmentInfo, MessageLink

#: How long reading a linked message (and checking the member may see it) may take.
FETCH_TIMEOUT = 5.0
#: Thread channel types: their permissions are their parent channel's.
_THREADS = frozenset(
    t.value
    for t in (
        discord.ChannelType.news_thread,
        discord.ChannelType.public_thread,
        discord.ChannelType.private_thread,
    )
)


#: Discord's error codes for a 403: the bot cannot see the channel at all (50001, Missing Access), or
#: sees it without a permission the request needs (50013: reading messages, Read Message History).
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013


def _missing_permission(code: int) -> str:
    """The text naming the permission the bot lacks for a 403 with Discord's error `code`."""
    if code == MISSING_PERMISSIONS:
        return "link.missing_read_history"
    if code == MISSING_ACCESS:
        return "link.missing_view_channel"
    return "link.unreadable"


class MessageUnreadable(Exception):
    """The linked message can't be used; `key` names the text that says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


_Attachment = TypeVar("_Attachment")


def own_then_forwarded(
    own: Iterable[_Attachment], forwarded: Iterable[Iterable[_Attachment]]
) -> list[_Attachment]:
    """The one rule for which files a message holds: its own, then those of each message it forwards
    (a forward keeps the original's attachments in its snapshots, none of its own)."""
    return [*own, *itertools.chain.from_iterable(forwarded)]


def attachments_in(message: Mapping[str, Any]) -> list[AttachmentInfo]:
    """A message's attachments, forwarded ones included, as Discord's API gives them (fresh CDN URLs)."""
    raw: list[Mapping[str, Any]] = own_then_forwarded(
        message.get("attachments") or [],
        (
            (snapshot.get("message") or {}).get("attachments") or []
            for snapshot in message.get("message_snapshots") or []
        ),
    )
    return [
        AttachmentInfo(
            str(a.get("filename", "")), a.get("content_type"), int(a.get("size", 0)), str(a.get("url", ""))
        )
        for a in raw
    ]


def attachments_of(message: discord.Message) -> list[AttachmentInfo]:
    """A message discord.py has read (a context menu's target): its attachments, forwarded ones included."""
    forwarded = (snapshot.attachments for snapshot in message.message_snapshots)
    return [attachment_info(a) for a in own_then_forwarded(message.attachments, forwarded)]


async def _check_access(client: discord.Client, link: MessageLink, guild_id: int, user_id: int) -> None:
    """Refuse a link into a channel the member cannot read themselves."""
    http = client.http
    guild, channel, member = await asyncio.gather(
        http.get_guild(guild_id, with_counts=False),
        http.get_channel(link.channel_id),
        http.get_member(guild_id, user_id),
    )
    channel_data: Mapping[str, Any] = channel
    if channel_data.get("type") in _THREADS:
        if channel_data.get("type") == discord.ChannelType.private_thread.value or str(
            channel_data.get("guild_id")
        ) != str(guild_id):
            raise MessageUnreadable("link.no_access")
        channel_data = await http.get_channel(int(channel_data["parent_id"]))
    # The link names this server, but the channel id could be anyone's: it must be this server's channel.
    if str(channel_data.get("guild_id")) != str(guild_id):
        raise MessageUnreadable("link.no_access")
    roles = [int(r) for r in member.get("roles", [])]
    if not member_can_read(user_id=user_id, member_roles=roles, guild=guild, channel=channel_data):
        raise MessageUnreadable("link.no_access")


async def linked_attachments(
    client: discord.Client, link: MessageLink, *, user_id: int, guild_id: int | None, channel_id: int | None
) -> list[AttachmentInfo]:
    """Fetch the linked message, within the server (or DM) the member is in and only from a channel
    the member can read; raise MessageUnreadable."""
    if link.guild_id is None:
        if link.channel_id != channel_id:
            raise MessageUnreadable("link.private")
    elif link.guild_id != guild_id:
        raise MessageUnreadable("link.other_server")
    try:
        async with asyncio.timeout(FETCH_TIMEOUT):
            if link.guild_id is not None and link.channel_id != channel_id:
                await _check_access(client, link, link.guild_id, user_id)
            data = await client.http.get_message(link.channel_id, link.message_id)
    except discord.NotFound:
        raise MessageUnreadable("link.not_found") from None
    except discord.Forbidden as exc:
        raise MessageUnreadable(_missing_permission(exc.code)) from None
    except (discord.HTTPException, TimeoutError):
        raise MessageUnreadable("link.unreadable") from None
    return attachments_in(data)
