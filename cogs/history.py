"""`/uploads`: a member's own recent uploads, ten to a page, with buttons to page through them and to
delete them (after a confirmation)."""

from __future__ import annotations

import logging
import re
from typing import Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.host import History as UploadHistory
from bot.discord_app.host import Host
from bot.discord_app.interactions import answer_once, answering_failures, texts_for
from bot.discord_app.translator import command_text as _
from bot.domain import rendering
from bot.domain.texts import Texts

log = logging.getLogger(__name__)


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"uploads:(?P<user>\d+):(?P<page>\d+)"
):
    """A button that opens page `page` of `user`'s history; its state lives in the custom_id, so it
    keeps working after a restart."""

    def __init__(self, user_id: int, page: int, label: str, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                custom_id=f"uploads:{user_id}:{page}",
                style=discord.ButtonStyle.secondary,
                disabled=disabled,
            )
        )
        self.user_id = user_id
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PageButton:
        return cls(int(match["user"]), int(match["page"]), "")

    @answering_failures
    async def callback(self, interaction: discord.Interaction) -> None:
        texts = texts_for(interaction)
        if interaction.user.id != self.user_id:
            await answer_once(
                interaction, interaction.response.send_message(texts("history.not_yours"), ephemeral=True)
            )
            return
        host = cast(Host, interaction.client)  # the bot that loaded this cog
        content, view = await history_page(host.uploads_log, texts, self.user_id, self.page)
        await answer_once(interaction, interaction.response.edit_message(content=content, view=view))


class ForgetButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"uploads:forget:(?P<user>\d+)"):
    """Asks `user` to confirm deleting their history; persistent like the page buttons."""

    def __init__(self, user_id: int, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                custom_id=f"uploads:forget:{user_id}",
                style=discord.ButtonStyle.danger,
                row=1,  # below the page buttons
            )
        )
        self.user_id = user_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ForgetButton:
        return cls(int(match["user"]))

    @answering_failures
    async def callback(self, interaction: discord.Interaction) -> None:
        texts = texts_for(interaction)
        if interaction.user.id != self.user_id:
            await answer_once(
                interaction, interaction.response.send_message(texts("history.not_yours"), ephemeral=True)
            )
            return
        view = discord.ui.View(timeout=None)
        view.add_item(ConfirmForgetButton(self.user_id, texts("history.forget.yes")))
        view.add_item(PageButton(self.user_id, 0, texts("history.forget.no")))
        await answer_once(
            interaction, interaction.response.edit_message(content=texts("history.forget.confirm"), view=view)
        )


class ConfirmForgetButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"uploads:forget:(?P<user>\d+):yes"
):
    """Deletes `user`'s history, all but the uploads still in progress, then shows what is left."""

    def __init__(self, user_id: int, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label, custom_id=f"uploads:forget:{user_id}:yes", style=discord.ButtonStyle.danger
            )
        )
        self.user_id = user_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ConfirmForgetButton:
        return cls(int(match["user"]))

    @answering_failures
    async def callback(self, interaction: discord.Interaction) -> None:
        texts = texts_for(interaction)
        if interaction.user.id != self.user_id:
            await answer_once(
                interaction, interaction.response.send_message(texts("history.not_yours"), ephemeral=True)
            )
            return
        host = cast(Host, interaction.client)  # the bot that loaded this cog
        removed = await host.uploads_log.forget_member(self.user_id)
        log.info("user %s deleted their upload history (%d upload(s))", self.user_id, removed)
        content, view = await history_page(host.uploads_log, texts, self.user_id, 0)
        done = rendering.fit_message(f"{texts('history.forgotten', count=removed)}\n\n{content}")
        await answer_once(interaction, interaction.response.edit_message(content=done, view=view))


async def history_page(
    uploads: UploadHistory, texts: Texts, user_id: int, page: int
) -> tuple[str, discord.ui.View]:
    size = rendering.HISTORY_PAGE
    records = await uploads.history(user_id, limit=size + 1, offset=page * size)
    has_older = len(records) > size
    view = discord.ui.View(timeout=None)
    if page > 0 or has_older:
        view.add_item(PageButton(user_id, max(page - 1, 0), texts("history.newer"), disabled=page == 0))
        view.add_item(PageButton(user_id, page + 1, texts("history.older"), disabled=not has_older))
    if records or page > 0:
        view.add_item(ForgetButton(user_id, texts("history.forget")))
    return rendering.history(texts, records[:size], page), view


class History(commands.Cog):
    def __init__(self, host: Host) -> None:
        self.uploads_log = host.uploads_log

    @app_commands.command(
        name=_("cmd.uploads"),
        description=_("cmd.uploads.description"),
    )
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def uploads(self, interaction: discord.Interaction) -> None:
        content, view = await history_page(self.uploads_log, texts_for(interaction), interaction.user.id, 0)
        await answer_once(interaction, interaction.response.send_message(content, view=view, ephemeral=True))


async def setup(bot: Host) -> None:
    bot.add_dynamic_items(PageButton, ForgetButton, ConfirmForgetButton)
    await bot.add_cog(History(bot))
