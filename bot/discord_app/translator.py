"""Command names and descriptions in the member's language, from the same catalogs as the replies."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.domain.texts import CATALOGS, FALLBACK, en, resolve_locale


def command_text(key: str) -> app_commands.locale_str:
    """A command's name or description: English from the catalog, translated by `CatalogTranslator`."""
    return app_commands.locale_str(en.MESSAGES[key], key=key)


class CatalogTranslator(app_commands.Translator):
    """Looks strings up by the `key` each `locale_str` carries; English is the command's own text."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key")
        catalog = resolve_locale(locale.value)
        if key is None or catalog == FALLBACK:
            return None
        return CATALOGS[catalog].get(key)
