"""`python -m bot`: load settings, run the bot until SIGTERM/SIGINT, exit with a clear status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

import aiohttp
import discord
from dotenv import load_dotenv

from bot.app import MusicBot, WebServerUnavailable, http_session
from bot.settings import Settings, SettingsError, load_settings
from bot.store import StoreUnavailable

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_DISCORD = 3


async def run(settings: Settings) -> None:
    """Run until a stop signal (then shut down cleanly) or until Discord ends the session."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with http_session() as session, MusicBot(settings, session) as bot:
        runner = asyncio.create_task(bot.start(settings.discord_token))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            stopper.cancel()
            runner.result()
            return
        log.info("stop signal received: shutting down")
        if not bot.is_ready():
            # Still starting (logging in, recovering, syncing): stop that first, then close.
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


def main() -> None:
    load_dotenv(Path.cwd() / ".env")  # the working directory's .env; real environment variables win
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        print(f"musicapi-upload-bot: configuration error: {exc}", file=sys.stderr)
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
    except (discord.GatewayNotFound, discord.ConnectionClosed, aiohttp.ClientError, OSError) as exc:
        log.critical("could not connect to Discord (%s)", type(exc).__name__)
        sys.exit(EXIT_DISCORD)
    except StoreUnavailable as exc:
        log.critical("%s (check DATABASE_URL)", exc)
        sys.exit(EXIT_CONFIG)
    except WebServerUnavailable as exc:
        log.critical("%s", exc)
        sys.exit(EXIT_CONFIG)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
