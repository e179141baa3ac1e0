"""`python -m bot`: read the command line and the settings, run the bot until SIGTERM/SIGINT, exit with a
clear status."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import dotenv_values

from bot.cli import EXIT_CONFIG, EXIT_UNREACHABLE, parse_arguments
from bot.config import SettingsError
from bot.config.apart import SettingsUnchecked, load_settings_apart
from bot.config.settings import unknown_names
from bot.storage.sqlite import current_user


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
        from bot.process import print_invite  # discord.py and the composition root: loaded only now

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
    try:  # only now discord.py, aiohttp and the composition root: the checking process has ended
        from bot.process import run_until_stopped
    except KeyboardInterrupt:
        return
    run_until_stopped(settings, list(from_file))


if __name__ == "__main__":
    main()
