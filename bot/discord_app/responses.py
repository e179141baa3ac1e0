"""Whether an initial response may have landed although Discord did not say so.

Discord may apply an interaction's initial response and still answer 5xx; discord.py then sends it
again and Discord refuses the retry as "already acknowledged" (40060). That 40060 is the call's own
response. A 40060 in a call none of whose tries was in doubt comes from another delivery of the same
interaction (a gateway resume, a shard handover, another instance), whose response came first: that one
carries the interaction out.

The tries are watched where discord.py sends them: its webhook adapter, which every initial response
goes through (`create_interaction_response`, which retries a 5xx inside). `WatchedResponse.send` puts
itself in place as the adapter for its one call, so that what it notes is that call's and no other's;
every other request (the answers' edits, the follow-ups) goes on as discord.py sends it, unwatched. (An
aiohttp trace on discord.py's session did this for every request it sent, and cost an upload a
twentieth of its instructions.)
"""

from __future__ import annotations

from collections.abc import Awaitable
from types import TracebackType
from typing import Any, cast

import aiohttp
from discord.webhook.async_ import AsyncWebhookAdapter, async_context


class WatchedResponse(AsyncWebhookAdapter):
    """One initial response call (`interaction.response.defer(...)` and the like), and discord.py's
    webhook adapter for it: `unsure` once one of its tries got a 5xx or failed on its way, so that
    Discord may have applied it without saying so."""

    def __init__(self) -> None:
        # Not the adapter's own __init__, which only makes the weak dict its rate-limit locks are shared
        # in across requests: this adapter sends one request (tried again on a 5xx), so a plain dict does.
        self._locks = {}  # type: ignore[assignment]
        self.unsure = False

    async def send(self, response: Awaitable[object]) -> None:
        """Await the call, its tries watched: discord.py looks its adapter up in a context variable when
        the call runs, within this task."""
        token = async_context.set(self)
        try:
            await response
        finally:
            async_context.reset(token)

    def create_interaction_response(
        self, interaction_id: int, token: str, *, session: aiohttp.ClientSession, **kwargs: Any
    ) -> Any:
        watched = _WatchedSession(session, self)
        return super().create_interaction_response(
            interaction_id, token, session=cast(aiohttp.ClientSession, watched), **kwargs
        )


class _WatchedSession:
    """The one method of a session that discord.py's adapter calls, each try noted on `call` when it
    fails or gets a 5xx."""

    __slots__ = ("_call", "_session")

    def __init__(self, session: aiohttp.ClientSession, call: WatchedResponse) -> None:
        self._session = session
        self._call = call

    def request(self, method: str, url: Any, **kwargs: Any) -> _WatchedRequest:
        return _WatchedRequest(self._session.request(method, url, **kwargs), self._call)


class _WatchedRequest:
    __slots__ = ("_call", "_request")

    def __init__(self, request: Any, call: WatchedResponse) -> None:
        self._request = request
        self._call = call

    async def __aenter__(self) -> aiohttp.ClientResponse:
        try:
            response: aiohttp.ClientResponse = await self._request.__aenter__()
        except Exception:
            self._call.unsure = True  # it may have reached Discord before the connection failed
            raise
        if response.status >= 500:
            self._call.unsure = True
        return response

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._request.__aexit__(kind, exc, tb)
