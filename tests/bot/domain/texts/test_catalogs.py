"""Every language has every text, with the same placeholders and markup, and names Discord accepts."""

from __future__ import annotations

import re
import string

import pytest

from bot.domain.texts import CATALOGS, FALLBACK, Texts, en, resolve_locale

NAME_KEYS = ("cmd.upload", "cmd.upload.file", "cmd.upload.url", "cmd.uploads")
LANGUAGES = [code for code in CATALOGS if code != FALLBACK]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_there_are_at_least_five_other_languages() -> None:
    assert {"de", "es-ES", "fr", "pt-BR", "ja"} <= set(LANGUAGES)


@pytest.mark.parametrize("code", LANGUAGES)
def test_catalog_matches_english(code: str) -> None:
    catalog = CATALOGS[code]
    assert set(catalog) == set(en.MESSAGES)
    for key, text in catalog.items():
        english = en.MESSAGES[key]
        assert fields(text) == fields(english), key
        assert text.count("**") == english.count("**"), key
        assert text.count("`") == english.count("`"), key
        text.format(**dict.fromkeys(fields(text), "x"))


@pytest.mark.parametrize("code", [*LANGUAGES, FALLBACK])
def test_command_names_are_valid_for_discord(code: str) -> None:
    catalog = CATALOGS[code]
    for key in NAME_KEYS:
        assert re.fullmatch(r"[-_\w]{1,32}", catalog[key]) and catalog[key] == catalog[key].lower(), key
    assert catalog["cmd.upload"] != catalog["cmd.uploads"]
    assert catalog["cmd.upload.file"] != catalog["cmd.upload.url"]
    assert 1 <= len(catalog["cmd.message_upload"]) <= 32
    for key, text in catalog.items():
        if key.startswith("cmd.") and key.endswith("description"):
            assert 1 <= len(text) <= 100, key


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("de", "de"), ("es-ES", "es-ES"), ("es-419", "es-ES"), ("pt-BR", "pt-BR"), ("ja", "ja"), ("fr", "fr"),
     ("en-GB", FALLBACK), ("ko", FALLBACK), ("", FALLBACK), (None, FALLBACK), ("xx-YY", FALLBACK)],
)  # fmt: skip
def test_locales_resolve_to_a_catalog(locale: str | None, expected: str) -> None:
    assert resolve_locale(locale) == expected


def test_missing_key_falls_back_to_english() -> None:
    partial = {k: v for k, v in CATALOGS["de"].items() if k != "error.rate_limited"}
    texts = Texts("de")
    texts._messages = partial  # a language that lags behind English
    assert texts("error.rate_limited") == en.MESSAGES["error.rate_limited"]
    assert texts("error.unavailable") == CATALOGS["de"]["error.unavailable"]


def last_sentence(text: str) -> str:
    sentences: list[str] = re.findall(r"[^.。]+[.。]", text)
    return sentences[-1].strip()


@pytest.mark.parametrize("code", [*LANGUAGES, FALLBACK])
def test_a_refused_api_key_sends_members_to_the_bots_owner_as_every_account_problem_does(code: str) -> None:
    """Only the bot's owner can change its configuration: a refused key is told like an empty account."""
    catalog = CATALOGS[code]
    owner = last_sentence(catalog["error.no_credits"])
    for key in ("error.unauthorized", "error.no_subscription", "error.forbidden"):
        assert last_sentence(catalog[key]) == owner, key


@pytest.mark.parametrize("code", [*LANGUAGES, FALLBACK])
def test_counted_things_have_a_singular_and_a_plural(code: str) -> None:
    texts = Texts(code)
    for key in ("count.new_songs", "count.files", "count.credits"):
        one, two = texts.plural(key, 1), texts.plural(key, 2)
        assert "1" in one, one
        assert (one.replace("1", "2") == two) is (code == "ja"), (one, two)
