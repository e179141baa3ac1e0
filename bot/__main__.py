"""`python -m bot`: read the command line and the settings, run the bot until SIGTERM/SIGINT, exit with a
clear status."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import discord
from dotenv import dotenv_values, load_dotenv

from bot.cli import parse_arguments, startup_line
from bot.composition import DiscordUnreachable, run
from bot.config import SettingsError, load_settings
from bot.config.logging import configure_logging
from bot.config.settings import unknown_names
from bot.discord_app.invite import application_id, invite_url
from bot.storage import StoreUnavailable
from bot.web import WebServerUnavailable

log = logging.getLogger("bot")

#: Exit statuses (README, "Exit codes"): 2 and 3 are not mended by starting again; 1 may be.
EXIT_UNREACHABLE = 1  # Discord answered at first, then the connection failed or logging in hung
EXIT_CONFIG = 2  # a setting is missing or wrong (the store or the web port included)
EXIT_DISCORD = 3  # Discord refused the token (or the intents)


def print_invite() -> None:
    """`--invite`: ask Discord which application DISCORD_TOKEN belongs to, print its invite link."""
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        print(
            "musicapi-upload-bot: configuration error: DISCORD_TOKEN is not set: add it to .env or the "
            "environment (see .env.example)",
            file=sys.stderr,
        )
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


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)  # --help and --version answer here, before any setting is needed
    env_file = Path.cwd() / ".env"
    load_dotenv(env_file)  # the working directory's .env; real environment variables win
    if arguments.invite:
        print_invite()
        return
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"musicapi-upload-bot: configuration error: {problem.line}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    configure_logging(settings.log_level, settings.log_format)
    log.info("%s", startup_line(settings))
    for line in unknown_names(dotenv_values(env_file)):
        log.warning("%s", line)
    try:
        asyncio.run(run(settings))
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


if __name__ == "__main__":
    main()
