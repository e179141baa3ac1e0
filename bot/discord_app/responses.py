"""Which initial responses of this process may have landed although Discord did not say so.

Discord may apply an interaction's initial response and still answer 5xx (or drop the connection);
discord.py then sends it again and Discord refuses the retry as "already acknowledged" (40060). That
40060 is this delivery's own response. A 40060 on an interaction this process never had such an answer
for comes from another delivery of the same interaction (a gateway resume, a shard handover, another
instance), whose response came first: that one carries the interaction out.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from types import SimpleNamespace

import aiohttp

#: An interaction response's path: `/api/v10/interactions/<id>/<token>/callback`.
_CALLBACK = re.compile(r"/interactions/(\d+)/[^/]+/callback$")
#: Interactions remembered at most (a 5xx on an initial response is rare; the oldest is forgotten first).
REMEMBERED = 1000


class UnsureResponses:
    """How many initial responses this process sent per interaction that got a 5xx or a dropped
    connection: a response call whose count grew while it ran had such a try of its own.

    `trace` goes to discord.py's HTTP session (`http_trace`), which also carries interaction responses.
    """

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._counts: OrderedDict[int, int] = OrderedDict()
        self._remembered = remembered
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_end.append(self._ended)
        self.trace.on_request_exception.append(self._failed)

    def count(self, interaction_id: int) -> int:
        """Initial responses to the interaction that Discord may have applied without saying so."""
        return self._counts.get(interaction_id, 0)

    def note(self, interaction_id: int) -> None:
        self._counts[interaction_id] = self.count(interaction_id) + 1
        self._counts.move_to_end(interaction_id)
        while len(self._counts) > self._remembered:
            self._counts.popitem(last=False)

    def _note_url(self, method: str, url: object) -> None:
        if method == "POST" and (match := _CALLBACK.search(getattr(url, "path", ""))):
            self.note(int(match[1]))

    async def _ended(
        self,
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        if params.response.status >= 500:
            self._note_url(params.method, params.url)

    async def _failed(
        self,
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        self._note_url(params.method, params.url)
