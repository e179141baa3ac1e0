"""Which initial responses of this process may have landed although Discord did not say so.

Discord may apply an interaction's initial response and still answer 5xx (or drop the connection);
discord.py then sends it again and Discord refuses the retry as "already acknowledged" (40060). That
40060 is this delivery's own response. A 40060 on an interaction this process never had such an answer
for comes from another delivery of the same interaction (a gateway resume, a shard handover, another
instance), whose response came first: that one carries the interaction out.

The tries are watched where discord.py sends them: its webhook adapter, which every initial response
goes through (`create_interaction_response`, retrying a 5xx or a dropped connection inside). `send`
puts a watching adapter in place for one response call; every other request (the answers' edits, the
follow-ups) goes on as discord.py sends it, with nothing watched. (An aiohttp trace on discord.py's
session did the same for every request it sent, and cost an upload a twentieth of its instructions.)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, cast

import aiohttp
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

#: Interactions remembered at most (a 5xx on an initial response is rare; the oldest is forgotten first).
REMEMBERED = 1000


class UnsureResponses:
    """How many initial responses this process sent per interaction that got a 5xx or a dropped
    connection: a response call whose count grew while it ran had such a try of its own."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._counts: OrderedDict[int, int] = OrderedDict()
        self._remembered = remembered
        self._adapter = _WatchingAdapter(self)

    def count(self, interaction_id: int) -> int:
        """Initial responses to the interaction that Discord may have applied without saying so."""
        return self._counts.get(interaction_id, 0)

    def note(self, interaction_id: int) -> None:
        self._counts[interaction_id] = self.count(interaction_id) + 1
        self._counts.move_to_end(interaction_id)
        while len(self._counts) > self._remembered:
            self._counts.popitem(last=False)

    async def send(self, response: Awaitable[object]) -> None:
        """Await an initial response call (`interaction.response.defer(...)` and the like), its tries
        watched: discord.py looks its adapter up in a context variable when the call runs."""
        token = async_context.set(self._adapter)
        try:
            await response
        finally:
            async_context.reset(token)


class _WatchingAdapter(AsyncWebhookAdapter):
    """discord.py's adapter, whose initial responses note each try that Discord may have applied."""

    def __init__(self, unsure: UnsureResponses) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._unsure = unsure

    def create_interaction_response(
        self, interaction_id: int, token: str, *, session: aiohttp.ClientSession, **kwargs: Any
    ) -> Any:
        watched = _WatchedSession(session, lambda: self._unsure.note(interaction_id))
        return super().create_interaction_response(
            interaction_id, token, session=cast(aiohttp.ClientSession, watched), **kwargs
        )


class _WatchedSession:
    """The one method of a session that discord.py's adapter calls, each try reported to `unsure` when
    it fails or gets a 5xx."""

    def __init__(self, session: aiohttp.ClientSession, unsure: Callable[[], None]) -> None:
        self._session = session
        self._unsure = unsure

    def request(self, method: str, url: Any, **kwargs: Any) -> _WatchedRequest:
        return _WatchedRequest(self._session.request(method, url, **kwargs), self._unsure)


class _WatchedRequest:
    def __init__(self, request: Any, unsure: Callable[[], None]) -> None:
        self._request = request
        self._unsure = unsure

    async def __aenter__(self) -> aiohttp.ClientResponse:
        try:
            response: aiohttp.ClientResponse = await self._request.__aenter__()
        except Exception:
            self._unsure()  # it may have reached Discord before the connection failed
            raise
        if response.status >= 500:
            self._unsure()
        return response

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._request.__aexit__(kind, exc, tb)
