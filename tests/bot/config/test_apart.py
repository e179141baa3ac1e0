"""bot.config.apart: the settings are checked by pydantic-settings in a process of their own, and the
running bot holds plain settings, without pydantic."""

from __future__ import annotations

import dataclasses
import pickle
import stat
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.apart import SettingsUnchecked, load_settings_apart
from bot.config.secret import SecretStr
from bot.config.settings import Settings, SettingsError
from bot.config.validation import load_settings, validated
from tests.bot.test_main import log_until_connected_with_pid
from tests.harness import Harness

BASE = {"DISCORD_TOKEN": "discord-token", "MUSICAPI_API_KEY": "musicapi-key"}


def test_the_checking_process_answers_what_checking_here_gives() -> None:
    env = {**BASE, "WEB_PORT": "9000", "SHARD_COUNT": "2", "ALLOWED_GUILDS": "12,34", "FOLLOW_UPS": "wav"}
    apart = load_settings_apart(env)
    assert apart == load_settings(env)
    assert type(apart) is Settings and type(apart.discord_token) is SecretStr
    assert apart.discord_token.get_secret_value() == "discord-token"
    assert apart.allowed_guilds == frozenset({12, 34}) and apart.follow_ups == frozenset({"wav"})


def test_the_checking_process_reports_every_problem_as_checking_here_does() -> None:
    env = {"DISCORD_TOKEN": "two words", "WEB_PORT": "0", "UPLOAD_TIMEOUT": "1"}
    with pytest.raises(SettingsError) as here:
        load_settings(env)
    with pytest.raises(SettingsError) as apart:
        load_settings_apart(env)
    assert apart.value.problems == here.value.problems
    assert apart.value.names == ["DISCORD_TOKEN", "MUSICAPI_API_KEY", "WEB_PORT"]
    assert "two words" not in str(apart.value)


def test_contradictions_come_back_from_the_checking_process_too() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings_apart({**BASE, "UPLOAD_TIMEOUT": "5", "MUSICAPI_TIMEOUT": "10"})
    assert info.value.names == ["UPLOAD_TIMEOUT"]


def _interpreter(tmp_path: Path, body: str) -> str:
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "echo 'ModuleNotFoundError: No module named pydantic_settings' >&2; exit 1",
            "exit 1: ModuleNotFoundError",
        ),
        ("cat > /dev/null; printf 'not a pickle'", "could not check the settings"),
        ("cat > /dev/null; exec sleep 5", "TimeoutExpired"),
    ],
)
def test_a_checking_process_that_cannot_answer_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, reason: str
) -> None:
    monkeypatch.setattr(sys, "executable", _interpreter(tmp_path, body))
    with pytest.raises(SettingsUnchecked) as info:
        load_settings_apart(BASE, timeout=0.5)
    assert reason in str(info.value) and "\n" not in str(info.value)


def test_a_secret_shows_only_when_asked() -> None:
    secret = SecretStr("hunter2")
    assert "hunter2" not in f"{secret} {secret!r} {load_settings(BASE)!r}"
    assert secret.get_secret_value() == "hunter2" and secret == SecretStr("hunter2") != SecretStr("x")
    assert pickle.loads(pickle.dumps(secret)) == secret  # noqa: S301 - bytes made on the line itself


@settings(max_examples=60, deadline=None)
@given(
    port=st.integers(1, 65535),
    retries=st.integers(0, 50),
    timeout=st.floats(0.001, 1e6, allow_nan=False),
    guilds=st.frozensets(st.integers(1, 2**64 - 1), max_size=4),
    loop=st.sampled_from(["uvloop", "asyncio"]),
)
def test_checked_settings_check_again_to_themselves(
    port: int, retries: int, timeout: float, guilds: frozenset[int], loop: str
) -> None:
    """What the tests' harness relies on: checked values given back, as typed values, are unchanged."""
    env = {
        **BASE,
        "WEB_PORT": str(port),
        "MUSICAPI_RETRIES": str(retries),
        "MUSICAPI_TIMEOUT": repr(timeout),
        "UPLOAD_TIMEOUT": repr(timeout),
        "ALLOWED_GUILDS": ",".join(map(str, guilds)),
        "EVENT_LOOP": loop,
    }
    checked = load_settings(env)
    assert validated({f.name: getattr(checked, f.name) for f in dataclasses.fields(checked)}) == checked


async def test_the_running_bot_has_no_pydantic_in_memory(harness: Harness) -> None:
    """`python -m bot`, connected: pydantic's core is not among its mapped files (SQLite's is, which
    shows that an extension module would be seen)."""
    lines, maps = await log_until_connected_with_pid(harness)
    assert any("starting: mode sync" in line for line in lines)
    assert "_sqlite3" in maps
    assert "pydantic" not in maps
