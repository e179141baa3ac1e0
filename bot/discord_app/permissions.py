"""Whether a member may read a channel, computed from Discord's raw guild, member and channel objects.

Used before the bot reads a linked message for a member: the bot must not become a way to see
audio in channels the member cannot open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import discord

#: What reading a message in a channel takes.
READ = discord.Permissions(view_channel=True, read_message_history=True)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _apply(perms: discord.Permissions, allow: int, deny: int) -> discord.Permissions:
    return discord.Permissions((perms.value & ~deny) | allow)


def member_can_read(
    *,
    user_id: int,
    member_roles: Iterable[int],
    guild: Mapping[str, Any],
    channel: Mapping[str, Any],
) -> bool:
    """Discord's permission algorithm: base from roles, then the channel's overwrites (everyone, roles, member)."""
    guild_id = _int(guild.get("id"))
    if user_id == _int(guild.get("owner_id")):
        return True
    roles = set(member_roles)
    by_id = {_int(r.get("id")): _int(r.get("permissions")) for r in guild.get("roles") or []}
    perms = discord.Permissions(by_id.get(guild_id, 0))
    for role_id in roles:
        perms |= discord.Permissions(by_id.get(role_id, 0))
    if perms.administrator:
        return True
    overwrites = {_int(o.get("id")): o for o in channel.get("permission_overwrites") or []}
    everyone = overwrites.get(guild_id)
    if everyone is not None:
        perms = _apply(perms, _int(everyone.get("allow")), _int(everyone.get("deny")))
    allow = deny = 0
    for role_id in roles:
        overwrite = overwrites.get(role_id)
        if overwrite is not None and role_id != guild_id:
            allow |= _int(overwrite.get("allow"))
            deny |= _int(overwrite.get("deny"))
    perms = _apply(perms, allow, deny)
    own = overwrites.get(user_id)
    if own is not None and _int(own.get("type")) == 1:  # 1: a member's overwrite, 0: a role's
        perms = _apply(perms, _int(own.get("allow")), _int(own.get("deny")))
    return perms >= READ
