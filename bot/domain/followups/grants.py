"""Follow-ups on someone else's clip, for the members a server's admins allow.

The Extend and Cover buttons start a follow-up only for the member whose clip it is. The message command
"Extend or cover" (Manage Server by default) lets others do it too: admins give it to roles, members or
channels in *Server Settings → Integrations*, Discord's own place for such choices. Using it on a result
hands that member a grant for the clips of that message: signed with a key made from the bot's token,
valid for GRANT_LIFETIME, and carried in the custom_ids of the buttons and the form it leads to, so that
it survives a restart and cannot be made up or passed to someone else.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable

from bot.domain.followups.records import ClipOrigin, Operation

#: How long a grant may be used: as long as the interaction that handed it out.
GRANT_LIFETIME = 15 * 60
#: `expires.signature`, as it appears at the end of a custom_id.
GRANT_PATTERN = r"[0-9]{1,12}\.[0-9a-f]{16}"
_EXPIRES = re.compile(r"[0-9]{1,12}")


class Grants:
    """Signs and checks grants; `secret` is the bot's token (only a key made from it is kept)."""

    def __init__(self, secret: Callable[[], str], clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._clock = clock

    def _signature(
        self, user_id: int, action: Operation, origin: ClipOrigin, source_id: int, expires: int
    ) -> str:
        key = hashlib.sha256(b"follow-up grant\0" + self._secret().encode()).digest()
        message = f"{user_id}:{action.value}:{origin.value}:{source_id}:{expires}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]

    def issue(self, user_id: int, action: Operation, origin: ClipOrigin, source_id: int) -> str:
        expires = int(self._clock()) + GRANT_LIFETIME
        return f"{expires}.{self._signature(user_id, action, origin, source_id, expires)}"

    def valid(
        self,
        grant: str,
        user_id: int,
        action: Operation,
        origin: ClipOrigin,
        source_id: int,
        *,
        grace: float = 0.0,
    ) -> bool:
        """The grant was issued by this bot to this member for this clip and action, and has not expired
        (or did so less than `grace` seconds ago: a form opened in time may be filled in after)."""
        return self._signed(grant, user_id, action, origin, source_id) and not self._expired(grant, grace)

    def expired(
        self, grant: str, user_id: int, action: Operation, origin: ClipOrigin, source_id: int
    ) -> bool:
        """The grant is one this bot issued to this member for this clip and action, but it has expired."""
        return self._signed(grant, user_id, action, origin, source_id) and self._expired(grant, 0.0)

    def _signed(
        self, grant: str, user_id: int, action: Operation, origin: ClipOrigin, source_id: int
    ) -> bool:
        expires_text, _, signature = grant.partition(".")
        if not _EXPIRES.fullmatch(expires_text):
            return False
        wanted = self._signature(user_id, action, origin, source_id, int(expires_text))
        return hmac.compare_digest(wanted, signature)

    def _expired(self, grant: str, grace: float) -> bool:
        return int(grant.partition(".")[0]) + grace < self._clock()
