"""The web server: routes, and listening where WEB_HOST and WEB_PORT say."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot.domain.followups.service import WEBHOOK_PATH
from bot.domain.uploads import CALLBACK_PATH
from bot.web.callbacks import MAX_CALLBACK_BYTES, CallbackReceiver
from bot.web.followups import FollowUpWebhookReceiver

log = logging.getLogger(__name__)
#: aiohttp's own messages about the requests it serves (malformed ones, handlers that failed).
http_log = logging.getLogger("bot.web.http")

#: Prometheus' text exposition format.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: The `Server` header of every answer: it names no software versions for a scanner to match.
SERVER_HEADER = "musicapi-upload-bot"


class MalformedRequests(logging.Filter):
    """Malformed HTTP (garbage bytes, a bad request line or header) is routine on an open port: aiohttp
    reports it at ERROR with a traceback; the operator gets one INFO line (DEBUG for TLS and other
    non-HTTP traffic, as aiohttp already does) and no traceback. Other errors pass unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        level = min(record.levelno, logging.INFO)
        record.msg, record.args = (
            "refused a malformed HTTP request from %s (%s)",
            (remote, type(exc).__name__),
        )
        record.levelno, record.levelname = level, logging.getLevelName(level)
        record.exc_info, record.exc_text = None, None
        return http_log.isEnabledFor(level)


http_log.addFilter(MalformedRequests())


async def _plain_server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER_HEADER


def _metrics_route(
    scrape: Callable[[], bytes], token: str | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /metrics: the bot's metrics in Prometheus' text format (keep it private: see the README);
    with `token` (METRICS_TOKEN), only for a request that carries it as a bearer token."""
    expected = f"Bearer {token}".encode() if token else None

    async def metrics(request: web.Request) -> web.Response:
        if expected is not None:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        response = web.Response(body=scrape())
        response.headers["Content-Type"] = METRICS_CONTENT_TYPE
        return response

    return metrics


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
        metrics: Callable[[], bytes] | None = None,
        follow_up_webhooks: FollowUpWebhookReceiver | None = None,
        musicapi_state: Callable[[], str] = lambda: "unknown",
        metrics_listener: tuple[str, int] | None = None,
        metrics_token: str | None = None,
    ) -> None:
        #: METRICS_HOST/METRICS_PORT: /metrics on a listener of its own, not on WEB_HOST:WEB_PORT.
        self._metrics_listener = metrics_listener
        self._metrics_token = metrics_token
        self._metrics_runner: web.AppRunner | None = None
        self._musicapi_state = musicapi_state
        self._callbacks = callbacks
        self._follow_up_webhooks = follow_up_webhooks
        self._metrics = metrics
        self._is_connected = is_connected
        self._store_ok = store_ok
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_CALLBACK_BYTES)
        app.on_response_prepare.append(_plain_server_header)
        if self._callbacks is not None:
            app.router.add_post(CALLBACK_PATH + "/{key}", self._callbacks.handle)
        if self._follow_up_webhooks is not None:
            app.router.add_post(WEBHOOK_PATH + "/{key}", self._follow_up_webhooks.handle)
        app.router.add_get("/healthz", self.healthz)
        if self._metrics is not None and self._metrics_listener is None:
            app.router.add_get("/metrics", _metrics_route(self._metrics, self._metrics_token))
        return app

    def metrics_app(self) -> web.Application:
        """The metrics listener's own routes: /metrics, nothing else."""
        app = web.Application()
        app.on_response_prepare.append(_plain_server_header)
        if self._metrics is not None:
            app.router.add_get("/metrics", _metrics_route(self._metrics, self._metrics_token))
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, logger=http_log, shutdown_timeout=2.0)
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
        if self._metrics is not None and self._metrics_listener is not None:
            await self._start_metrics(*self._metrics_listener)

    async def _start_metrics(self, host: str, port: int) -> None:
        runner = web.AppRunner(self.metrics_app(), access_log=None, logger=http_log, shutdown_timeout=1.0)
        await runner.setup()
        self._metrics_runner = runner
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await self.stop()
            raise WebServerUnavailable(
                f"cannot listen on METRICS_HOST {host}, METRICS_PORT {port} ({exc.strerror})"
            ) from exc
        log.info("metrics listening on %s:%s (/metrics)", host, port)

    async def stop(self) -> None:
        if self._metrics_runner is not None:
            metrics_runner, self._metrics_runner = self._metrics_runner, None
            await metrics_runner.cleanup()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        gateway = self._is_connected()
        store = await self._store_ok()
        status = 200 if gateway and store else 503
        # MusicAPI's state is reported beside the others but does not make the bot unhealthy: a restart
        # fixes neither a rejected key nor MusicAPI's outage, and the bot still answers every member.
        body = {"gateway": gateway, "store": store, "musicapi": self._musicapi_state()}
        return web.json_response(body, status=status)
