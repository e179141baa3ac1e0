"""Discord's permission rules, as the bot applies them before reading a linked message."""

from __future__ import annotations

import discord
import pytest

from bot.discord_app.permissions import member_can_read

ADMINISTRATOR = discord.Permissions(administrator=True).value
VIEW_CHANNEL = discord.Permissions(view_channel=True).value
READ_MESSAGE_HISTORY = discord.Permissions(read_message_history=True).value

GUILD, ROLE, OTHER_ROLE, USER, OWNER = 1, 2, 3, 10, 99
READ = VIEW_CHANNEL | READ_MESSAGE_HISTORY


def guild(everyone: int = READ, role: int = 0) -> dict:
    return {"id": str(GUILD), "owner_id": str(OWNER),
            "roles": [{"id": str(GUILD), "permissions": str(everyone)}, {"id": str(ROLE), "permissions": str(role)},
                      {"id": str(OTHER_ROLE), "permissions": "0"}]}  # fmt: skip


def ow(target: int, kind: int, allow: int = 0, deny: int = 0) -> dict:
    return {"id": str(target), "type": kind, "allow": str(allow), "deny": str(deny)}


@pytest.mark.parametrize(
    ("g", "overwrites", "roles", "user", "expected"),
    [
        (guild(), [], [], USER, True),
        (guild(everyone=VIEW_CHANNEL), [], [], USER, False),  # no message history
        (guild(everyone=0, role=READ), [], [ROLE], USER, True),
        (guild(), [ow(GUILD, 0, deny=VIEW_CHANNEL)], [], USER, False),
        (guild(), [ow(GUILD, 0, deny=VIEW_CHANNEL), ow(ROLE, 0, allow=VIEW_CHANNEL)], [ROLE], USER, True),
        (guild(), [ow(GUILD, 0, deny=VIEW_CHANNEL), ow(ROLE, 0, allow=VIEW_CHANNEL)], [OTHER_ROLE], USER, False),
        # Role allows win over role denies; a member overwrite wins over both.
        (guild(), [ow(ROLE, 0, allow=VIEW_CHANNEL), ow(OTHER_ROLE, 0, deny=VIEW_CHANNEL)], [ROLE, OTHER_ROLE], USER, True),
        (guild(), [ow(ROLE, 0, allow=VIEW_CHANNEL), ow(USER, 1, deny=VIEW_CHANNEL)], [ROLE], USER, False),
        (guild(everyone=0), [ow(USER, 1, allow=READ)], [], USER, True),
        (guild(everyone=0, role=ADMINISTRATOR), [ow(GUILD, 0, deny=READ)], [ROLE], USER, True),
        (guild(everyone=0), [ow(GUILD, 0, deny=READ)], [], OWNER, True),
    ],
    ids=["everyone-reads", "no-history", "role-grants", "hidden", "role-overwrite-allows", "wrong-role",
         "allow-beats-deny", "member-deny", "member-allow", "admin", "owner"],
)  # fmt: skip
def test_member_can_read(g: dict, overwrites: list, roles: list[int], user: int, expected: bool) -> None:
    channel = {"id": "5", "permission_overwrites": overwrites}
    assert member_can_read(user_id=user, member_roles=roles, guild=g, channel=channel) is expected
