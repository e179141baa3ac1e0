"""The command line (`--help`, `--version`), its exit statuses, and the line the bot starts its log with."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from dataclasses import MISSING, fields

from bot import __version__
from bot.config import Settings
from bot.config.settings import setting_names
from bot.storage.urls import describe

DISTRIBUTION = "musicapi-upload-bot"

#: Exit statuses (README, "Exit codes"): 2 and 3 are not mended by starting again; 1 may be.
EXIT_UNREACHABLE = 1  # Discord answered at first, then the connection failed or logging in hung; or the
# settings' checking process could not run (killed, timed out, not started)
EXIT_CONFIG = 2  # a setting is missing or wrong (the store or the web port included)
EXIT_DISCORD = 3  # Discord refused the token (or the intents)


def version() -> str:
    """The bot's version (the package's, which pyproject.toml takes from `bot.__version__`)."""
    return __version__


def _settings_help() -> str:
    names = setting_names()
    required = [f.name.upper() for f in fields(Settings) if f.default is MISSING]
    optional = [name for name in names if name not in required]
    return "\n\n".join(
        [
            "Settings come from environment variables, or from a .env file in the working directory "
            "(real environment variables win); see README.md, section Settings, and .env.example.",
            f"Required: {', '.join(required)}.",
            f"Optional: {', '.join(optional)}.",
        ]
    )


def parser() -> argparse.ArgumentParser:
    """The bot's command line: options only, every setting comes from the environment."""
    epilog = "\n\n".join(textwrap.fill(paragraph, 100) for paragraph in _settings_help().split("\n\n"))
    cli = argparse.ArgumentParser(
        prog=DISTRIBUTION,
        description="Run the MusicAPI upload bot (the same as `python -m bot`) until SIGTERM or Ctrl+C.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli.add_argument(
        "--version", action="version", version=f"%(prog)s {version()}", help="show the version and exit"
    )
    cli.add_argument(
        "--invite",
        action="store_true",
        help="print the link that adds the bot to a server with exactly the permissions it uses, and exit "
        "(needs DISCORD_TOKEN only)",
    )
    return cli


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line; `--help` and `--version` print and exit here, bad options exit with 2."""
    return parser().parse_args(argv)


def startup_line(settings: Settings, loop: str) -> str:
    """What this run is: version, mode, where uploads are kept (never a password), the shards, and the
    event loop (`loop`)."""
    mode = "callback" if settings.callback_mode else "sync"
    if settings.shard_ids is None:
        shards = "shards: all (in this process)"
    else:
        shards = f"{settings.instance_name} (this process)"
    return (
        f"{DISTRIBUTION} {version()} starting: mode {mode}, store {describe(settings.database_url)}, {shards}, "
        f"event loop {loop}"
    )
