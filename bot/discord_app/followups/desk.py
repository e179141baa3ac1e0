"""The Discord side of follow-ups: a button press (who may, whether now), the modal, its one answer; the
owner's credits report and the low-credits DM."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.discord_app.followups.delivery import FollowUpDelivery
from bot.discord_app.followups.views import (
    FORM,
    PARTNER,
    GrantedButton,
    buttons_on,
    follow_up_form,
    form_fields,
    partner_menu,
)
from bot.discord_app.interactions import (
    Redelivered,
    answer_once,
    answering_failures,
    refuse,
    requester,
    respond,
    texts_for,
    think,
)
from bot.discord_app.reach import refused_here
from bot.domain import rendering
from bot.domain.errors import ErrorKind, UploadError
from bot.domain.followups.catalog import CATALOG
from bot.domain.followups.grants import GRANT_LIFETIME, Grants
from bot.domain.followups.ports import Credits, FollowUpMetrics, NoFollowUpMetrics
from bot.domain.followups.records import (
    Allowance,
    ClipOrigin,
    ClipSource,
    FollowUpState,
    InputRejected,
    Operation,
    budget_day,
)
from bot.domain.followups.service import FollowUpService
from bot.domain.inflight import InFlight
from bot.domain.reach import Reach
from bot.domain.texts import Texts

log = logging.getLogger(__name__)

#: Servers whose names the credits report looks up (the rest are shown by id).
MAX_NAMED = 20
#: Buttons one message may carry (five rows of five).
MAX_BUTTONS = 25


class FollowUpDesk:
    """Takes Extend and Cover presses and the modals they open; every interaction gets one answer."""

    def __init__(
        self,
        *,
        client: commands.Bot | commands.AutoShardedBot,
        service: FollowUpService,
        delivery: FollowUpDelivery,
        metrics: FollowUpMetrics | None = None,
    ) -> None:
        self._client = client
        self._service = service
        self._delivery = delivery
        self._metrics = metrics or NoFollowUpMetrics()
        self.grants = Grants(lambda: client.http.token or "")
        #: Set when shutdown begins: presses are told the bot is restarting.
        self.closing = False
        #: Follow-ups being sent to MusicAPI now (see `submit`).
        self.answering = InFlight()
        #: Where the bot works (ALLOWED_GUILDS, ALLOW_USER_INSTALLS).
        self.reach = Reach()

    def _may_follow_up(
        self,
        interaction: discord.Interaction,
        source: ClipSource,
        action: Operation,
        grant: str | None,
        *,
        grace: float = 0.0,
    ) -> bool:
        """The member's own clip, or one a server's admins let them follow up on (a grant, see
        `domain.followups.grants`; `grace`: how long after it expired it still counts)."""
        if interaction.user.id == source.owner_id:
            return True
        return grant is not None and self.grants.valid(
            grant, interaction.user.id, action, source.origin, source.source_id, grace=grace
        )

    def _not_theirs(
        self, interaction: discord.Interaction, source: ClipSource, action: Operation, grant: str | None
    ) -> str:
        """Why the member may not: their admins' permission ran out, or it is not their clip."""
        texts = texts_for(interaction)
        if grant is not None and self.grants.expired(
            grant, interaction.user.id, action, source.origin, source.source_id
        ):
            return texts("followup.grant_expired")
        return texts("followup.not_yours")

    async def press(
        self,
        interaction: discord.Interaction,
        action: Operation,
        origin: ClipOrigin,
        source_id: int,
        grant: str | None = None,
    ) -> None:
        """Extend or Cover pressed: the member sees the modal, or only they see why not."""
        texts = texts_for(interaction)
        service = self._service
        if self.closing:
            await refuse(interaction, texts("error.shutdown"))
            return
        if await refused_here(self.reach, interaction):
            return
        if not service.enabled(action):
            await refuse(interaction, texts("followup.disabled"))
            return
        source = await service.source(origin, source_id)
        if source is None:
            await refuse(interaction, texts("followup.gone"))
            return
        if not self._may_follow_up(interaction, source, action, grant):
            self._metrics.follow_up_refused("not_owner")
            log.info(
                "follow-up refused user=%s source=%s/%s: not theirs", interaction.user.id, origin, source_id
            )
            await refuse(interaction, self._not_theirs(interaction, source, action, grant))
            return
        unfit = service.takes(action, source)
        allowance = (
            Allowance(unfit)
            if unfit
            else await service.allowance(interaction.user.id, interaction.guild_id, action)
        )
        if not allowance.allowed:
            self._metrics.follow_up_refused(allowance.refusal.value if allowance.refusal else "refused")
            await refuse(interaction, rendering.refusal_of(texts, allowance, action))
            return
        if CATALOG[action].pair:
            await self._offer_partners(interaction, action, source)
            return
        if service.one_click(action):  # another delivery's Redelivered ends at the button's callback
            await self.submit(interaction, action, source, {})
            return
        await self._show_form(interaction, action, source, grant=grant)

    async def _show_form(
        self,
        interaction: discord.Interaction,
        action: Operation,
        source: ClipSource,
        *,
        grant: str | None = None,
        partner: ClipSource | None = None,
    ) -> None:
        service, policy = self._service, self._service.policy
        form = follow_up_form(
            CATALOG[action],
            source.origin,
            source.source_id,
            texts_for(interaction),
            credits=service.price(action),
            model=policy.model,
            lyrics_limit=policy.lyrics_limit,
            grant=grant,
            partner=f"{partner.origin.value}:{partner.source_id}" if partner else None,
        )
        try:
            await respond(interaction, interaction.response.send_modal(form))
        except Redelivered:
            pass  # the member has the form (or a refusal) from the first delivery of this press
        finally:
            # Its submit is read from the interaction (`form_submitted`), the same before and after a
            # restart: discord.py need not keep the modal.
            form.stop()

    async def _offer_partners(
        self, interaction: discord.Interaction, action: Operation, source: ClipSource
    ) -> None:
        """A pair (Mashup): only the member sees a list of their own clips to choose the other one from."""
        texts = texts_for(interaction)
        clips = await self._service.partners(interaction.user.id, besides=source)
        if not clips:
            await refuse(interaction, texts("followup.pair.none"))
            return
        view = partner_menu(
            action, source.origin, source.source_id, [(c.origin, c.source_id, c.label) for c in clips], texts
        )
        await answer_once(
            interaction,
            interaction.response.send_message(
                texts("followup.pair.pick", label=rendering.plain(source.label, 80)),
                view=view,
                ephemeral=True,
            ),
        )

    async def _partner(self, interaction: discord.Interaction, value: str | None) -> ClipSource | None:
        """The other clip of a pair, named `upload:12` or `song:34`: only one of the member's own."""
        match = PARTNER.fullmatch(value or "")
        if match is None:
            return None
        partner = await self._service.source(ClipOrigin(match["origin"]), int(match["id"]))
        return partner if partner is not None and partner.owner_id == interaction.user.id else None

    async def paired(
        self, interaction: discord.Interaction, action: Operation, named: tuple[ClipOrigin, int], partner: str
    ) -> None:
        """The other clip of a pair was chosen: the form, after the same checks as the button's."""
        texts = texts_for(interaction)
        if self.closing:
            await refuse(interaction, texts("error.shutdown"))
            return
        source = await self._service.source(*named)
        other = await self._partner(interaction, partner)
        if not self._service.enabled(action) or source is None or other is None:
            await refuse(interaction, texts("followup.gone"))
            return
        if not self._may_follow_up(interaction, source, action, None):
            await refuse(interaction, texts("followup.not_yours"))
            return
        await self._show_form(interaction, action, source, partner=other)

    @answering_failures
    async def form_submitted(self, interaction: discord.Interaction) -> None:
        """A submitted form: an Extend or Cover form is checked and answered; others are left alone."""
        if interaction.type is not discord.InteractionType.modal_submit or not isinstance(
            interaction.data, dict
        ):
            return
        match = FORM.fullmatch(str(interaction.data.get("custom_id", "")))
        if match is None:
            return
        await self._form_submitted(
            interaction,
            Operation(match["action"]),
            ClipOrigin(match["origin"]),
            int(match["id"]),
            match["grant"],
            match["partner"],
        )

    async def _form_submitted(
        self,
        interaction: discord.Interaction,
        action: Operation,
        origin: ClipOrigin,
        source_id: int,
        grant: str | None,
        partner_named: str | None = None,
    ) -> None:
        texts = texts_for(interaction)
        if not self._service.enabled(action):
            await refuse(interaction, texts("followup.disabled"))
            return
        # The form names its clip: who may use it is checked again, as for the button.
        source = await self._service.source(origin, source_id)
        if source is None:
            await refuse(interaction, texts("followup.gone"))
            return
        # A form opened while its grant held may be sent for as long again (its member was typing).
        if not self._may_follow_up(interaction, source, action, grant, grace=GRANT_LIFETIME):
            self._metrics.follow_up_refused("not_owner")
            await refuse(interaction, self._not_theirs(interaction, source, action, grant))
            return
        partner = await self._partner(interaction, partner_named) if CATALOG[action].pair else None
        if CATALOG[action].pair and partner is None:
            await refuse(interaction, texts("followup.gone"))
            return
        await self.submit(interaction, action, source, form_fields(interaction.data), partner)

    async def submit(
        self,
        interaction: discord.Interaction,
        action: Operation,
        source: ClipSource,
        fields: dict[str, str],
        partner: ClipSource | None = None,
    ) -> None:
        """The form came back (or a one-click operation was pressed): check it, reserve the credits, ask
        MusicAPI, answer in the channel. Shutdown waits (a while) for those under way: MusicAPI may be
        charging for one, and its task id must reach the store before the store closes."""
        with self.answering.track():
            await self._submit(interaction, action, source, fields, partner)

    async def _submit(
        self,
        interaction: discord.Interaction,
        action: Operation,
        source: ClipSource,
        fields: dict[str, str],
        partner: ClipSource | None,
    ) -> None:
        texts = texts_for(interaction)
        if self.closing:
            await refuse(interaction, texts("error.shutdown"))
            return
        try:
            request = CATALOG[action].request(fields, self._service.policy.lyrics_limit)
        except InputRejected as exc:
            self._metrics.follow_up_refused("bad_input")
            await refuse(interaction, _input_problem(texts, exc))
            return
        await think(interaction)
        started = await self._service.start(requester(interaction), source, request, partner)
        if isinstance(started, Allowance):
            await refuse(interaction, rendering.refusal_of(texts, started, action))
            return
        if started.state is FollowUpState.FAILED and started.error_kind is not ErrorKind.UNCONFIRMED:
            # MusicAPI refused it at once, or a synchronous call (WAV, MIDI, BPM) made nothing: only the
            # member needs to read why.
            await refuse(
                interaction,
                rendering.follow_up_failure(
                    texts,
                    started.error_kind or ErrorKind.FAILED,
                    started.source_label,
                    started.error_detail or "",
                    action,
                ),
            )
            await self._service.store.mark_delivered(started.key)
            return
        await self._delivery.deliver(started.key, interaction)

    async def on_message_of_others(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """ "Extend or cover" on a result: its member (allowed by the server's admins) gets buttons of their
        own for the clips of that message, whoever made them; only they see them."""
        texts = texts_for(interaction)
        if self.closing:
            await refuse(interaction, texts("error.shutdown"))
            return
        me = self._client.user
        found = [
            item
            for item in buttons_on(message)
            if me is not None
            and message.author.id == me.id
            and self._service.enabled(item[0])
            and not CATALOG[item[0]].pair  # its form names a clip of the member's own: see `paired`
        ]
        if not found:
            await refuse(interaction, texts("followup.no_clip"))
            return
        view = discord.ui.View(timeout=None)
        for action, origin, source_id, label in found[:MAX_BUTTONS]:
            grant = self.grants.issue(interaction.user.id, action, origin, source_id)
            view.add_item(GrantedButton(action, origin, source_id, grant, label))
        log.info("user %s may follow up on the clips of message %s", interaction.user.id, message.id)
        await answer_once(
            interaction,
            interaction.response.send_message(texts("followup.granted"), view=view, ephemeral=True),
        )

    # -- the owner -------------------------------------------------------------------------------------
    async def credits(self, interaction: discord.Interaction) -> None:
        """Owner only: MusicAPI's credits left, and each server's follow-up spend today."""
        texts = texts_for(interaction)
        if not await self._client.is_owner(interaction.user):
            await answer_once(
                interaction, interaction.response.send_message(texts("owner.only"), ephemeral=True)
            )
            return
        await respond(interaction, interaction.response.defer(ephemeral=True, thinking=True))
        credits: Credits | None = None
        problem = ""
        try:
            credits = await self._service.api.get_credits()
        except UploadError as exc:
            problem = rendering.failure(texts, exc.kind, "MusicAPI", exc.detail)
        spent = await self._service.store.spent_by_guild(budget_day(self._service.clock()))
        names = {g: name for g in list(spent)[:MAX_NAMED] if g and (name := await self._guild_name(g))}
        policy = self._service.policy
        report = rendering.credits_report(
            texts,
            credits,
            problem,
            spent,
            names,
            budget=policy.daily_budget,
            threshold=policy.low_credits_alert,
            cost=self._service.price_range(),
        )
        if (ceiling := self._service.ceiling) is not None:
            report = rendering.with_day_total(texts, report, await ceiling.today(), ceiling.ceiling)
        await interaction.edit_original_response(content=report)

    async def _guild_name(self, guild_id: int) -> str | None:
        """A server's name, when the bot can see it (otherwise the report shows its id)."""
        guild = self._client.get_guild(guild_id)
        if guild is not None:
            return guild.name
        try:
            return (await self._client.fetch_guild(guild_id, with_counts=False)).name
        except discord.HTTPException:
            return None

    async def alert_owner(self, credits: Credits, threshold: int) -> bool:
        """One DM to the application's owner (a team's owner) that credits are low; True once sent."""
        try:
            app = await self._client.application_info()
            owner_id = app.team.owner_id if app.team is not None and app.team.owner_id else app.owner.id
            dm = await self._client.create_dm(discord.Object(owner_id))
            await dm.send(rendering.low_credits(Texts(None), credits, threshold, self._service.price_range()))
        except discord.HTTPException as exc:
            log.warning("could not DM the bot's owner about low credits (HTTP %s)", exc.status)
            return False
        return True


def _input_problem(texts: Texts, exc: InputRejected) -> str:
    values: dict[str, str | int] = dict(exc.values)
    if "field" in values:
        values["field"] = texts(f"followup.name.{values['field']}")
    return texts(exc.key, **values)
