"""Where the bot works: the servers ALLOWED_GUILDS names (any when empty), and, when ALLOW_USER_INSTALLS
is on, DMs and servers it reaches only through a member's own install."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reach:
    allowed_guilds: frozenset[int] = frozenset()
    allow_user_installs: bool = True

    def refusal(self, guild_id: int | None, *, installed_in_guild: bool) -> str | None:
        """The catalog key of the one sentence that says the bot does not work here, or None.

        `installed_in_guild`: the server itself added the bot (not only the member, to their account).
        """
        if guild_id is not None and self.allowed_guilds and guild_id not in self.allowed_guilds:
            return "access.server_not_allowed"
        if not self.allow_user_installs and (guild_id is None or not installed_in_guild):
            return "access.user_installs_off"
        return None
