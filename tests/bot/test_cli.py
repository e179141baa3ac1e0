"""bot.cli: the version shown, and the first log line (the subprocess tests in test_main run them for real)."""

from __future__ import annotations

import sys
from importlib.metadata import version as installed_version

import pytest

import bot
from bot.cli import startup_line, version
from bot.config.validation import load_settings
from bot.process import event_loop

BASE = {"DISCORD_TOKEN": "discord-token", "MUSICAPI_API_KEY": "musicapi-key"}


def test_version_is_the_installed_package_s() -> None:
    """pyproject.toml takes the package's version from `bot.__version__`, which the bot shows."""
    assert version() == installed_version("musicapi-upload-bot") == bot.__version__


def test_startup_line_shows_no_secret_and_no_public_url() -> None:
    settings = load_settings(
        {
            **BASE,
            "PUBLIC_URL": "https://operator:hunter2@bot.example.com",
            "DATABASE_URL": "sqlite:////srv/bot/uploads.db",
        }
    )
    line = startup_line(settings, "uvloop 0.23.0")
    assert "mode callback, store sqlite /srv/bot/uploads.db, shards: all" in line
    assert line.endswith(", event loop uvloop 0.23.0")
    assert all(secret not in line for secret in ("discord-token", "musicapi-key", "hunter2", "operator"))


def test_the_bot_runs_on_uvloop_where_it_is_installed_else_on_asyncios_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvloop  # a dependency where it has wheels (pyproject.toml), Linux among them: never skipped

    name, factory = event_loop()
    assert name == f"uvloop {installed_version('uvloop')}"
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()
    assert event_loop("asyncio") == ("asyncio", None)  # EVENT_LOOP=asyncio
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on Windows: the import fails
    assert event_loop() == ("asyncio (uvloop is not installed)", None)
