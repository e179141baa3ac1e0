"""Message catalogs: one module per language, English as the fallback for every key."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bot.domain.texts import de, en, es, fr, ja, pt_br

#: Discord locale code -> that language's messages. English is complete; others may lag behind.
CATALOGS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "en-US": en.MESSAGES,
        "de": de.MESSAGES,
        "es-ES": es.MESSAGES,
        "fr": fr.MESSAGES,
        "pt-BR": pt_br.MESSAGES,
        "ja": ja.MESSAGES,
    }
)

FALLBACK = "en-US"

#: Languages whose singular also counts zero (CLDR: French and Portuguese say "0 fichier", "0 arquivo").
_SINGULAR_ZERO = frozenset({"fr", "pt-BR"})


class Texts:
    """The messages of one locale; a key missing there falls back to English."""

    __slots__ = ("_messages", "locale")

    def __init__(self, locale: str | None = None) -> None:
        self.locale = resolve_locale(locale)
        self._messages = CATALOGS[self.locale]

    def __call__(self, key: str, /, **values: Any) -> str:
        template = self._messages.get(key) or en.MESSAGES[key]
        return template.format(**values)

    def plural(self, key: str, count: int, /) -> str:
        """`count` things, worded by the language: `<key>.one` for its singular, `<key>.other` for the
        rest ("1 new song", "2 new songs"); a language without plurals (Japanese) words both alike."""
        singular = count == 1 or (count == 0 and self.locale in _SINGULAR_ZERO)
        return self(f"{key}.{'one' if singular else 'other'}", count=count)


def resolve_locale(locale: str | None) -> str:
    """The catalog for a Discord locale (`de`, `pt-BR`, `en-GB`...): exact, then by language, then English."""
    if not locale:
        return FALLBACK
    if locale in CATALOGS:
        return locale
    language = locale.split("-", 1)[0].lower()
    for code in CATALOGS:
        if code.split("-", 1)[0].lower() == language:
            return code
    return FALLBACK
