"""The invite link: the bot's application, its scopes, and exactly the permissions the bot uses."""

from __future__ import annotations

import asyncio

import discord

#: Each permission the bot uses in a server, and why (README, "Invite it", lists the same).
PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("view_channel", "see the channel it answers in, and a channel a message link points to"),
    ("send_messages", "post a late answer in the channel when the interaction has expired"),
    ("send_messages_in_threads", "post such a late answer when the command was used in a thread"),
    ("read_message_history", "read the message a member links to in /upload url:"),
    ("attach_files", "send results as audio files members can listen to in Discord"),
    ("embed_links", "show a result's cover art and a link's preview"),
)
#: A guild install adds the bot user (for late answers) and the application's commands.
SCOPES = ("bot", "applications.commands")


def permissions() -> discord.Permissions:
    """The permissions the invite asks for: those in PERMISSIONS, no more."""
    return discord.Permissions(**dict.fromkeys((name for name, _ in PERMISSIONS), True))


def invite_url(application_id: int) -> str:
    """The link that adds the bot to a server with its commands and exactly its permissions."""
    return discord.utils.oauth_url(application_id, permissions=permissions(), scopes=SCOPES)


#: How long `--invite` waits for Discord to name the application.
LOOKUP_TIMEOUT = 30.0


async def application_id(token: str) -> int:
    """The application of the bot `token` belongs to, as Discord names it (raises discord.LoginFailure
    for a token Discord refuses, TimeoutError, aiohttp.ClientError or OSError when it cannot be asked)."""
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        async with asyncio.timeout(LOOKUP_TIMEOUT):
            await http.static_login(token)
            info = await http.application_info()
    finally:
        await http.close()
    return int(info["id"])
