"""Settings: environment variables validated once at startup into one typed object."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name} {problem}")
        self.name = name


@dataclass(frozen=True, slots=True)
class Settings:
    discord_token: str
    musicapi_api_key: str
    musicapi_base_url: str = "https://api.musicapi.ai"
    dev_guild_id: int | None = None
    max_file_mb: float = 100.0
    musicapi_timeout: float = 60.0
    upload_timeout: float = 180.0
    musicapi_retries: int = 2
    musicapi_retry_backoff: float = 1.0
    max_uploads_per_user: int = 3
    log_level: str = "INFO"
    database_url: str = "sqlite:///data/musicbot.db"
    public_url: str | None = None
    web_host: str = "0.0.0.0"  # noqa: S104 - the callback server must be reachable from outside
    web_port: int = 8080
    musicapi_webhook_secret: str | None = None
    musicapi_poll_after: float = 60.0
    musicapi_poll_interval: float = 20.0
    musicapi_poll_deadline: float = 1800.0
    max_message_attachments: int = 5

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def callback_mode(self) -> bool:
        return self.public_url is not None

    @property
    def database_path(self) -> Path:
        return sqlite_path(self.database_url)


def sqlite_path(url: str) -> Path:
    """`sqlite:///rel/path.db` is relative to the working directory, `sqlite:////abs.db` absolute."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ValueError("must look like sqlite:///data/musicbot.db")
    return Path(url[len(prefix) :])


def _text(raw: str) -> str:
    if not raw.strip():
        raise ValueError("is empty")
    return raw.strip()


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a positive number")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def _snowflake(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 2**64:
        raise ValueError("must be a Discord id (a positive number)")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError("must be a port number between 1 and 65535")
    return value


def _http_url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    if parts.port == 0:  # .port itself raises ValueError for a port out of range or not a number
        raise ValueError("must have a valid port")
    return value


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if not isinstance(logging.getLevelName(value), int):
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return value


def _database_url(raw: str) -> str:
    sqlite_path(raw.strip())
    return raw.strip()


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build settings from `env`; raise SettingsError naming the first bad variable."""

    def get(name: str, parse: Callable[[str], T], default: T) -> T:
        raw = env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return parse(raw)
        except ValueError as exc:
            reason = str(exc) if str(exc).startswith(("must", "is ")) else "is not valid"
            raise SettingsError(name, f"{reason} (got {raw!r})") from None

    def required(name: str) -> str:
        raw = env.get(name, "").strip()
        if not raw:
            raise SettingsError(name, "is not set: add it to .env or the environment (see .env.example)")
        return raw

    d = Settings(discord_token="", musicapi_api_key="")
    return Settings(
        discord_token=required("DISCORD_TOKEN"),
        musicapi_api_key=required("MUSICAPI_API_KEY"),
        musicapi_base_url=get("MUSICAPI_BASE_URL", _http_url, d.musicapi_base_url),
        dev_guild_id=get("DEV_GUILD_ID", _snowflake, None),
        max_file_mb=get("MAX_FILE_MB", _positive_float, d.max_file_mb),
        musicapi_timeout=get("MUSICAPI_TIMEOUT", _positive_float, d.musicapi_timeout),
        upload_timeout=get("UPLOAD_TIMEOUT", _positive_float, d.upload_timeout),
        musicapi_retries=get("MUSICAPI_RETRIES", _non_negative_int, d.musicapi_retries),
        musicapi_retry_backoff=get("MUSICAPI_RETRY_BACKOFF", _positive_float, d.musicapi_retry_backoff),
        max_uploads_per_user=get("MAX_UPLOADS_PER_USER", _positive_int, d.max_uploads_per_user),
        log_level=get("LOG_LEVEL", _log_level, d.log_level),
        database_url=get("DATABASE_URL", _database_url, d.database_url),
        public_url=get("PUBLIC_URL", _http_url, None),
        web_host=get("WEB_HOST", _text, d.web_host),
        web_port=get("WEB_PORT", _port, d.web_port),
        musicapi_webhook_secret=get("MUSICAPI_WEBHOOK_SECRET", _text, None),
        musicapi_poll_after=get("MUSICAPI_POLL_AFTER", _positive_float, d.musicapi_poll_after),
        musicapi_poll_interval=get("MUSICAPI_POLL_INTERVAL", _positive_float, d.musicapi_poll_interval),
        musicapi_poll_deadline=get("MUSICAPI_POLL_DEADLINE", _positive_float, d.musicapi_poll_deadline),
        max_message_attachments=get("MAX_MESSAGE_ATTACHMENTS", _positive_int, d.max_message_attachments),
    )
