"""The bot's process once its settings are checked: run it until SIGTERM/SIGINT and turn how it ended
into an exit status; and `--invite` (which checks no settings). Kept apart from `bot.__main__`, which
imports this module (discord.py, aiohttp, the composition root) only once the settings' checking process
has answered, so that the two processes are not both large at once (README, "Settings")."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable

import aiohttp
import discord

from bot.cli import EXIT_CONFIG, EXIT_DISCORD, EXIT_UNREACHABLE, startup_line
from bot.composition import DiscordUnreachable, run
from bot.config import Settings
from bot.config.logging import configure_logging
from bot.config.settings import secret_problem, unknown_names
from bot.discord_app.invite import application_id, invite_url
from bot.storage import StoreUnavailable
from bot.web import WebServerUnavailable

log = logging.getLogger("bot")


def print_invite() -> None:
    """`--invite`: ask Discord which application DISCORD_TOKEN belongs to, print its invite link."""
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    problem = (
        "is not set: add it to .env or the environment (see .env.example)"
        if not token
        else secret_problem(token)
    )
    if problem:
        print(f"musicapi-upload-bot: configuration error: DISCORD_TOKEN {problem}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    try:
        found = asyncio.run(application_id(token))
    except discord.LoginFailure:
        print("musicapi-upload-bot: Discord rejected DISCORD_TOKEN", file=sys.stderr)
        sys.exit(EXIT_DISCORD)
    except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
        print(f"musicapi-upload-bot: could not ask Discord ({type(exc).__name__})", file=sys.stderr)
        sys.exit(EXIT_UNREACHABLE)
    print(invite_url(found))


def event_loop(chosen: str = "uvloop") -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """The event loop the bot runs on (EVENT_LOOP), by name, and how to make it. uvloop's, where it is
    installed (Linux and macOS, as the project's dependencies say), does the loop's share of every upload
    (sockets, callbacks, timers) in C, for fewer instructions per upload; asyncio's own (None) holds
    2.5 MiB less (README, "Last results"). Both run the same code."""
    if chosen == "asyncio":
        return "asyncio", None
    try:
        import uvloop
    except ImportError:
        return "asyncio (uvloop is not installed)", None
    # uvloop sets __version__ from its _version module, which its stubs do not re-export.
    return f"uvloop {uvloop.__version__}", uvloop.new_event_loop  # type: ignore[attr-defined]


def run_until_stopped(settings: Settings, env_file_names: list[str]) -> None:
    """Run the bot; exit with the status that says how it ended (README, "Exit codes"). `env_file_names`:
    the names `.env` set, each one that is no setting warned about."""
    configure_logging(settings.log_level, settings.log_format)
    loop, new_loop = event_loop(settings.event_loop)
    log.info("%s", startup_line(settings, loop))
    for line in unknown_names(env_file_names):
        log.warning("%s", line)
    try:
        with asyncio.Runner(loop_factory=new_loop) as runner:
            runner.run(run(settings))
    except discord.LoginFailure:
        log.critical("Discord rejected DISCORD_TOKEN: copy the bot token again from the Developer Portal")
        sys.exit(EXIT_DISCORD)
    except discord.PrivilegedIntentsRequired:
        log.critical("Discord refused the gateway connection for missing privileged intents")
        sys.exit(EXIT_DISCORD)
    except (discord.GatewayNotFound, discord.ConnectionClosed, aiohttp.ClientError) as exc:
        log.critical("could not connect to Discord (%s)", type(exc).__name__)
        sys.exit(EXIT_UNREACHABLE)
    except DiscordUnreachable as exc:
        log.critical("%s", exc)
        sys.exit(EXIT_UNREACHABLE)
    except StoreUnavailable as exc:
        log.critical("%s (check DATABASE_URL)", exc)
        sys.exit(EXIT_CONFIG)
    except WebServerUnavailable as exc:
        log.critical("%s", exc)
        sys.exit(EXIT_CONFIG)
    except OSError as exc:
        log.critical("could not connect to Discord (%s)", type(exc).__name__)
        sys.exit(EXIT_UNREACHABLE)
    except KeyboardInterrupt:
        pass
