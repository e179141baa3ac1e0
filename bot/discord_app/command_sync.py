"""Sync application commands only when they differ from what Discord has (the sync is rate limited)."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from discord.http import Route

log = logging.getLogger(__name__)

_COMMAND_KEYS = (
    "name", "type", "description", "options", "name_localizations", "description_localizations",
    "contexts", "integration_types", "default_member_permissions", "nsfw",
)  # fmt: skip
_OPTION_KEYS = (
    "name", "type", "description", "required", "choices", "options", "name_localizations",
    "description_localizations", "min_value", "max_value", "min_length", "max_length",
    "autocomplete", "channel_types",
)  # fmt: skip


def _normalize(value: Any, keys: tuple[str, ...]) -> Any:
    """Keep what defines a command; drop what Discord adds (ids, versions) and empty defaults."""
    out: dict[str, Any] = {}
    for key in keys:
        item = value.get(key)
        if item in (None, False, [], {}, ""):
            continue
        if key == "options":
            item = [_normalize(o, _OPTION_KEYS) for o in item]
        elif key in ("contexts", "integration_types", "channel_types"):
            item = sorted(item)
        elif key == "default_member_permissions":
            item = str(item)
        out[key] = item
    if keys is _COMMAND_KEYS:
        out.setdefault("type", 1)
    return out


#: Discord keeps these only on global commands.
_GLOBAL_ONLY = ("contexts", "integration_types")


def normalized(payload: list[dict[str, Any]], *, is_global: bool = True) -> list[Any]:
    items = [_normalize(c, _COMMAND_KEYS) for c in payload]
    if not is_global:
        items = [{k: v for k, v in item.items() if k not in _GLOBAL_ONLY} for item in items]
    return sorted(items, key=lambda c: (c["type"], c["name"]))


async def local_payload(
    tree: app_commands.CommandTree[Any], guild: discord.abc.Snowflake | None
) -> list[Any]:
    commands_ = tree.get_commands(guild=guild)  # every type: the same list tree.sync() sends
    translator = tree.translator
    if translator:
        return [await c.get_translated_payload(tree, translator) for c in commands_]
    return [c.to_dict(tree) for c in commands_]


async def sync_commands(
    bot: commands.Bot | commands.AutoShardedBot, guild: discord.abc.Snowflake | None
) -> bool:
    """Compare the commands with Discord's copy and sync when they differ; True when a sync happened."""
    app_id = bot.application_id
    if guild is None:
        route = Route("GET", "/applications/{application_id}/commands", application_id=app_id)
    else:
        route = Route(
            "GET",
            "/applications/{application_id}/guilds/{guild_id}/commands",
            application_id=app_id,
            guild_id=guild.id,
        )
    ours = normalized(await local_payload(bot.tree, guild), is_global=guild is None)
    try:
        theirs = normalized(
            await bot.http.request(route, params={"with_localizations": "true"}), is_global=guild is None
        )
    except discord.HTTPException as exc:
        log.warning("could not read the registered commands (%s); syncing", exc.status)
        theirs = None
    where = f"guild {guild.id}" if guild else "all servers"
    if theirs == ours:
        log.info("application commands for %s are up to date", where)
        return False
    await bot.tree.sync(guild=guild)
    log.info("synced %d application command(s) to %s", len(ours), where)
    return True
