"""`python -m bot`: read the command line and the settings, run the bot until SIGTERM/SIGINT, exit with a
clear status."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import aiohttp
import discord
from dotenv import dotenv_values

from bot.cli import parse_arguments, startup_line
from bot.composition import DiscordUnreachable, run
from bot.config import SettingsError
from bot.config.apart import SettingsUnchecked, load_settings_apart
from bot.config.logging import configure_logging
from bot.config.settings import secret_problem, unknown_names
from bot.discord_app.invite import application_id, invite_url
from bot.storage import StoreUnavailable
from bot.storage.sqlite import current_user
from bot.web import WebServerUnavailable

log = logging.getLogger("bot")

#: Exit statuses (README, "Exit codes"): 2 and 3 are not mended by starting again; 1 may be.
EXIT_UNREACHABLE = 1  # Discord answered at first, then the connection failed or logging in hung; or the
# settings' checking process could not run (killed, timed out, not started)
EXIT_CONFIG = 2  # a setting is missing or wrong (the store or the web port included)
EXIT_DISCORD = 3  # Discord refused the token (or the intents)


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
    (sockets, callbacks, timers) in C, for fewer instructions per upload; asyncio's own (None) serves
    the first responses of a very large burst more evenly (README, "Last results"). Both run the same
    code."""
    if chosen == "asyncio":
        return "asyncio", None
    try:
        import uvloop
    except ImportError:
        return "asyncio (uvloop is not installed)", None
    # uvloop sets __version__ from its _version module, which its stubs do not re-export.
    return f"uvloop {uvloop.__version__}", uvloop.new_event_loop  # type: ignore[attr-defined]


def read_env_file(path: Path) -> dict[str, str | None]:
    """The settings a `.env` file holds (none when there is no such file); one line and exit 2 when it
    is there but cannot be read (permissions, or text that is not UTF-8)."""
    try:
        return dict(dotenv_values(path)) if path.is_file() else {}
    except (OSError, UnicodeDecodeError) as exc:
        reason = (
            f"it is not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8"
            if isinstance(exc, UnicodeDecodeError)
            else f"{exc.strerror or type(exc).__name__}: the bot runs as user {current_user()}, who must be "
            "able to read it"
        )
        print(f"musicapi-upload-bot: configuration error: cannot read {path}: {reason}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)  # --help and --version answer here, before any setting is needed
    env_file = Path.cwd() / ".env"
    from_file = read_env_file(env_file)
    for name, value in from_file.items():  # the working directory's .env; real environment variables win
        if value is not None:
            os.environ.setdefault(name, value)
    if arguments.invite:
        print_invite()
        return
    try:
        settings = load_settings_apart(os.environ)  # pydantic-settings checks them, in a process of its own
    except KeyboardInterrupt:
        return
    except SettingsUnchecked as exc:
        print(
            f"musicapi-upload-bot: {'error' if exc.retryable else 'configuration error'}: {exc}",
            file=sys.stderr,
        )
        sys.exit(EXIT_UNREACHABLE if exc.retryable else EXIT_CONFIG)
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"musicapi-upload-bot: configuration error: {problem.line}", file=sys.stderr)
        # A misspelt name is often why a setting is missing: its "did you mean" goes with the errors.
        for line in unknown_names(from_file):
            print(f"musicapi-upload-bot: warning: {line}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    configure_logging(settings.log_level, settings.log_format)
    loop, new_loop = event_loop(settings.event_loop)
    log.info("%s", startup_line(settings, loop))
    for line in unknown_names(from_file):
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


if __name__ == "__main__":
    main()
