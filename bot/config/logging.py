"""Where the log goes and how it looks: one line per record on stderr, as text or as JSON (LOG_FORMAT),
without discord.py's warnings about features the bot deliberately does without."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

#: discord.py's warnings about what this bot goes without on purpose: voice (PyNaCl, davey) and the
#: guilds intent (the bot asks Discord for no intents). Each is dropped by its logger and exact text.
UNUSED_FEATURE_WARNINGS = (
    ("discord.client", "PyNaCl is not installed, voice will NOT be supported"),
    ("discord.client", "davey is not installed, voice will NOT be supported"),
    ("discord.state", "Guilds intent seems to be disabled. This may cause state related issues."),
)

TEXT_FORMAT = "[{asctime}] [{levelname:<8}] {name}: {message}"
TEXT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
#: The logging module's switches for what each record looks up that neither format shows.
LOGGING_SWITCHES = ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing", "logAsyncioTasks")


#: discord.py's loggers that write request URLs (at DEBUG): an interaction's or a webhook's URL carries
#: its token, which answers the member for 15 minutes.
URL_LOGGERS = ("discord.http", "discord.webhook.async_")
_TOKEN_IN_URL = re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/\s?]+")


class RedactTokens(logging.Filter):
    """Writes a record's message with the token of every interaction or webhook URL in it replaced by
    `<token>`; the rest of the line is as it was."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_IN_URL.sub(r"\1<token>", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class DropWarnings(logging.Filter):
    """Drops WARNING records whose message is exactly one of `messages`; lets everything else through."""

    def __init__(self, messages: frozenset[str]) -> None:
        super().__init__()
        self.messages = messages

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.WARNING and record.getMessage() in self.messages)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and the exception's
    traceback when there is one. Nothing else of the record is included."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for LOG_FORMAT `log_format` (`text` or `json`)."""
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT, TEXT_DATE_FORMAT, style="{")


def configure_logging(level: str, log_format: str, stream: TextIO | None = None) -> None:
    """Send every logger's records at `level` and above to `stream` (stderr), formatted as `log_format`
    says, drop the warnings in UNUSED_FEATURE_WARNINGS, and keep tokens out of discord.py's URLs."""
    # Neither format shows where a record was made, nor its thread, process or task: the logging
    # module's own switches spare each record looking them up (the walk up the stack above all; with it
    # goes `stack_info`, which the bot does not use).
    for name in LOGGING_SWITCHES:
        if hasattr(logging, name):  # logAsyncioTasks: Python 3.12 and later
            setattr(logging, name, None if name == "_srcfile" else False)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(handler)
    by_logger: dict[str, set[str]] = {}
    for name, message in UNUSED_FEATURE_WARNINGS:
        by_logger.setdefault(name, set()).add(message)
    for name, messages in by_logger.items():
        logging.getLogger(name).addFilter(DropWarnings(frozenset(messages)))
    for name in URL_LOGGERS:  # a logger's filters see only its own records: these are where URLs are logged
        logging.getLogger(name).addFilter(RedactTokens())
