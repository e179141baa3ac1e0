"""`python -m bot`: load settings, run the bot until SIGTERM/SIGINT, exit with a clear status."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import aiohttp
import discord
from dotenv import load_dotenv

from bot.composition import run
from bot.config import SettingsError, load_settings
from bot.storage import StoreUnavailable
from bot.web import WebServerUnavailable

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_DISCORD = 3


def main() -> None:
    load_dotenv(Path.cwd() / ".env")  # the working directory's .env; real environment variables win
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"musicapi-upload-bot: configuration error: {problem.line}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    discord.utils.setup_logging(level=logging.getLevelName(settings.log_level), root=True)
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
        sys.exit(EXIT_DISCORD)
    except StoreUnavailable as exc:
        log.critical("%s (check DATABASE_URL)", exc)
        sys.exit(EXIT_CONFIG)
    except WebServerUnavailable as exc:
        log.critical("%s", exc)
        sys.exit(EXIT_CONFIG)
    except OSError as exc:
        log.critical("could not connect to Discord (%s)", type(exc).__name__)
        sys.exit(EXIT_DISCORD)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
