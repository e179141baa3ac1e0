"""bot.config.logging: the JSON lines, and which of discord.py's warnings are dropped (only the named ones)."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from bot.config.logging import (
    LOGGING_SWITCHES,
    UNUSED_FEATURE_WARNINGS,
    URL_LOGGERS,
    DropWarnings,
    JsonFormatter,
    configure_logging,
    formatter,
)


def record(name: str, level: int, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, args, None)


def test_json_line_carries_time_level_logger_and_message() -> None:
    line = JsonFormatter().format(record("bot.web.server", logging.WARNING, "listening on %s:%d", "h", 8080))
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message"}
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "WARNING",
        "bot.web.server",
        "listening on h:8080",
    )
    assert "\n" not in line


def test_json_line_carries_the_exception_text() -> None:
    try:
        raise RuntimeError("the store went away")
    except RuntimeError:
        failing = logging.LogRecord(
            "bot", logging.ERROR, __file__, 1, "upload %s failed", (7,), sys.exc_info()
        )
    line = JsonFormatter().format(failing)
    entry = json.loads(line)
    assert entry["message"] == "upload 7 failed"
    assert entry["exception"].startswith("Traceback")
    assert "RuntimeError: the store went away" in entry["exception"]
    assert len(line.splitlines()) == 1


def test_text_is_the_default_format() -> None:
    line = formatter("text").format(record("bot", logging.INFO, "hello"))
    assert line.endswith("[INFO    ] bot: hello")


@pytest.mark.parametrize(("name", "message"), UNUSED_FEATURE_WARNINGS)
def test_only_the_named_warnings_are_dropped(name: str, message: str) -> None:
    drop = DropWarnings(frozenset({message}))
    assert not drop.filter(record(name, logging.WARNING, message))
    assert drop.filter(record(name, logging.WARNING, message + " (and something else)"))
    assert drop.filter(record(name, logging.ERROR, message))
    assert drop.filter(
        record(name, logging.WARNING, "Shard ID None heartbeat blocked for more than 10 seconds.")
    )


def test_configured_logging_drops_only_those_warnings_and_writes_no_token() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    loggers = {name: logging.getLogger(name) for name, _ in UNUSED_FEATURE_WARNINGS}
    loggers |= {name: logging.getLogger(name) for name in URL_LOGGERS}
    filters = {name: list(logger.filters) for name, logger in loggers.items()}
    switches = {name: getattr(logging, name) for name in LOGGING_SWITCHES if hasattr(logging, name)}
    try:
        configure_logging("DEBUG", "json", stream)
        assert [getattr(logging, name) for name in switches] == [None] + [False] * (len(switches) - 1)
        for name, message in UNUSED_FEATURE_WARNINGS:
            logging.getLogger(name).warning(message)
        logging.getLogger("discord.client").warning("Shard ID None heartbeat blocked")
        logging.getLogger("discord.gateway").warning("PyNaCl is not installed, voice will NOT be supported")
        logging.getLogger("discord.webhook.async_").debug(  # as discord.py writes it, at DEBUG
            "Webhook ID %s with %s %s has returned status code %s", 1234, "PATCH",
            "https://discord.com/api/v10/webhooks/1234/aW50ZXJhY3Rpb246c2VjcmV0/messages/@original", 200,
        )  # fmt: skip
        logging.getLogger("discord.http").debug(
            "%s %s with %s has returned %s", "POST",
            "https://discord.com/api/v10/interactions/99/c2VjcmV0LXRva2Vu/callback?with_response=1", None, 204,
        )  # fmt: skip
    finally:
        for handler in root.handlers[len(handlers) :]:
            root.removeHandler(handler)
        root.setLevel(level)
        for name, logger in loggers.items():
            logger.filters[:] = filters[name]
        for name, value in switches.items():
            setattr(logging, name, value)  # the test run's own log lines keep their file and line
    messages = [(e["logger"], e["message"]) for e in map(json.loads, stream.getvalue().splitlines())]
    assert messages == [
        ("discord.client", "Shard ID None heartbeat blocked"),
        ("discord.gateway", "PyNaCl is not installed, voice will NOT be supported"),
        (
            "discord.webhook.async_",
            "Webhook ID 1234 with PATCH https://discord.com/api/v10/webhooks/1234/<token>/messages/@original"
            " has returned status code 200",
        ),
        (
            "discord.http",
            "POST https://discord.com/api/v10/interactions/99/<token>/callback?with_response=1 with None"
            " has returned 204",
        ),
    ]
