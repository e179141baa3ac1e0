"""The web server: routes, and listening where WEB_HOST and WEB_PORT say."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.domain.uploads import CALLBACK_PATH
from bot.web.callbacks import MAX_CALLBACK_BYTES, CallbackReceiver

log = logging.getLogger(__name__)


class WebServerUnavailable(Exception):
    """The web server cannot listen where WEB_HOST and WEB_PORT say."""


class WebServer:
    """GET /healthz reports readiness, in every mode; POST {CALLBACK_PATH}/{key} takes MusicAPI's
    callbacks, only when there is a receiver for them (callback mode)."""

    def __init__(
        self,
        *,
        callbacks: CallbackReceiver | None,
        is_connected: Callable[[], bool],
        store_ok: Callable[[], Awaitable[bool]],
    ) -> None:
        self._callbacks = callbacks
        self._is_connected = is_connected
        self._store_ok = store_ok
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_CALLBACK_BYTES)
        if self._callbacks is not None:
            app.router.add_post(CALLBACK_PATH + "/{key}", self._callbacks.handle)
        app.router.add_get("/healthz", self.healthz)
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError as exc:
            await self.stop()
            raise WebServerUnavailable(
                f"cannot listen on WEB_HOST {host}, WEB_PORT {port} ({exc.strerror})"
            ) from exc
        routes = "/healthz and MusicAPI's callbacks" if self._callbacks is not None else "/healthz"
        log.info("web server listening on %s:%s (%s)", host, port, routes)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        gateway = self._is_connected()
        store = await self._store_ok()
        status = 200 if gateway and store else 503
        return web.json_response({"gateway": gateway, "store": store}, status=status)
