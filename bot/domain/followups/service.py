"""Running follow-ups: check the member may start one, reserve its credits, ask MusicAPI, settle it once
(from a webhook or a poll), show the result, and tell the owner once when credits run low."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.errors import (
    ErrorKind,
    OutOfCredits,
    OverCeiling,
    ServiceUnavailable,
    TaskFailed,
    UploadError,
    UploadTimedOut,
    UploadUnconfirmed,
)
from bot.domain.followups.catalog import CATALOG, DAY_SECONDS, FollowUpRequest, ResultKind
from bot.domain.followups.ports import (
    Credits,
    FollowUpAPI,
    FollowUpMetrics,
    FollowUpStore,
    Generation,
    NoFollowUpMetrics,
)
from bot.domain.followups.records import (
    Allowance,
    ClipOrigin,
    ClipSource,
    FollowUpRecord,
    FollowUpState,
    Operation,
    Refusal,
    budget_day,
    next_budget_day,
)
from bot.domain.ports import TaskState, UploadStore
from bot.domain.records import Requester, UploadState
from bot.domain.spending import DailyCeiling, Reservation, uncharged

log = logging.getLogger("bot.followups")

WEBHOOK_PATH = "/musicapi/webhook"
#: The owner alert raised when MusicAPI's credits fall below LOW_CREDITS_ALERT.
LOW_CREDITS = "low_credits"
#: Operations asking nothing run on one click up to this price; dearer ones show their cost first.
ONE_CLICK_CREDITS = 2
#: Clips offered to pair one with (a select menu offers at most 25).
MAX_PARTNERS = 25
#: Follow-ups taken per poll round.
CLAIM_LIMIT = 50
#: How long after it was settled a result nobody has seen is shown again, and how often.
REDELIVER_EVERY = 120.0
#: Pauses between tries of a write made after MusicAPI took a request (and may have charged for it):
#: a database that is locked or restarting for a moment must not turn into "please try again".
KEEP_PAUSES = (0.2, 1.0, 3.0)

#: Shows a follow-up to its member as it now stands (edit, else post, else DM); True once seen.
Show = Callable[[int], Awaitable[bool]]
#: Tells the bot's owner that credits are low (`credits`, the threshold); True when the owner was told.
AlertOwner = Callable[[Credits, int], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class FollowUpPolicy:
    """The owner's settings for follow-ups."""

    actions: frozenset[Operation]
    #: What each operation costs, in credits (its `<OPERATION>_CREDITS` setting).
    prices: Mapping[Operation, int]
    daily_budget: int
    cooldown: float
    model: str
    #: Characters of lyrics a form takes (FOLLOW_UP_LYRICS_LIMIT).
    lyrics_limit: int
    low_credits_alert: int
    #: Seconds after MusicAPI took a follow-up before it is first asked (the poll interval without a
    #: webhook; MUSICAPI_POLL_AFTER with one), between asks, and when the bot gives up.
    first_poll: float
    poll_interval: float
    deadline: float
    #: How long a follow-up sent without learning its task id waits before its member is told.
    unconfirmed_grace: float = 180.0


@dataclass
class FollowUpService:
    api: FollowUpAPI
    store: FollowUpStore
    uploads: UploadStore
    policy: FollowUpPolicy
    webhook_base: str | None = None
    webhook_secret: str | None = None
    metrics: FollowUpMetrics = field(default_factory=NoFollowUpMetrics)
    clock: Callable[[], float] = time.time
    show: Show | None = None
    alert_owner: AlertOwner | None = None
    #: The whole bot's daily ceiling (TOTAL_DAILY_CREDITS), across servers and DMs.
    ceiling: DailyCeiling | None = None
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    def describe(self) -> str:
        """One log line: what members may start, and what bounds the spend."""
        p = self.policy
        if not p.actions:
            return "follow-ups: off"
        budget = f"{p.daily_budget} credits per server a day" if p.daily_budget else "no daily budget"
        alert = f"alert below {p.low_credits_alert} credits" if p.low_credits_alert else "no low-credit alert"
        results = "webhooks" if self.webhook_base else f"polling every {p.poll_interval:g}s"
        actions = ", ".join(f"{op.value} {self.price(op)}" for op in CATALOG if op in p.actions)
        return (
            f"follow-ups: {actions} (credits each), model {p.model}; {budget}; "
            f"cooldown {p.cooldown:g}s; {alert}; results by {results}"
        )

    def enabled(self, action: Operation) -> bool:
        return action in self.policy.actions

    def price(self, operation: Operation) -> int:
        """What the operation costs, in credits."""
        return self.policy.prices[operation]

    def one_click(self, operation: Operation) -> bool:
        """Whether the operation runs on one click: it asks nothing, and costs at most ONE_CLICK_CREDITS
        (any dearer one first shows a form with its cost)."""
        return CATALOG[operation].one_click and self.price(operation) <= ONE_CLICK_CREDITS

    def price_range(self) -> str:
        """What the operations members may start cost: `15`, or `1–30`."""
        prices = sorted({self.price(op) for op in self.policy.actions}) or [0]
        return str(prices[0]) if len(prices) == 1 else f"{prices[0]}–{prices[-1]}"

    def takes(self, operation: Operation, source: ClipSource) -> Refusal | None:
        """Whether the operation takes this clip: its kind, and its age where MusicAPI keeps a window."""
        spec = CATALOG[operation]
        if not spec.takes(source.origin):
            return Refusal.CLIP_KIND
        if spec.within_day and self.clock() - source.made_at > DAY_SECONDS:
            return Refusal.TOO_OLD
        return None

    @property
    def actions(self) -> frozenset[Operation]:
        return self.policy.actions

    # -- before anything is spent ---------------------------------------------------------------------
    async def source(self, origin: ClipOrigin, source_id: int) -> ClipSource | None:
        """The clip a button names: a finished upload, or a song the bot made; None when it is gone."""
        if origin is ClipOrigin.UPLOAD:
            upload = await self.uploads.get(source_id)
            if upload is None or upload.state is not UploadState.SUCCEEDED or not upload.clip_id:
                return None
            return ClipSource(
                origin, source_id, upload.clip_id, upload.user_id, upload.label, made_at=upload.created_at
            )
        found = await self.store.song(source_id)
        if found is None:
            return None
        song, made_by = found
        return ClipSource(
            origin,
            source_id,
            song.clip_id,
            made_by.user_id,
            song.title or song.clip_id,
            made_at=made_by.updated_at,
        )

    async def partners(self, user_id: int, besides: ClipSource) -> list[ClipSource]:
        """The member's own clips another one can be paired with (Mashup): their recent uploads with a
        clip_id, and the songs the bot made for them, newest first, at most MAX_PARTNERS."""
        found: list[ClipSource] = []
        for upload in await self.uploads.history(user_id, limit=MAX_PARTNERS):
            if upload.state is UploadState.SUCCEEDED and upload.clip_id and upload.id is not None:
                found.append(
                    ClipSource(
                        ClipOrigin.UPLOAD, upload.id, upload.clip_id, user_id, upload.label, upload.created_at
                    )
                )
        for song, made_by in await self.store.recent_songs(user_id, limit=MAX_PARTNERS):
            if song.id is not None and CATALOG[made_by].result is ResultKind.SONGS:
                found.append(
                    ClipSource(ClipOrigin.SONG, song.id, song.clip_id, user_id, song.title or song.clip_id)
                )
        return [c for c in found if c.clip_id != besides.clip_id][:MAX_PARTNERS]

    async def allowance(self, user_id: int, guild_id: int | None, operation: Operation) -> Allowance:
        """Whether the member may start the operation now (the cooldown, then the server's budget)."""
        now = self.clock()
        cooldown = self.policy.cooldown
        if cooldown > 0:
            last = await self.store.last_started(user_id)
            if last is not None and now - last < cooldown:
                return Allowance(Refusal.COOLDOWN, frees_at=last + cooldown)
        budget = self.policy.daily_budget
        if budget > 0:
            spent = await self.store.spent(guild_id or 0, budget_day(now))
            if spent + self.price(operation) > budget:
                return Allowance(Refusal.OVER_BUDGET, next_budget_day(now), spent, budget)
        if self.ceiling is not None and await self.ceiling.would_pass(self.price(operation)):
            return Allowance(Refusal.OVER_CEILING, next_budget_day(now))
        return Allowance()

    # -- starting one -----------------------------------------------------------------------------------
    def webhook_url(self, record: FollowUpRecord) -> str | None:
        if self.webhook_base is None or not record.callback_token:
            return None
        return f"{self.webhook_base}{WEBHOOK_PATH}/{record.key}.{record.callback_token}"

    async def start(
        self, who: Requester, source: ClipSource, request: FollowUpRequest, partner: ClipSource | None = None
    ) -> FollowUpRecord | Allowance:
        """Reserve the credits (or say why not), send the request, record MusicAPI's task (or, for a call
        answered at once, its result). `partner`: the other clip of a pair (Mashup).

        The returned record is pending with a task id, or failed (refused by MusicAPI, or unconfirmed).
        """
        if (unfit := self.takes(request.operation, source)) is not None:
            return Allowance(unfit)
        if partner is not None:
            request = dataclasses.replace(request, partner_clip_id=partner.clip_id)
        now = self.clock()
        record = FollowUpRecord(
            user_id=who.user_id,
            guild_id=who.guild_id,
            channel_id=who.channel_id,
            application_id=who.application_id,
            interaction_id=who.interaction_id,
            interaction_token=who.token,
            token_expires_at=who.token_expires_at,
            locale=who.locale,
            attachment_limit=who.attachment_limit,
            action=request.operation,
            origin=source.origin,
            source_id=source.source_id,
            source_clip_id=source.clip_id,
            source_label=f"{source.label} + {partner.label}" if partner else source.label,
            task_type=CATALOG[request.operation].task_types[source.origin],
            model=self.policy.model,
            credits=self.price(request.operation),
            callback_token=secrets.token_urlsafe(32)
            if self.webhook_base and CATALOG[request.operation].webhook
            else None,
            # Until MusicAPI's answer brings a task id, only a restart or a lost answer lets the watcher
            # see it: then, after this grace, its member is told.
            next_poll_at=now + self.policy.unconfirmed_grace,
        )
        try:
            whole_bot = await self.ceiling.reserve(record.credits) if self.ceiling is not None else None
        except OverCeiling:
            self.metrics.follow_up_refused(Refusal.OVER_CEILING.value)
            return Allowance(Refusal.OVER_CEILING, next_budget_day(now))
        try:
            stored = await self.store.reserve(
                record,
                day=budget_day(now),
                daily_budget=self.policy.daily_budget,
                cooldown_since=now - self.policy.cooldown if self.policy.cooldown > 0 else now + 1,
            )
        except BaseException:
            # A repeated delivery (AlreadyRecorded) or a store that failed: nothing will be sent.
            if whole_bot is not None and self.ceiling is not None:
                await self.ceiling.release(whole_bot)
            raise
        if stored is None and whole_bot is not None and self.ceiling is not None:
            await self.ceiling.release(whole_bot)
        if stored is None:
            refused = await self.allowance(who.user_id, who.guild_id, request.operation)
            if refused.allowed:  # another follow-up took the last room between the two reads
                refused = Allowance(Refusal.COOLDOWN, frees_at=now + self.policy.cooldown)
            self.metrics.follow_up_refused(refused.refusal.value if refused.refusal else "refused")
            return refused
        self.metrics.credits_reserved(stored.credits)
        spec = CATALOG[request.operation]
        body: dict[str, Any] = request.body(source.origin, source.clip_id, self.policy.model)
        if spec.webhook and (url := self.webhook_url(stored)) is not None:
            body["webhook_url"] = url
            if self.webhook_secret:
                body["webhook_secret"] = self.webhook_secret
        try:
            if spec.synchronous:
                value = await self.api.run(spec.endpoint.value, body)
            else:
                task_id = await self.api.start_task(spec.endpoint.value, body)
        except UploadError as exc:
            # Never sent again (it may have arrived, and cost); its credits given back only when it
            # certainly cost nothing (`uncharged`). The modal's answer tells the member.
            await self.fail(stored, exc, show=False)
            if isinstance(exc, OutOfCredits) and self.policy.low_credits_alert > 0:
                self.in_background(self.check_credits())
            return stored
        if spec.synchronous:
            finished = await self._kept(
                stored, lambda: self.store.finish(stored.key, state=FollowUpState.SUCCEEDED, result=value)
            )
            if finished is not False:  # stored, or (never stored) shown from what this process holds
                stored.state, stored.result = FollowUpState.SUCCEEDED, value
                if finished:
                    self._settled(stored, "succeeded", show=False)
            self._after_spend()
            return stored
        stored.task_id = task_id
        first_poll = self.policy.first_poll if body.get("webhook_url") else self.policy.poll_interval
        stored.next_poll_at = self.clock() + first_poll
        await self._kept(stored, lambda: self.store.set_task(stored.key, task_id, stored.next_poll_at))
        log.info(
            "follow-up id=%s user=%s guild=%s action=%s task=%s started",
            stored.id,
            stored.user_id,
            stored.guild_id,
            stored.task_type,
            task_id,
        )
        self._after_spend()
        return stored

    async def _kept(self, record: FollowUpRecord, write: Callable[[], Awaitable[Any]]) -> Any:
        """`write()`'s result, tried again after each of KEEP_PAUSES when it fails: MusicAPI has taken the
        request, so the member is answered with what happened, not told to try again (and pay twice).
        None when it never went through: logged with the task, for the owner to find."""
        for pause in KEEP_PAUSES:
            try:
                return await write()
            except Exception:
                await asyncio.sleep(pause)
        try:
            return await write()
        except Exception:
            log.exception(
                "follow-up id=%s task=%s: MusicAPI took it, but the store could not record it",
                record.id,
                record.task_id,
            )
            return None

    def _after_spend(self) -> None:
        """Credits were spent: look whether they are running low (the owner is told once)."""
        if self.policy.low_credits_alert > 0:
            self.in_background(self.check_credits())

    # -- settling ---------------------------------------------------------------------------------------
    async def settle(self, record: FollowUpRecord, result: Generation) -> bool:
        """Apply a finished task (webhook or poll); False when it was settled already."""
        if result.state is TaskState.SUCCEEDED and result.songs:
            done = await self.store.finish(record.key, state=FollowUpState.SUCCEEDED, songs=result.songs)
            if done:
                record.state, record.songs = FollowUpState.SUCCEEDED, list(result.songs)
                self._settled(record, "succeeded", True)
            return done
        if result.state is TaskState.SUCCEEDED:
            # "Succeeded" without a song: nothing to show, and no refund to promise.
            return await self.fail(record, ServiceUnavailable("task succeeded without songs"))
        # MusicAPI refunds failed generations.
        return await self.fail(record, result.error or TaskFailed())

    async def fail(self, record: FollowUpRecord, error: UploadError, *, show: bool = True) -> bool:
        """Settle a pending follow-up as failed; its credits no longer count against the server's budget
        and the day's ceiling when MusicAPI certainly charged nothing for it (`spending.uncharged`).
        `show`: the member is shown it now (the modal's own answer shows a refusal at once)."""
        refund = uncharged(error, synchronous=CATALOG[record.action].synchronous)
        done = await self.store.finish(
            record.key,
            state=FollowUpState.FAILED,
            error_kind=error.kind,
            detail=error.detail,
            refund=refund,
        )
        if done:
            record.state, record.error_kind = FollowUpState.FAILED, error.kind
            record.error_detail = error.detail or None
            if refund and self.ceiling is not None and record.credits:
                await self.ceiling.release(Reservation(budget_day(record.created_at), record.credits))
            if refund:
                record.credits = 0
            if error.kind is ErrorKind.UNAUTHORIZED:
                log.error("MusicAPI did not accept MUSICAPI_API_KEY: follow-ups fail until it is fixed")
            self._settled(record, error.kind.value, show)
        return done

    def _settled(self, record: FollowUpRecord, outcome: str, show: bool) -> None:
        self.metrics.follow_up_settled(record.action.value, outcome)
        log.info(
            "follow-up id=%s user=%s guild=%s action=%s outcome=%s songs=%d",
            record.id,
            record.user_id,
            record.guild_id,
            record.task_type,
            outcome,
            len(record.songs),
        )
        if show:
            self.present(record)

    def present(self, record: FollowUpRecord) -> None:
        if self.show is not None:
            self.in_background(self.show(record.key))

    # -- waiting for results -----------------------------------------------------------------------------
    async def poll_due(self) -> None:
        """Ask MusicAPI about the follow-ups due now (claimed in one step, so no other instance asks
        too); give up on those past the deadline and those that never got a task id."""
        now = self.clock()
        due = await self.store.claim_due(now, next_poll_at=now + self.policy.poll_interval, limit=CLAIM_LIMIT)
        for record in due:
            if record.task_id is None:
                await self.fail(record, UploadUnconfirmed("no task id"))
                continue
            if now - record.created_at > self.policy.deadline:
                # The task may still finish (and cost): no refund is promised.
                await self.fail(record, UploadTimedOut("no result before the deadline"))
                continue
            try:
                result = await self.api.get_generation(record.task_id)
            except UploadError as exc:
                log.warning("polling follow-up %s failed: %s", record.id, exc.kind.value)
                continue
            if result.finished:
                await self.settle(record, result)

    async def redeliver(self, *, older_than: float = REDELIVER_EVERY) -> None:
        """Results whose member has not seen them (Discord down, a restart), settled at least `older_than`
        seconds ago, are shown again: claimed in the store, so that no other instance shows them too."""
        now = self.clock()
        for record in await self.store.claim_undelivered(
            settled_before=now - older_than, now=now, until=now + REDELIVER_EVERY
        ):
            self.present(record)

    # -- the owner's credits ------------------------------------------------------------------------------
    async def check_credits(self) -> Credits | None:
        """Ask MusicAPI for the credits left; below LOW_CREDITS_ALERT the owner is told once (an ERROR
        line and one DM) until credits are back above it."""
        threshold = self.policy.low_credits_alert
        try:
            credits = await self.api.get_credits()
        except UploadError as exc:
            log.warning("could not read MusicAPI's credits: %s", exc.kind.value)
            return None
        if threshold <= 0:
            return credits
        now = self.clock()
        if credits.total >= threshold:
            await self.store.clear_alert(LOW_CREDITS)
        elif await self.store.raise_alert(LOW_CREDITS, now):
            log.error(
                "MusicAPI credits are low: %d left, below LOW_CREDITS_ALERT=%d; follow-ups cost %s each",
                credits.total,
                threshold,
                self.price_range(),
            )
            if self.alert_owner is not None and not await self.alert_owner(credits, threshold):
                log.warning("could not send the low-credits DM to the bot's owner")
        return credits

    def in_background(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("follow-up work in the background failed", exc_info=task.exception())

    async def drain(self, within: float) -> None:
        if self._background:
            await asyncio.wait(self._background, timeout=within)
