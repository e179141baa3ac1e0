"""bot.config.settings: environment variables -> Settings, every problem reported at once, naming its variable."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config.settings import FOLLOW_UP_ACTIONS, Settings, SettingsError
from bot.config.validation import load_settings
from bot.storage.urls import describe

BASE = {"DISCORD_TOKEN": "discord-token", "MUSICAPI_API_KEY": "musicapi-key"}


def load(**env: str) -> Settings:
    return load_settings({**BASE, **env})


def error_for(**env: str) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        load_settings({**BASE, **env})
    return info.value


# ---------------------------------------------------------------------------------------------
# required variables
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["DISCORD_TOKEN", "MUSICAPI_API_KEY"])
@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
def test_required_missing_or_blank(name: str, value: str | None) -> None:
    env = dict(BASE)
    if value is None:
        del env[name]
    else:
        env[name] = value
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert info.value.names == [name]
    assert name in str(info.value)
    assert "not set" in str(info.value)


def test_both_missing_are_both_reported_discord_token_first() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({})
    assert info.value.names == ["DISCORD_TOKEN", "MUSICAPI_API_KEY"]
    assert len(str(info.value).splitlines()) == 2


def test_required_values_are_stripped() -> None:
    s = load_settings({"DISCORD_TOKEN": "  tok \n", "MUSICAPI_API_KEY": "\tkey "})
    assert s.discord_token.get_secret_value() == "tok"
    assert s.musicapi_api_key.get_secret_value() == "key"


def test_secret_is_not_echoed_when_required_var_missing() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({"DISCORD_TOKEN": "super-secret-token"})
    assert info.value.names == ["MUSICAPI_API_KEY"]
    assert "super-secret-token" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# defaults
# ---------------------------------------------------------------------------------------------


def test_defaults() -> None:
    s = load()
    assert s.discord_token.get_secret_value() == "discord-token"
    assert s.musicapi_api_key.get_secret_value() == "musicapi-key"
    assert s.musicapi_base_url == "https://api.musicapi.ai"
    assert s.dev_guild_id is None
    assert s.max_file_mb == 100.0
    assert s.max_file_bytes == 100 * 1024 * 1024
    assert s.musicapi_timeout == 60.0
    assert s.upload_timeout == 180.0
    assert s.musicapi_retries == 2
    assert s.musicapi_retry_backoff == 1.0
    assert s.max_uploads_per_user == 3
    assert s.log_level == "INFO"
    assert s.event_loop == "uvloop"
    assert s.log_format == "text"
    assert s.database_url == "sqlite:///data/musicbot.db"
    assert s.public_url is None
    assert s.callback_mode is False
    assert s.web_host == "0.0.0.0"  # noqa: S104
    assert s.web_port == 8080
    assert s.musicapi_webhook_secret is None
    assert s.musicapi_poll_after == 60.0
    assert s.musicapi_poll_interval == 20.0
    assert s.musicapi_poll_deadline == 1800.0
    assert s.max_message_attachments == 5
    assert s.musicapi_concurrency == 20
    assert s.max_queue == 5000
    assert s.metrics is True


def test_blank_optional_values_mean_default() -> None:
    s = load(MAX_FILE_MB="", WEB_PORT="  ", DEV_GUILD_ID="", PUBLIC_URL=" ", LOG_LEVEL="", LOG_FORMAT=" ")
    assert s.max_file_mb == 100.0
    assert s.web_port == 8080
    assert s.dev_guild_id is None
    assert s.public_url is None
    assert s.log_level == "INFO"
    assert s.log_format == "text"


def test_unrelated_variables_are_ignored() -> None:
    assert load(PATH="/usr/bin", HOME="/root") == load()


# ---------------------------------------------------------------------------------------------
# valid overrides
# ---------------------------------------------------------------------------------------------


def test_overrides_are_parsed() -> None:
    s = load(
        MUSICAPI_BASE_URL="http://127.0.0.1:9000/",
        DEV_GUILD_ID="123456789012345678",
        MAX_FILE_MB="25.5",
        MUSICAPI_TIMEOUT="5",
        UPLOAD_TIMEOUT="30",
        MUSICAPI_RETRIES="0",
        MUSICAPI_RETRY_BACKOFF="0.5",
        MAX_UPLOADS_PER_USER="1",
        LOG_LEVEL="debug",
        LOG_FORMAT=" JSON ",
        EVENT_LOOP=" Asyncio ",
        DATABASE_URL="sqlite:///var/bot.db",
        PUBLIC_URL="https://bot.example.com/",
        WEB_HOST=" 127.0.0.1 ",
        WEB_PORT="9090",
        MUSICAPI_WEBHOOK_SECRET=" whsec ",
        MUSICAPI_POLL_AFTER="1",
        MUSICAPI_POLL_INTERVAL="2",
        MUSICAPI_POLL_DEADLINE="3",
        MAX_MESSAGE_ATTACHMENTS="10",
    )
    assert s.musicapi_base_url == "http://127.0.0.1:9000"
    assert s.dev_guild_id == 123456789012345678
    assert s.max_file_mb == 25.5
    assert s.max_file_bytes == int(25.5 * 1024 * 1024)
    assert s.musicapi_timeout == 5.0
    assert s.upload_timeout == 30.0
    assert s.musicapi_retries == 0
    assert s.musicapi_retry_backoff == 0.5
    assert s.max_uploads_per_user == 1
    assert s.log_level == "DEBUG"
    assert s.log_format == "json"
    assert s.event_loop == "asyncio"
    assert s.database_url == "sqlite:///var/bot.db"
    assert s.public_url == "https://bot.example.com"
    assert s.callback_mode is True
    assert s.web_host == "127.0.0.1"
    assert s.web_port == 9090
    assert s.musicapi_webhook_secret is not None
    assert s.musicapi_webhook_secret.get_secret_value() == "whsec"
    assert (s.musicapi_poll_after, s.musicapi_poll_interval, s.musicapi_poll_deadline) == (1.0, 2.0, 3.0)
    assert s.max_message_attachments == 10


# ---------------------------------------------------------------------------------------------
# malformed values name their variable
# ---------------------------------------------------------------------------------------------

MALFORMED = [
    ("MAX_FILE_MB", "abc"), ("MAX_FILE_MB", "0"), ("MAX_FILE_MB", "-1"), ("MAX_FILE_MB", "nan"),
    ("MAX_FILE_MB", "inf"), ("MAX_FILE_MB", "10MB"),
    ("MUSICAPI_TIMEOUT", "fast"), ("MUSICAPI_TIMEOUT", "0"), ("MUSICAPI_TIMEOUT", "1e999"),
    ("UPLOAD_TIMEOUT", "-5"),
    ("MUSICAPI_RETRIES", "-1"), ("MUSICAPI_RETRIES", "1.5"), ("MUSICAPI_RETRIES", "two"),
    ("MUSICAPI_RETRY_BACKOFF", "0"), ("MUSICAPI_RETRY_BACKOFF", "x"),
    ("MAX_UPLOADS_PER_USER", "0"), ("MAX_UPLOADS_PER_USER", "many"),
    ("MAX_MESSAGE_ATTACHMENTS", "0"), ("MAX_MESSAGE_ATTACHMENTS", "x"),
    ("MUSICAPI_CONCURRENCY", "0"), ("MUSICAPI_CONCURRENCY", "lots"), ("MAX_QUEUE", "-1"), ("MAX_QUEUE", "1.5"),
    ("METRICS", "maybe"),
    ("MUSICAPI_POLL_AFTER", "-1"), ("MUSICAPI_POLL_INTERVAL", "0"), ("MUSICAPI_POLL_DEADLINE", "soon"),
    ("LOG_LEVEL", "LOUD"),
    ("LOG_FORMAT", "xml"), ("LOG_FORMAT", "logfmt"), ("EVENT_LOOP", "tokio"), ("EVENT_LOOP", "uv"),
    ("MUSICAPI_BASE_URL", "api.musicapi.ai"), ("MUSICAPI_BASE_URL", "ftp://api.musicapi.ai"),
    ("MUSICAPI_BASE_URL", "https://"), ("MUSICAPI_BASE_URL", "http://[::1"),
    ("PUBLIC_URL", "bot.example.com"), ("PUBLIC_URL", "ws://bot.example.com"),
    ("WEB_PORT", "0"), ("WEB_PORT", "65536"), ("WEB_PORT", "-80"), ("WEB_PORT", "http"), ("WEB_PORT", "80.5"),
    ("DEV_GUILD_ID", "abc"), ("DEV_GUILD_ID", "0"), ("DEV_GUILD_ID", "-5"), ("DEV_GUILD_ID", "1.5"),
    ("DEV_GUILD_ID", str(2**64)),
    ("DATABASE_URL", "postgresql://localhost"), ("DATABASE_URL", "postgresql:///music"), ("DATABASE_URL", "sqlite:///"), ("DATABASE_URL", "sqlite://x.db"),
    ("DATABASE_URL", "data/musicbot.db"),
    ("ATTACHMENTS", "maybe"), ("ATTACHMENT_TIMEOUT", "0"), ("ATTACHMENT_TIMEOUT", "soon"),
    ("ATTACHMENT_DOWNLOADS", "0"), ("ATTACHMENT_DOWNLOADS", "2.5"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value"), MALFORMED)
def test_malformed_value_names_variable(name: str, value: str) -> None:
    err = error_for(**{name: value})
    assert err.names == [name]
    message = str(err)
    assert message.startswith(name + " ")
    assert repr(value) in message  # shows what it got


def test_malformed_number_explains_the_rule() -> None:
    assert "positive number" in str(error_for(MAX_FILE_MB="-1"))
    assert "1 and 65535" in str(error_for(WEB_PORT="70000"))
    assert "http(s) URL" in str(error_for(MUSICAPI_BASE_URL="ftp://x"))
    assert "sqlite:///" in str(error_for(DATABASE_URL="mysql://x"))
    assert "1 and 65535" in str(error_for(WEB_PORT="http"))
    assert str(error_for(MAX_FILE_MB="abc")) == "MAX_FILE_MB must be a positive number (got 'abc')"
    assert "whole number" in str(error_for(MUSICAPI_RETRIES="1.5"))
    assert str(error_for(LOG_FORMAT="xml")) == "LOG_FORMAT must be text or json (got 'xml')"
    assert str(error_for(EVENT_LOOP="tokio")) == "EVENT_LOOP must be uvloop or asyncio (got 'tokio')"


@pytest.mark.parametrize("name", ["MUSICAPI_BASE_URL", "PUBLIC_URL"])
@pytest.mark.parametrize("value", ["http://example.com:99999", "http://example.com:abc"])
def test_url_with_bad_port_names_variable(name: str, value: str) -> None:
    assert error_for(**{name: value}).names == [name]


# ---------------------------------------------------------------------------------------------
# every problem at once; nothing secret echoed
# ---------------------------------------------------------------------------------------------


def test_every_problem_is_reported_at_once_one_line_each() -> None:
    err = error_for(MAX_FILE_MB="abc", WEB_PORT="0", LOG_LEVEL="LOUD", DEV_GUILD_ID="my-server")
    assert err.names == ["DEV_GUILD_ID", "MAX_FILE_MB", "LOG_LEVEL", "WEB_PORT"]
    lines = str(err).splitlines()
    assert len(lines) == 4
    assert all(line.startswith(name + " ") for line, name in zip(lines, err.names, strict=True))


def test_contradicting_settings_are_reported_at_once_one_line_each() -> None:
    err = error_for(UPLOAD_TIMEOUT="10", MUSICAPI_POLL_DEADLINE="5", METRICS_PORT="8080")
    assert err.names == ["UPLOAD_TIMEOUT", "MUSICAPI_POLL_DEADLINE", "METRICS_PORT"]
    assert len(str(err).splitlines()) == 3


@pytest.mark.parametrize("name", ["DISCORD_TOKEN", "MUSICAPI_API_KEY"])
@pytest.mark.parametrize("value", ["abc\ndef", "abc\r\ndef", "abc def", "abc\tdef", "abc\x00def"])
def test_a_secret_in_more_than_one_piece_is_refused_without_showing_it(name: str, value: str) -> None:
    err = error_for(**{name: value})
    assert err.names == [name]
    assert str(err) == f"{name} must be one line without spaces (copy it again, in one piece) (got (hidden))"


@pytest.mark.parametrize("name", ["MUSICAPI_WEBHOOK_SECRET", "METRICS_TOKEN"])
def test_a_secret_of_the_operators_own_may_hold_spaces_but_not_line_breaks(name: str) -> None:
    assert getattr(load(**{name: "correct horse battery"}), name.lower()).get_secret_value() == (
        "correct horse battery"
    )
    for value in ("abc\ndef", "abc\tdef", "abc\x00def"):
        err = error_for(**{name: value})
        assert str(err) == f"{name} must be one line (copy it again, in one piece) (got (hidden))"


@given(st.text(min_size=1))
def test_a_secret_is_taken_exactly_when_it_is_one_printable_word(value: str) -> None:
    stripped = value.strip()
    if bool(stripped) and all(c.isprintable() and not c.isspace() for c in stripped):
        assert load(MUSICAPI_API_KEY=value).musicapi_api_key.get_secret_value() == stripped
    else:
        err = error_for(MUSICAPI_API_KEY=value)
        assert err.names == ["MUSICAPI_API_KEY"]
        if stripped:  # the one line, whatever the value: never any of it
            assert str(err) == (
                "MUSICAPI_API_KEY must be one line without spaces (copy it again, in one piece) (got (hidden))"
            )


@pytest.mark.parametrize("name", ["MUSICAPI_BASE_URL", "PUBLIC_URL"])
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("https://api musicapi.ai", "without spaces"),
        ("https://bot.example.com/?a=1", "must not have a query"),
        ("https://bot.example.com/#top", "must not have a query"),
        ("https://bot.example.com?", "must not have a query"),
        ("https://bot.example.com:99999", "port between 1 and 65535"),
        ("https://bot.example.com:0", "port between 1 and 65535"),
    ],
)
def test_a_url_the_bot_adds_paths_to_is_refused_with_the_reason(name: str, value: str, reason: str) -> None:
    err = error_for(**{name: value})
    assert err.names == [name] and reason in str(err)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080",
        "http://bot.localhost",
        "https://127.0.0.1",
        "http://10.0.0.5:8080",
        "http://192.168.1.20",
        "http://[::1]:8080",
        "http://[fe80::1]",
        "http://0.0.0.0",
        "http://nas.local",
        "http://localhost.:8080",
        "http://100.64.1.2",  # shared address space (carrier-grade NAT, VPNs)
    ],
)
def test_a_public_url_musicapi_cannot_reach_loads_with_a_warning(url: str) -> None:
    warning = load(PUBLIC_URL=url).unreachable_public_url()
    assert warning is not None and warning.startswith("PUBLIC_URL names ") and "polled" in warning


@pytest.mark.parametrize(
    "url", [None, "https://bot.example.com", "http://93.184.216.34:8080", "http://8.8.8.8"]
)
def test_a_public_url_on_the_internet_gives_no_warning(url: str | None) -> None:
    settings = load(PUBLIC_URL=url) if url else load()
    assert settings.unreachable_public_url() is None


def test_a_blank_webhook_secret_means_none() -> None:
    assert load(MUSICAPI_WEBHOOK_SECRET="   ").musicapi_webhook_secret is None


def test_secrets_are_hidden_in_repr() -> None:
    s = load(
        DISCORD_TOKEN="tok-123",
        MUSICAPI_API_KEY="key-456",
        MUSICAPI_WEBHOOK_SECRET="whsec-789",
        METRICS_TOKEN="metrics-000",
        DATABASE_URL="postgresql://bot:pw-111@db.example.com/uploads",
    )
    for shown in (repr(s), str(s)):
        for secret in ("tok-123", "key-456", "whsec-789", "metrics-000", "pw-111"):
            assert secret not in shown
    for secret in ("tok-123", "key-456", "whsec-789", "metrics-000"):  # a copy of the fields hides them too
        assert secret not in str(dataclasses.asdict(s))
    assert "SecretStr('**********')" in repr(s)


def test_a_url_with_a_password_is_never_echoed() -> None:
    message = str(error_for(DATABASE_URL="postgresql://bot:hunter2@db.example.com:5432/"))
    assert "hunter2" not in message
    assert message.startswith("DATABASE_URL ")
    assert "bot:***@db.example.com:5432" in message
    assert "hunter2" not in str(error_for(MUSICAPI_BASE_URL="ftp://bot:hunter2@x"))


@pytest.mark.parametrize("password", ["hunter/22", "hunter#22", "hunter?22"])
def test_a_password_that_breaks_the_url_is_one_line_naming_the_fix_and_never_echoed(password: str) -> None:
    # `openssl rand -base64` gives such passwords; a `#` once made the whole URL (password included) the
    # echoed value, and a `/` passed the check and then crashed the first log line.
    err = error_for(DATABASE_URL=f"postgresql://bot:{password}@db:5432/musicbot")
    assert err.names == ["DATABASE_URL"] and len(str(err).splitlines()) == 1
    assert "percent-encode" in str(err) and "%2F" in str(err)
    assert "hunter" not in str(err) and "bot:***@db:5432/musicbot" in str(err)
    encoded = "postgresql://bot:hunter%2F22@db:5432/musicbot"
    assert load(DATABASE_URL=encoded).database_url == encoded


def test_a_port_that_is_not_a_number_is_one_line() -> None:
    err = error_for(DATABASE_URL="postgresql://bot:hunter2@db:abc/musicbot")
    assert str(err) == (
        "DATABASE_URL must have a port number after the host, like db:5432 "
        "(got 'postgresql://bot:***@db:abc/musicbot')"
    )


@given(st.text(min_size=6, max_size=20).filter(lambda p: "@" not in p and p.strip() == p))
def test_any_password_is_taken_or_refused_in_one_line_and_never_shown(password: str) -> None:
    url = f"postgresql://bot:{password}@db.example.com:5432/musicbot"
    try:
        shown = describe(load(DATABASE_URL=url).database_url)
    except SettingsError as err:
        refused: SettingsError | None = err
        shown = str(err)
    else:
        refused = None
    assert password not in shown
    if refused is not None:
        assert refused.names == ["DATABASE_URL"] and len(shown.splitlines()) == 1


def test_upload_timeout_may_not_be_below_the_musicapi_timeout() -> None:
    err = error_for(MUSICAPI_TIMEOUT="60", UPLOAD_TIMEOUT="30")
    assert err.names == ["UPLOAD_TIMEOUT"]
    assert "MUSICAPI_TIMEOUT" in str(err)
    assert load(MUSICAPI_TIMEOUT="30", UPLOAD_TIMEOUT="30").upload_timeout == 30.0


def test_poll_deadline_may_not_be_below_the_poll_delay() -> None:
    err = error_for(MUSICAPI_POLL_AFTER="120", MUSICAPI_POLL_DEADLINE="60")
    assert err.names == ["MUSICAPI_POLL_DEADLINE"]
    assert "MUSICAPI_POLL_AFTER" in str(err)


@pytest.mark.parametrize(("raw", "expected"), [("on", True), ("OFF", False), ("true", True), ("0", False)])
def test_metrics_switch(raw: str, expected: bool) -> None:
    assert load(METRICS=raw).metrics is expected


def test_attachments_are_on_by_default_and_can_be_turned_off() -> None:
    assert load().attachments is True and load().attachment_timeout == 20.0
    settings = load(ATTACHMENTS="off", ATTACHMENT_TIMEOUT="5", ATTACHMENT_DOWNLOADS="2")
    assert (settings.attachments, settings.attachment_timeout, settings.attachment_downloads) == (
        False,
        5.0,
        2,
    )


def test_a_postgresql_url_is_taken_and_its_password_kept_secret_from_the_log() -> None:
    url = "postgresql://bot:hunter2@db.example.com:5432/music"
    assert load(DATABASE_URL=url).database_url == url
    assert load(DATABASE_URL="postgres://db/music").database_url == "postgres://db/music"


@pytest.mark.parametrize(
    ("ids", "expected"), [("0", (0,)), ("1, 0", (0, 1)), ("0-3", (0, 1, 2, 3)), ("0-1,4", (0, 1, 4))]
)
def test_shard_ids_are_numbers_and_ranges(ids: str, expected: tuple[int, ...]) -> None:
    s = load(SHARD_COUNT="8", SHARD_IDS=ids, DATABASE_URL=PG)
    assert s.shard_ids == expected
    assert s.instance_name == f"shards {','.join(map(str, expected))} of 8"


PG = "postgresql://bot@db/music"


def test_a_shard_range_needs_the_store_it_shares_with_the_other_instances() -> None:
    err = error_for(SHARD_COUNT="2", SHARD_IDS="0")
    assert err.names == ["SHARD_IDS"] and "DATABASE_URL must be a postgresql:// URL" in str(err)
    assert load(SHARD_COUNT="2").shard_count == 2  # one process running both shards may keep SQLite


def test_without_shard_settings_one_process_runs_every_shard() -> None:
    s = load()
    assert (s.shard_count, s.shard_ids, s.instance_name) == (None, None, "all shards")


@pytest.mark.parametrize("ids", ["a", "3-1", "-1", "0,0", "0-1,1", "1.5", ""])
def test_malformed_shard_ids_are_named(ids: str) -> None:
    if not ids:
        assert load(SHARD_COUNT="2", SHARD_IDS=ids).shard_ids is None  # blank means the default
        return
    err = error_for(SHARD_COUNT="4", SHARD_IDS=ids, DATABASE_URL=PG)
    assert err.names == ["SHARD_IDS"]


def test_shard_ids_need_a_count_that_covers_them() -> None:
    assert error_for(SHARD_IDS="0", DATABASE_URL=PG).names == ["SHARD_IDS"]
    err = error_for(SHARD_COUNT="2", SHARD_IDS="1-2", DATABASE_URL=PG)
    assert err.names == ["SHARD_IDS"] and "numbered 0 to 1" in str(err)
    assert error_for(SHARD_COUNT="0").names == ["SHARD_COUNT"]


# ---------------------------------------------------------------------------------------------
# RETENTION_DAYS
# ---------------------------------------------------------------------------------------------


def test_retention_days_default_to_thirty() -> None:
    assert load().retention_days == 30
    assert load(RETENTION_DAYS=" ").retention_days == 30


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("1", 1), (" 90 ", 90), ("36500", 36500)])
def test_retention_days_are_parsed(raw: str, expected: int) -> None:
    assert load(RETENTION_DAYS=raw).retention_days == expected


@pytest.mark.parametrize("raw", ["-1", "1.5", "thirty", "30d", "36501", "1e999", "nan"])
def test_malformed_retention_days_name_the_variable_and_the_rule(raw: str) -> None:
    err = error_for(RETENTION_DAYS=raw)
    assert err.names == ["RETENTION_DAYS"]
    assert str(err) == (
        f"RETENTION_DAYS must be a whole number of days from 0 (keep forever) to 36500 (got {raw!r})"
    )


@given(st.integers(min_value=-(10**30), max_value=10**30) | st.text(max_size=12))
def test_retention_days_take_whole_days_in_range_and_refuse_anything_else_in_one_line(raw: int | str) -> None:
    text = str(raw)
    try:
        wanted: int | None = int(text.strip()) if text.strip() else 30
    except ValueError:
        wanted = None
    if wanted is not None and 0 <= wanted <= 36500:
        assert load(RETENTION_DAYS=text).retention_days == wanted
        return
    err = error_for(RETENTION_DAYS=text)
    assert err.names == ["RETENTION_DAYS"]
    assert len(str(err).splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# follow-ups
# ---------------------------------------------------------------------------------------------


def test_follow_up_defaults() -> None:
    s = load()
    assert s.follow_ups == frozenset(FOLLOW_UP_ACTIONS)
    assert (s.guild_daily_credits, s.follow_up_cooldown, s.follow_up_model, s.low_credits_alert) == (
        150, 60.0, "sonic-v6", 100,
    )  # fmt: skip
    assert s.follow_up_lyrics_limit == 5000 and s.retired_model() is None


def test_prices_default_to_musicapis_latest_reading_and_each_is_a_setting() -> None:
    s = load()
    assert (s.extend_credits, s.cover_credits, s.add_vocals_credits) == (15, 15, 15)
    assert (s.add_instrumental_credits, s.remaster_credits) == (15, 15)
    assert load(EXTEND_CREDITS="20").extend_credits == 20
    err = error_for(COVER_CREDITS="-1")
    assert err.names == ["COVER_CREDITS"]


@pytest.mark.parametrize("model", ["sonic-v4-5", "sonic-v5", "sonic-v3-5"])
def test_a_retired_model_still_loads_and_gives_one_warning_naming_the_current_ones(model: str) -> None:
    warning = load(FOLLOW_UP_MODEL=model).retired_model()
    assert warning is not None and "\n" not in warning
    assert model in warning and "retired" in warning
    assert all(current in warning for current in ("sonic-v6", "sonic-v6-wild", "sonic-v6-mini"))


@pytest.mark.parametrize("model", ["sonic-v6", "sonic-v6-wild", "sonic-v6-mini"])
def test_the_current_models_give_no_warning(model: str) -> None:
    assert load(FOLLOW_UP_MODEL=model).retired_model() is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("on", set(FOLLOW_UP_ACTIONS)),
        ("off", set()),
        ("Cover", {"cover"}),
        ("extend, cover", {"extend", "cover"}),
    ],
)
def test_follow_ups_names_the_actions(raw: str, expected: set[str]) -> None:
    assert load(FOLLOW_UPS=raw).follow_ups == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [("FOLLOW_UPS", "remix"), ("FOLLOW_UPS", "extend,karaoke"), ("FOLLOW_UPS", ","),
     ("GUILD_DAILY_CREDITS", "-15"), ("GUILD_DAILY_CREDITS", "lots"), ("FOLLOW_UP_COOLDOWN", "-1"),
     ("FOLLOW_UP_COOLDOWN", "inf"), ("FOLLOW_UP_MODEL", "gpt-4"), ("FOLLOW_UP_MODEL", "sonic v5"),
     ("LOW_CREDITS_ALERT", "1.5")],
)  # fmt: skip
def test_bad_follow_up_settings_name_their_variable(name: str, value: str) -> None:
    err = error_for(**{name: value})
    assert err.names == [name]
    assert str(err).startswith(f"{name} must")


def test_follow_up_settings_are_parsed() -> None:
    s = load(
        GUILD_DAILY_CREDITS="0", FOLLOW_UP_COOLDOWN="2.5", FOLLOW_UP_MODEL="SONIC-V5", LOW_CREDITS_ALERT="0"
    )
    assert (s.guild_daily_credits, s.follow_up_cooldown, s.follow_up_model, s.low_credits_alert) == (
        0, 2.5, "sonic-v5", 0,
    )  # fmt: skip
