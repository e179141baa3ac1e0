"""The composition root: build the HTTP session, the store, the MusicAPI client and the services, then the
bot they are handed to; run it all until a stop signal, and shut down in order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp

from bot.config import Settings
from bot.discord_app.attachments import Attachments
from bot.discord_app.client import MusicBot
from bot.discord_app.desk import UploadLimits
from bot.discord_app.reachability import wait_for_discord
from bot.domain.account import check_account
from bot.domain.background import Background
from bot.domain.followups.catalog import CATALOG
from bot.domain.followups.ports import FollowUpStore
from bot.domain.followups.records import Operation
from bot.domain.followups.service import FollowUpPolicy, FollowUpService
from bot.domain.followups.watcher import FollowUpWatcher
from bot.domain.housekeeping import Housekeeping
from bot.domain.instances import Presence
from bot.domain.links import fetchable
from bot.domain.pace import UploadMode
from bot.domain.ports import UploadStore
from bot.domain.queue import UploadQueue
from bot.domain.reach import Reach
from bot.domain.settlement import Settlement
from bot.domain.spending import DailyCeiling
from bot.domain.uploads import UploadService
from bot.domain.watcher import PendingWatcher
from bot.media import Downloader
from bot.musicapi import MusicAPIClient
from bot.storage import follow_up_store, open_store, spend_ledger
from bot.web import WebServer
from bot.web.callbacks import CallbackReceiver
from bot.web.followups import FollowUpWebhookReceiver

if TYPE_CHECKING:
    from bot.metrics import PrometheusMetrics

log = logging.getLogger("bot")

#: Connections one host may hold at once. Per host, so that answers to Discord never queue behind
#: slow uploads to MusicAPI; MusicAPI's share is kept above the upload line's concurrency, so that no
#: request waits for a connection (that wait would count against MUSICAPI_TIMEOUT).
CONNECTIONS_PER_HOST = 100
#: Connections kept for MusicAPI beyond the uploads in flight: task lookups of the watcher.
SPARE_CONNECTIONS = 10
#: About how long MusicAPI takes to answer an upload, before the line has learnt it (seconds).
TYPICAL_SYNC_UPLOAD = 20.0
TYPICAL_CALLBACK_UPLOAD = 2.0
#: How long shutdown lets in-flight uploads finish before interrupting them, and then waits for answers.
SHUTDOWN_GRACE = 3.0
SHUTDOWN_ANSWER_WAIT = 4.0
#: How long logging in (and syncing commands) may take once Discord answered; aiohttp alone would wait
#: 300 s on a network that swallows packets.
LOGIN_TIMEOUT = 90.0
#: How long connecting to the gateway waits for the startup check of MusicAPI's key and credits.
ACCOUNT_CHECK_WAIT = 10.0


#: Collections of the middle generation before a full one (Python's default is 10). The bot makes almost
#: no cyclic garbage (a burst's collections find a few hundred objects in all), while a full collection
#: scans every object of the uploads in flight: in a burst of 1,000 they came to 0.64 ms of CPU per
#: upload, 0.19-0.25 ms with 100, for the same peak memory and earlier first responses (README, "Last
#: results").
FULL_COLLECTION_AFTER = 100


def settle_collections() -> None:
    """Once startup is done (the process runs nothing else): what startup built lives as long as the
    process, so collections leave it out (`gc.freeze`), and full collections come a tenth as often."""
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)


def new_http_session(musicapi_concurrency: int = 0) -> aiohttp.ClientSession:
    """The one HTTP session the bot shares between MusicAPI and its late answers to Discord."""
    per_host = max(CONNECTIONS_PER_HOST, musicapi_concurrency + SPARE_CONNECTIONS)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, limit_per_host=per_host))


def describe_limits(s: Settings) -> str:
    """One log line: what the whole bot may spend a day, and where it works."""
    ceiling = f"{s.total_daily_credits} credits a day" if s.total_daily_credits else "no limit"
    servers = f"{len(s.allowed_guilds)} allowed server(s)" if s.allowed_guilds else "any server"
    installs = "user installs and DMs too" if s.allow_user_installs else "no user installs or DMs"
    return (
        f"spend ceiling for the whole bot: {ceiling} (uploads {s.upload_credits} each); works in {servers}, "
        f"{installs}"
    )


class DiscordUnreachable(Exception):
    """Discord answered, but logging in did not finish in time."""


@dataclass
class App:
    """Everything one bot process runs, built and wired."""

    settings: Settings
    store: UploadStore
    uploads: UploadService
    bot: MusicBot
    settlement: Settlement
    watcher: PendingWatcher
    web: WebServer
    presence: Presence
    housekeeping: Housekeeping
    follow_ups: FollowUpService
    follow_up_watcher: FollowUpWatcher
    client: MusicAPIClient
    session: aiohttp.ClientSession
    closed: bool = False
    #: Leave what startup built out of garbage collections (the process runs nothing else).
    freeze_startup: bool = False
    #: The startup check of the MusicAPI key and credits, beside logging in.
    _account_check: Background = field(default_factory=lambda: Background("musicapi account check"))

    async def start(self) -> None:
        """Log in (the bot loads its cogs and syncs its commands), pick up what an earlier run left
        pending, serve /healthz (and callbacks), start housekeeping, then stay connected to the gateway
        until it closes."""
        s = self.settings
        self._account_check.start(check_account(self.client.get_credits, self.client.health))
        # /healthz answers (503) while Discord cannot be reached yet: a network that is down at boot
        # is waited for, with growing delays, instead of ending the process.
        await self.web.start(s.web_host, s.web_port)
        await wait_for_discord(self.session)
        try:
            async with asyncio.timeout(LOGIN_TIMEOUT):
                await self.bot.login(s.discord_token.get_secret_value())
        except TimeoutError:
            raise DiscordUnreachable(f"logging in to Discord took over {LOGIN_TIMEOUT:g}s") from None
        await self.presence.take_name()
        await self.presence.beat()
        await self.watcher.recover()
        await self.follow_up_watcher.recover()
        log.info("%s", self.follow_ups.describe())
        log.info("%s", describe_limits(s))
        for warning in (s.retired_model(), s.unreachable_public_url()):
            if warning is not None:
                log.warning("%s", warning)
        self.presence.start()
        if self.freeze_startup:
            settle_collections()
        self.watcher.start()
        self.housekeeping.start()
        self.follow_up_watcher.start()
        # The credits line comes before the gateway's; a slow MusicAPI holds the gateway up no longer.
        await self._account_check.wait(ACCOUNT_CHECK_WAIT)
        await self.bot.connect()

    async def close(self) -> None:
        """Finish or interrupt in-flight uploads, answer their members, then close everything."""
        if self.closed:
            return
        self.closed = True
        desk = self.bot.desk
        desk.closing = True
        self.bot.follow_ups.closing = True
        # Also when discord.py closed first (Discord ended the gateway for good): the uploads in flight
        # are settled and answered by their tokens, over this session, before it closes.
        if not await self.uploads.in_flight.wait_idle(SHUTDOWN_GRACE):
            log.info("interrupting %d upload(s) still in flight", self.uploads.in_flight.count)
            self.uploads.stop()
        follow_ups = self.bot.follow_ups.answering
        await asyncio.gather(
            desk.answering.wait_idle(SHUTDOWN_ANSWER_WAIT), follow_ups.wait_idle(SHUTDOWN_ANSWER_WAIT)
        )
        if follow_ups.count:
            log.warning("closing with %d follow-up(s) still being sent to MusicAPI", follow_ups.count)
        # Each step runs even when one before it failed: a step left out could keep the process alive
        # (the store's thread) or leave members unanswered.
        steps: tuple[tuple[str, Callable[[], Awaitable[object]]], ...] = (
            ("the startup account check", self._account_check.stop),
            ("the pending-upload watcher", self.watcher.stop),
            ("the heartbeat", self.presence.stop),
            ("housekeeping", self.housekeeping.stop),
            ("the follow-up watcher", self.follow_up_watcher.stop),
            ("the upload line", self.uploads.queue.close),
            ("the web server", self.web.stop),
            ("answers being shown", lambda: self.settlement.drain(3.0)),
            ("follow-ups being shown", lambda: self.follow_ups.drain(3.0)),
            ("the Discord connection", self.bot.close),
            ("the store", self.store.close),
        )
        for what, step in steps:
            try:
                await step()
            except Exception:
                log.exception("closing %s failed; closing the rest", what)


@contextlib.asynccontextmanager
async def assemble(settings: Settings, session: aiohttp.ClientSession) -> AsyncIterator[App]:
    """Build the bot and its services on `session`; everything is closed when the block ends."""
    s = settings
    store = await open_store(s.database_url)
    try:
        app = _wire(s, session, store)
    except BaseException:
        await store.close()
        raise
    try:
        yield app
    finally:
        await app.close()


def _metrics() -> PrometheusMetrics:
    """The metrics. Only with METRICS=on; prometheus-client (about 1 MiB) only once they are scraped."""
    from bot.metrics import PrometheusMetrics

    return PrometheusMetrics()


def _wire(s: Settings, session: aiohttp.ClientSession, store: UploadStore) -> App:
    metrics = _metrics() if s.metrics else None
    client = MusicAPIClient(
        session,
        base_url=s.musicapi_base_url,
        api_key=s.musicapi_api_key.get_secret_value(),
        timeout=s.musicapi_timeout,
        retries=s.musicapi_retries,
        backoff=s.musicapi_retry_backoff,
        metrics=metrics,
    )
    queue = UploadQueue(
        concurrency=s.musicapi_concurrency,
        capacity=s.max_queue,
        typical_turn=TYPICAL_CALLBACK_UPLOAD if s.callback_mode else TYPICAL_SYNC_UPLOAD,
    )
    presence = Presence(
        store=store,
        name=s.instance_name,
        timeout=s.instance_timeout,
        concurrency=s.musicapi_concurrency,
        line=queue,
        mode=UploadMode.CALLBACK if s.callback_mode else UploadMode.SYNC,
    )
    ceiling = DailyCeiling(spend_ledger(store), s.total_daily_credits)
    uploads = UploadService(
        client=client,
        store=store,
        queue=queue,
        upload_timeout=s.upload_timeout,
        callback_base=s.public_url,
        metrics=metrics,
        presence=presence,
        ceiling=ceiling,
        upload_credits=s.upload_credits,
    )
    follow_up_log = follow_up_store(store)
    follow_ups = _follow_ups(s, client, store, follow_up_log, metrics)
    follow_ups.ceiling = ceiling
    housekeeping = Housekeeping(
        store=store,
        retention_days=s.retention_days,
        follow_ups=follow_up_log,
        uploads=uploads,
        instance_timeout=s.instance_timeout,
    )
    bot = MusicBot(
        session=session,
        store=store,
        uploads=uploads,
        follow_ups=follow_ups,
        history=housekeeping,
        follow_up_metrics=metrics,
        limits=UploadLimits(
            max_file_bytes=s.max_file_bytes,
            max_message_attachments=s.max_message_attachments,
            max_uploads_per_user=s.max_uploads_per_user,
        ),
        dev_guild_id=s.dev_guild_id,
        metrics=metrics,
        shard_count=s.shard_count,
        shard_ids=s.shard_ids,
        attachments=_attachments(s, session, metrics),
        reach=Reach(s.allowed_guilds, s.allow_user_installs),
    )
    if metrics is not None:
        from bot.metrics import Readings, ShardReading

        metrics.read_at_scrape(
            Readings(
                line_waiting=lambda: queue.waiting,
                line_in_flight=lambda: queue.in_flight,
                pending_uploads=lambda: uploads.pending,
                shards=lambda: [ShardReading(*state) for state in bot.shard_states()],
            )
        )
    settlement = Settlement(uploads, bot.delivery.deliver)
    watcher = PendingWatcher(
        uploads=uploads,
        store=store,
        settlement=settlement,
        deliver=bot.delivery.deliver,
        poll_after=s.musicapi_poll_after,
        poll_interval=s.musicapi_poll_interval,
        deadline=s.musicapi_poll_deadline,
        presence=presence,
    )
    callbacks = None
    if s.callback_mode:
        secret = s.musicapi_webhook_secret
        callbacks = CallbackReceiver(
            store=store,
            settlement=settlement,
            webhook_secret=secret.get_secret_value() if secret else None,
            metrics=metrics,
        )
    follow_ups.show = bot.follow_up_delivery.deliver
    follow_ups.alert_owner = bot.follow_ups.alert_owner
    web = WebServer(
        callbacks=callbacks,
        is_connected=bot.is_connected,
        store_ok=store.ping,
        metrics=metrics.scrape if metrics is not None else None,
        follow_up_webhooks=FollowUpWebhookReceiver(
            service=follow_ups, webhook_secret=follow_ups.webhook_secret
        )
        if s.callback_mode
        else None,
        musicapi_state=lambda: client.health.state.value,
        metrics_listener=(s.metrics_host, s.metrics_port) if s.metrics_port is not None else None,
        metrics_token=s.metrics_token.get_secret_value() if s.metrics_token else None,
    )
    return App(
        s,
        store,
        uploads,
        bot,
        settlement,
        watcher,
        web,
        presence,
        housekeeping,
        follow_ups,
        FollowUpWatcher(follow_ups, presence=presence),
        client,
        session,
    )


def _attachments(
    s: Settings, session: aiohttp.ClientSession, metrics: PrometheusMetrics | None
) -> Attachments:
    """Songs and a member's upload as files in the answers, fetched within Discord's limits; links only
    when turned off."""
    if not s.attachments:
        return Attachments(None)
    own = s.musicapi_base_url
    downloader = Downloader(
        session,
        allowed=lambda url: fetchable(url, own),
        timeout=s.attachment_timeout,
        concurrency=s.attachment_downloads,
    )
    return Attachments(downloader, timeout=s.attachment_timeout, turns=downloader.turns, metrics=metrics)


def _follow_ups(
    s: Settings,
    client: MusicAPIClient,
    uploads: UploadStore,
    store: FollowUpStore,
    metrics: PrometheusMetrics | None,
) -> FollowUpService:
    """Extend and Cover: the owner's policy, and where results come back (a webhook in callback mode)."""
    secret = s.musicapi_webhook_secret
    policy = FollowUpPolicy(
        actions=frozenset(Operation(a) for a in s.follow_ups),
        prices={op: int(getattr(s, spec.price_setting.lower())) for op, spec in CATALOG.items()},
        daily_budget=s.guild_daily_credits,
        cooldown=s.follow_up_cooldown,
        model=s.follow_up_model,
        lyrics_limit=s.follow_up_lyrics_limit,
        low_credits_alert=s.low_credits_alert,
        first_poll=s.musicapi_poll_after if s.callback_mode else s.musicapi_poll_interval,
        poll_interval=s.musicapi_poll_interval,
        deadline=s.musicapi_poll_deadline,
        unconfirmed_grace=max(180.0, 2 * s.musicapi_timeout),
    )
    service = FollowUpService(
        api=client,
        store=store,
        uploads=uploads,
        policy=policy,
        webhook_base=s.public_url,
        webhook_secret=secret.get_secret_value() if secret else None,
    )
    if metrics is not None:
        service.metrics = metrics
    return service


async def run(settings: Settings) -> None:
    """Run until a stop signal (then shut down cleanly) or until Discord ends the session."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with new_http_session(settings.musicapi_concurrency) as session, assemble(settings, session) as app:
        app.freeze_startup = True
        runner = asyncio.create_task(app.start())
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            stopper.cancel()
            runner.result()
            return
        log.info("stop signal received: shutting down")
        if not app.bot.is_ready():
            # Still starting (logging in, recovering, syncing): stop that first, then close.
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        await app.close()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
