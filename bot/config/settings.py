"""Settings: environment variables validated once at startup into one typed object.

Every problem is reported at once, one line each, naming the variable and what it expects. Secrets are
`SecretStr` (no repr or log shows them) and are never echoed back; neither is a URL's password.

This module is the settings' shape and rules, in plain Python: `Settings` is a frozen dataclass, and each
field's `Parse` says how its raw value becomes a typed one. pydantic-settings applies them
(`bot.config.validation`), in a short process of its own at startup (`bot.config.apart`), so that the
running bot never imports pydantic.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from bot.config.secret import SecretStr
from bot.domain.followups.records import Operation
from bot.storage.urls import check as check_database_url
from bot.storage.urls import is_postgres

#: Variables whose values are never shown, not even when they are malformed.
SECRETS = frozenset({"DISCORD_TOKEN", "MUSICAPI_API_KEY", "MUSICAPI_WEBHOOK_SECRET", "METRICS_TOKEN"})


def _parsed(raw: Any, kind: Callable[[str], Any], rule: str) -> Any:
    """`raw` as a number of `kind`; a value that is not one breaks `rule`, the sentence the operator reads."""
    if isinstance(raw, float) and kind is int and not raw.is_integer():
        raise ValueError(rule)
    try:
        return kind(raw.strip()) if isinstance(raw, str) else kind(raw)
    except (TypeError, ValueError):
        raise ValueError(rule) from None


def _positive_float(raw: Any) -> float:
    rule = "must be a positive number"
    value = float(_parsed(raw, float, rule))
    if not value > 0 or math.isinf(value):
        raise ValueError(rule)
    return value


def _int_at_least(minimum: int, rule: str) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        value = int(_parsed(raw, int, rule))
        if value < minimum:
            raise ValueError(rule)
        return value

    return parse


_non_negative_int = _int_at_least(0, "must be a whole number, 0 or more")
_positive_int = _int_at_least(1, "must be a whole number, 1 or more")


#: The longest RETENTION_DAYS (100 years): beyond it, keeping forever is what is meant (0).
MAX_RETENTION_DAYS = 36500


def _retention_days(raw: Any) -> int:
    rule = f"must be a whole number of days from 0 (keep forever) to {MAX_RETENTION_DAYS}"
    value = int(_parsed(raw, int, rule))
    if not 0 <= value <= MAX_RETENTION_DAYS:
        raise ValueError(rule)
    return value


def _snowflake(raw: Any) -> int:
    rule = "must be a Discord id (a positive number)"
    value = int(_parsed(raw, int, rule))
    if not 0 < value < 2**64:
        raise ValueError(rule)
    return value


def _port(raw: Any) -> int:
    rule = "must be a port number between 1 and 65535"
    value = int(_parsed(raw, int, rule))
    if not 0 < value < 65536:
        raise ValueError(rule)
    return value


def _text(raw: Any) -> str:
    value = str(raw).strip()
    if not value:
        raise ValueError("is empty")
    return value


def _has_space(text: str) -> bool:
    """Whether `text` holds a space, a line break or another control character anywhere."""
    return any(c.isspace() or not c.isprintable() for c in text)


def _has_break(text: str) -> bool:
    """Whether `text` holds a line break, a tab or another control character (plain spaces aside)."""
    return any(not c.isprintable() and c != " " for c in text)


def secret_problem(value: str) -> str | None:
    """What is wrong with a token or key (stripped, not empty), as the rest of its line: it must be one
    word. A line break inside one (a value pasted across two lines) would reach an HTTP header, which
    aiohttp refuses only when the first request is made."""
    return "must be one line without spaces (copy it again, in one piece)" if _has_space(value) else None


def _revealed(raw: Any) -> Any:
    return raw.get_secret_value() if isinstance(raw, SecretStr) else raw


def _secret(raw: Any) -> SecretStr:
    value = _text(_revealed(raw))
    if problem := secret_problem(value):
        raise ValueError(problem)
    return SecretStr(value)


def _passphrase(raw: Any) -> SecretStr:
    """A secret of the operator's own choosing (the webhook secret, METRICS_TOKEN): spaces may be part
    of it, a line break may not."""
    value = _text(_revealed(raw))
    if _has_break(value):
        raise ValueError("must be one line (copy it again, in one piece)")
    return SecretStr(value)


def _http_url(raw: Any) -> str:
    value = str(raw).strip().rstrip("/")
    if _has_space(value):
        raise ValueError("must be an http(s) URL without spaces")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    try:
        port = parts.port
    except ValueError:  # out of range, or not a number
        port = 0
    if port == 0:
        raise ValueError("must have a port between 1 and 65535, if it names one")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError("must not have a query (?) or fragment (#): the bot adds paths to it")
    return value


def _private_host(host: str) -> bool:
    """`host` (a URL's, lowercased) names this machine or a private network: `localhost`, a `.local`
    or `.internal` name, or an IP literal that is not global (loopback, private, link-local, shared
    address space, unspecified...)."""
    host = host.rstrip(".")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def _log_level(raw: Any) -> str:
    value = str(raw).strip().upper()
    if not isinstance(logging.getLevelName(value), int):
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return value


def _log_format(raw: Any) -> str:
    value = str(raw).strip().lower()
    if value not in ("text", "json"):
        raise ValueError("must be text or json")
    return value


def _event_loop(raw: Any) -> str:
    value = str(raw).strip().lower()
    if value not in ("uvloop", "asyncio"):
        raise ValueError("must be uvloop or asyncio")
    return value


def _switch(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0"):
        return False
    raise ValueError("must be on or off")


def _database_url(raw: Any) -> str:
    value = str(raw).strip()
    check_database_url(value)
    return value


def _shard_ids(raw: Any) -> tuple[int, ...]:
    """`0,1` or `0-3` (or both, `0-1,4`): the shards this process runs."""
    rule = "must be shard numbers like 0,1 or a range like 0-3"
    if isinstance(raw, tuple | list):  # checked shard numbers, given back (tests build settings so)
        raw = ",".join(map(str, raw))
    ids: list[int] = []
    for part in str(raw).replace(" ", "").split(","):
        low, _, high = part.partition("-")
        first = int(_parsed(low, int, rule))
        last = int(_parsed(high, int, rule)) if high else first
        if first < 0 or last < first or last - first > 10_000:
            raise ValueError(rule)
        ids.extend(range(first, last + 1))
    if len(set(ids)) != len(ids):
        raise ValueError("must not name a shard twice")
    return tuple(sorted(ids))


#: FOLLOW_UPS: the operations members may start from a clip_id (the follow-up catalog's names).
FOLLOW_UP_ACTIONS = tuple(operation.value for operation in Operation)
#: FOLLOW_UP_MODEL: MusicAPI's current models, and the retired ids it still maps to them.
CURRENT_MODELS = ("sonic-v6", "sonic-v6-wild", "sonic-v6-mini")
RETIRED_MODELS = ("sonic-v3-5", "sonic-v4", "sonic-v4-5", "sonic-v4-5-plus", "sonic-v5")


def _follow_ups(raw: Any) -> frozenset[str]:
    rule = f"must be on, off, or a comma-separated list of {', '.join(FOLLOW_UP_ACTIONS)}"
    if isinstance(raw, frozenset | set):
        raw = ",".join(sorted(raw)) or "off"
    value = str(raw).strip().lower()
    if value in ("on", "true", "yes", "1", "all"):
        return frozenset(FOLLOW_UP_ACTIONS)
    if value in ("off", "false", "no", "0", "none"):
        return frozenset()
    actions = {part.strip() for part in value.split(",") if part.strip()}
    if not actions or not actions <= set(FOLLOW_UP_ACTIONS):
        raise ValueError(rule)
    return frozenset(actions)


def _non_negative_float(raw: Any) -> float:
    rule = "must be a number of seconds, 0 or more"
    value = float(_parsed(raw, float, rule))
    if not value >= 0 or math.isinf(value):
        raise ValueError(rule)
    return value


def _model(raw: Any) -> str:
    value = str(raw).strip().lower()
    if not re.fullmatch(r"sonic-v\d+(-[0-9a-z]+){0,3}", value):
        raise ValueError(f"must be a MusicAPI model version: {', '.join(CURRENT_MODELS)}")
    return value


def _guild_ids(raw: Any) -> frozenset[int]:
    """`123,456`: the servers the bot works in (empty: any)."""
    if isinstance(raw, frozenset | set):
        return frozenset(raw)
    rule = "must be Discord server ids separated by commas (or empty: any server)"
    ids = [part.strip() for part in str(raw).split(",") if part.strip()]
    try:
        return frozenset(_snowflake(part) for part in ids)
    except ValueError:
        raise ValueError(rule) from None


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda raw: None if raw is None else parse(raw)


@dataclass(frozen=True, slots=True)
class Parse:
    """How a setting's raw value (text from the environment, or a value given in code) becomes its typed
    value, in a field's `Annotated` metadata; `parse` raises ValueError with the rule the operator reads
    ("must be ...")."""

    parse: Callable[[Any], Any]


PositiveFloat = Annotated[float, Parse(_positive_float)]
NonNegativeInt = Annotated[int, Parse(_non_negative_int)]
PositiveInt = Annotated[int, Parse(_positive_int)]
HttpUrl = Annotated[str, Parse(_http_url)]
Text = Annotated[str, Parse(_text)]
Secret = Annotated[SecretStr, Parse(_secret)]
OptionalPassphrase = Annotated[SecretStr | None, Parse(_optional(_passphrase))]


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Every setting of the bot, checked. Field `x_y` is read from the variable `X_Y`. Build it with
    `bot.config.validation.load_settings` or `validated`, which apply each field's `Parse`: built
    directly, nothing is checked."""

    discord_token: Secret
    musicapi_api_key: Secret
    musicapi_base_url: HttpUrl = "https://api.musicapi.ai"
    dev_guild_id: Annotated[int | None, Parse(_optional(_snowflake))] = None
    max_file_mb: PositiveFloat = 100.0
    musicapi_timeout: PositiveFloat = 60.0
    upload_timeout: PositiveFloat = 180.0
    musicapi_retries: NonNegativeInt = 2
    musicapi_retry_backoff: PositiveFloat = 1.0
    max_uploads_per_user: PositiveInt = 3
    log_level: Annotated[str, Parse(_log_level)] = "INFO"
    log_format: Annotated[Literal["text", "json"], Parse(_log_format)] = "text"
    #: uvloop where it is installed (asyncio's own loop where not), or asyncio's own loop.
    event_loop: Annotated[Literal["uvloop", "asyncio"], Parse(_event_loop)] = "uvloop"
    #: Not in the settings' repr: a PostgreSQL URL may hold a password (`describe` shows it without).
    database_url: Annotated[str, Parse(_database_url)] = field(
        default="sqlite:///data/musicbot.db", repr=False
    )
    public_url: Annotated[str | None, Parse(_optional(_http_url))] = None
    web_host: Text = "0.0.0.0"  # noqa: S104 - health checks and callbacks come from outside
    web_port: Annotated[int, Parse(_port)] = 8080
    musicapi_webhook_secret: OptionalPassphrase = None
    musicapi_poll_after: PositiveFloat = 60.0
    musicapi_poll_interval: PositiveFloat = 20.0
    musicapi_poll_deadline: PositiveFloat = 1800.0
    max_message_attachments: PositiveInt = 5
    musicapi_concurrency: PositiveInt = 20
    #: A bound on memory: the line admits by the expected wait (see `domain.queue`).
    max_queue: NonNegativeInt = 5000
    metrics: Annotated[bool, Parse(_switch)] = True
    shard_count: Annotated[int | None, Parse(_optional(_positive_int))] = None
    shard_ids: Annotated[tuple[int, ...] | None, Parse(_optional(_shard_ids))] = None
    instance_timeout: PositiveFloat = 30.0
    #: Finished uploads are removed this many days after they finished; 0 keeps them forever.
    retention_days: Annotated[int, Parse(_retention_days)] = 30
    follow_ups: Annotated[frozenset[str], Parse(_follow_ups)] = frozenset(FOLLOW_UP_ACTIONS)
    guild_daily_credits: NonNegativeInt = 150
    follow_up_cooldown: Annotated[float, Parse(_non_negative_float)] = 60.0
    follow_up_model: Annotated[str, Parse(_model)] = CURRENT_MODELS[0]
    low_credits_alert: NonNegativeInt = 100
    # Results as files: songs attached so that Discord plays them (off: links only).
    attachments: Annotated[bool, Parse(_switch)] = True
    attachment_timeout: PositiveFloat = 20.0
    attachment_downloads: PositiveInt = 4
    # Operator safety: what the whole bot may spend, and where it works.
    #: Credits the whole bot may reserve per UTC day, uploads and follow-ups, every server and DM; 0: no limit.
    total_daily_credits: NonNegativeInt = 500
    #: What MusicAPI charges for one upload (musicapi.md's prices: 2).
    upload_credits: NonNegativeInt = 2
    allowed_guilds: Annotated[frozenset[int], Parse(_guild_ids)] = frozenset()
    allow_user_installs: Annotated[bool, Parse(_switch)] = True
    #: /metrics on a listener of its own (METRICS_PORT set), and/or only with a bearer token.
    metrics_host: Text = "127.0.0.1"
    metrics_port: Annotated[int | None, Parse(_optional(_port))] = None
    metrics_token: OptionalPassphrase = None
    # -- the follow-up catalog: what each operation costs, in credits (`<OPERATION>_CREDITS`) ------------
    extend_credits: NonNegativeInt = 15
    cover_credits: NonNegativeInt = 15
    add_vocals_credits: NonNegativeInt = 15
    add_instrumental_credits: NonNegativeInt = 15
    remaster_credits: NonNegativeInt = 15
    mashup_credits: NonNegativeInt = 14
    stems_credits: NonNegativeInt = 30
    wav_credits: NonNegativeInt = 2
    midi_credits: NonNegativeInt = 1
    bpm_credits: NonNegativeInt = 1
    #: Characters of lyrics the follow-up forms take (MusicAPI: 5,000 on v4.5 and later).
    follow_up_lyrics_limit: PositiveInt = 5000

    def retired_model(self) -> str | None:
        """One warning line when FOLLOW_UP_MODEL is not one of MusicAPI's current models: a retired id
        still answers (MusicAPI maps it to its current model), so it is a warning, not an error."""
        if self.follow_up_model in CURRENT_MODELS:
            return None
        what = (
            "a model MusicAPI retired"
            if self.follow_up_model in RETIRED_MODELS
            else "not a model MusicAPI lists"
        )
        return (
            f"FOLLOW_UP_MODEL={self.follow_up_model} is {what} (MusicAPI maps old ids to its current model); "
            f"its current models are {', '.join(CURRENT_MODELS)}"
        )

    def contradictions(self) -> Iterable[str]:
        """Settings that are each valid but contradict one another: a line each, starting with the
        variable to change."""
        if self.upload_timeout < self.musicapi_timeout:
            yield (
                f"UPLOAD_TIMEOUT ({self.upload_timeout:g}) must not be below MUSICAPI_TIMEOUT "
                f"({self.musicapi_timeout:g}): the whole upload cannot be shorter than one request to MusicAPI"
            )
        if self.musicapi_poll_deadline < self.musicapi_poll_after:
            yield (
                f"MUSICAPI_POLL_DEADLINE ({self.musicapi_poll_deadline:g}) must not be below "
                f"MUSICAPI_POLL_AFTER ({self.musicapi_poll_after:g}): polling would end before it starts"
            )
        if self.metrics_port is not None and self.metrics_port == self.web_port:
            yield (
                f"METRICS_PORT ({self.metrics_port}) must differ from WEB_PORT: /metrics gets a listener "
                "of its own"
            )
        if self.shard_ids is not None and not is_postgres(self.database_url):
            yield (
                "SHARD_IDS runs a part of the bot's shards, beside other instances: they share their uploads "
                "through PostgreSQL, so DATABASE_URL must be a postgresql:// URL"
            )
        if self.shard_ids is not None and self.shard_count is None:
            yield "SHARD_IDS needs SHARD_COUNT: how many shards the whole bot runs"
        if (
            self.shard_ids is not None
            and self.shard_count is not None
            and self.shard_ids[-1] >= self.shard_count
        ):
            yield (
                f"SHARD_IDS names shard {self.shard_ids[-1]}, but SHARD_COUNT is {self.shard_count}: "
                f"shards are numbered 0 to {self.shard_count - 1}"
            )

    def unreachable_public_url(self) -> str | None:
        """One warning line when PUBLIC_URL names this machine or a private network, which MusicAPI
        cannot reach: no callback would come, and every upload would wait for polling. Judged from the
        URL alone (no name is resolved)."""
        host = urlsplit(self.public_url).hostname if self.public_url else None
        if host is None or not _private_host(host):
            return None
        return (
            f"PUBLIC_URL names {host}, which MusicAPI cannot reach from the internet: its callbacks will not "
            f"come, and each upload waits MUSICAPI_POLL_AFTER ({self.musicapi_poll_after:g}s) to be polled "
            "instead; set the address this bot is reached at from outside"
        )

    @property
    def instance_name(self) -> str:
        """How this process is known to the others sharing the store: by the shards it runs."""
        if self.shard_ids is None:
            return "all shards"
        return f"shards {','.join(map(str, self.shard_ids))} of {self.shard_count}"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def callback_mode(self) -> bool:
        return self.public_url is not None


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad or missing variable, and the line that tells the operator about it."""

    name: str
    line: str


class SettingsError(Exception):
    """Settings are missing or malformed; one line per problem, each naming its variable."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(p.line for p in problems))
        self.problems = problems

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.problems]


def shown(name: str, raw: str) -> str:
    """A value as it may be echoed back: secrets never, a URL without its password."""
    if name in SECRETS:
        return "(hidden)"
    scheme, separator, rest = raw.partition("://")
    credentials, at, host = rest.rpartition("@")
    if separator and at and ":" in credentials:  # the password may hold / ? or #, which end a URL's netloc
        return repr(f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}")
    try:
        parts = urlsplit(raw)
        if parts.password is not None:
            netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
            if parts.port is not None:
                netloc += f":{parts.port}"
            return repr(urlunsplit(parts._replace(netloc=netloc)))
    except ValueError:
        if "@" in raw:
            return "(hidden: it looks like it carries a password)"
    return repr(raw)


def setting_names() -> list[str]:
    """Every setting's variable, in the order of `Settings`."""
    return [field.name.upper() for field in fields(Settings)]


#: Names a `.env` may hold that are not the bot's settings: Compose's own (compose.yaml reads them).
NOT_SETTINGS = frozenset({"POSTGRES_PASSWORD", "BOT_PUBLISH_ADDRESS"})


def unknown_names(names: Iterable[str]) -> list[str]:
    """One line for each name (from a `.env`) that is no setting: a misspelt setting is otherwise
    silently ignored. The line names the setting it most likely meant; it never shows the value.
    Names are exact: the bot reads `MAX_QUEUE`, so a `.env`'s `max_queue` is one of these lines."""
    known = sorted(setting_names())
    lines = []
    for name in names:
        if name in known or name in NOT_SETTINGS:
            continue
        import difflib  # here, not at the top: only a misspelt name needs it, not the running bot

        close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else " (see .env.example for the settings)"
        lines.append(f".env sets {name}, which is no setting of the bot{hint}")
    return lines
