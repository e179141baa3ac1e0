"""bot.config.apart: the settings are checked by pydantic-settings in a process of its own, and the
running bot holds plain settings, without pydantic."""

from __future__ import annotations

import dataclasses
import os
import pickle
import stat
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.__main__ as entry
from bot.config.apart import SettingsUnchecked, load_settings_apart, read_answer
from bot.config.secret import SecretStr
from bot.config.settings import Settings, SettingsError
from bot.config.validation import load_settings, validated
from tests.bot.test_main import log_until_connected_with_pid
from tests.harness import Harness
from tests.support.probe import probe

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


def test_the_checking_process_uses_the_bots_own_package_not_the_working_directorys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `bot/` in the working directory (an old checkout, say) is not what checks the settings."""
    (tmp_path / "bot" / "config").mkdir(parents=True)
    (tmp_path / "bot" / "__init__.py").write_text("raise SystemExit('the wrong bot package')\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings_apart(BASE) == load_settings(BASE)


def _interpreter(tmp_path: Path, body: str) -> str:
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.mark.parametrize(
    ("body", "reason", "retryable"),
    [
        (
            "echo 'ModuleNotFoundError: No module named pydantic_settings' >&2; exit 1",
            "(exit 1: ModuleNotFoundError: No module named pydantic_settings)",
            False,
        ),
        ("cat > /dev/null; printf 'not a pickle'", "(its answer was not settings)", False),
        ("cat > /dev/null; exec sleep 5", "(it took over 0.5s)", True),
        ("kill -9 $$", "(it was killed by signal 9)", True),
    ],
)
def test_a_checking_process_that_cannot_answer_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, reason: str, retryable: bool
) -> None:
    monkeypatch.setattr(sys, "executable", _interpreter(tmp_path, body))
    with pytest.raises(SettingsUnchecked) as info:
        load_settings_apart(BASE, timeout=0.5)
    assert str(info.value) == f"could not check the settings {reason}"
    assert info.value.retryable is retryable


def test_an_interpreter_that_cannot_start_may_start_next_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with pytest.raises(SettingsUnchecked) as info:
        load_settings_apart(BASE)
    assert "it could not start" in str(info.value) and info.value.retryable


class _Runs:
    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, ("touch ran",))


def test_an_answer_that_would_run_code_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for answer in [_Runs(), ("settings", {"max_file_mb": _Runs()}), ("problems", [("X", _Runs())])]:
        with pytest.raises(SettingsUnchecked, match="its answer was not settings"):
            read_answer(pickle.dumps(answer))
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    "answer",
    [
        ("settings", {"discord_token": SecretStr("t"), "musicapi_api_key": SecretStr("k"), "no_such": 1}),
        ("settings", {"discord_token": SecretStr("t")}),
        ("verdict", []),
        ("problems", [("ONLY_A_NAME",)]),
    ],
)
def test_an_answer_in_other_fields_is_refused_not_misread(answer: object) -> None:
    with pytest.raises(SettingsUnchecked, match="its answer was not settings"):
        read_answer(pickle.dumps(answer))


def test_a_secret_shows_only_when_asked() -> None:
    secret = SecretStr("hunter2")
    assert "hunter2" not in f"{secret} {secret!r} {load_settings({**BASE, 'DISCORD_TOKEN': 'hunter2'})!r}"
    assert secret.get_secret_value() == "hunter2" and secret == SecretStr("hunter2") != SecretStr("x")
    assert pickle.loads(pickle.dumps(secret)) == secret  # noqa: S301 - bytes made on the line itself


@settings(max_examples=60, deadline=None)
@given(
    port=st.integers(1, 65535),
    retries=st.integers(0, 50),
    timeout=st.floats(0.001, 1e6, allow_nan=False),
    guilds=st.frozensets(st.integers(1, 2**64 - 1), max_size=4),
    shards=st.lists(st.integers(0, 40), min_size=1, max_size=5, unique=True),
    loop=st.sampled_from(["uvloop", "asyncio"]),
)
def test_checked_settings_check_again_to_themselves(
    port: int, retries: int, timeout: float, guilds: frozenset[int], shards: list[int], loop: str
) -> None:
    """What the tests' harness relies on: checked values given back, as typed values, are unchanged."""
    env = {
        **BASE,
        "WEB_PORT": str(port),
        "MUSICAPI_RETRIES": str(retries),
        "MUSICAPI_TIMEOUT": repr(timeout),
        "UPLOAD_TIMEOUT": repr(timeout),
        "ALLOWED_GUILDS": ",".join(map(str, guilds)),
        "SHARD_IDS": ",".join(map(str, shards)),
        "SHARD_COUNT": "41",
        "DATABASE_URL": "postgresql://bot@db/uploads",
        "EVENT_LOOP": loop,
    }
    checked = load_settings(env)
    assert validated({f.name: getattr(checked, f.name) for f in dataclasses.fields(checked)}) == checked


def test_nothing_the_bot_runs_imports_pydantic_or_installed_metadata() -> None:
    """Every module of the bot and its cogs but the checking process's: neither pydantic nor
    `importlib.metadata` (the version is `bot.__version__`) is loaded, nor `difflib` (for a misspelt name
    in `.env` only)."""
    code = (
        "import importlib, pkgutil, sys, bot, cogs\n"
        "for package in (bot, cogs):\n"
        "    for found in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        if found.name != 'bot.config.validation':\n"
        "            importlib.import_module(found.name)\n"
        "importlib.import_module('bot.__main__')\n"
        "print(len(sys.modules), sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'pydantic_settings', 'pydantic_core') or m in ('importlib.metadata', 'difflib')))\n"
    )
    printed = probe(code)
    count, loaded = printed.split(" ", 1)
    assert int(count) > 300 and loaded.strip() == "[]", printed


async def test_the_running_bot_has_no_pydantic_in_memory(harness: Harness) -> None:
    """`python -m bot`, connected: pydantic's core is not among its mapped files (SQLite's is, which
    shows that an extension module would be seen)."""
    lines, maps = await log_until_connected_with_pid(harness)
    assert any("starting: mode sync" in line for line in lines)
    assert "_sqlite3" in maps
    assert "pydantic" not in maps


@pytest.mark.parametrize(
    ("failure", "status", "line"),
    [
        (
            SettingsUnchecked("it was killed by signal 9", retryable=True),
            1,
            "musicapi-upload-bot: error: could not check the settings (it was killed by signal 9)",
        ),
        (
            SettingsUnchecked("exit 1: ImportError: no pydantic_settings"),
            2,
            "musicapi-upload-bot: configuration error: could not check the settings "
            "(exit 1: ImportError: no pydantic_settings)",
        ),
    ],
)
def test_a_check_that_may_work_next_time_exits_1_so_that_a_supervisor_restarts(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    failure: SettingsUnchecked,
    status: int,
    line: str,
) -> None:
    """The systemd unit restarts on 1 and not on 2 (README, "Exit codes")."""

    def fails(env: object) -> Settings:
        raise failure

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(entry, "load_settings_apart", fails)
    with pytest.raises(SystemExit) as info:
        entry.main([])
    assert info.value.code == status
    assert capsys.readouterr().err.splitlines() == [line]


def test_ctrl_c_while_the_settings_are_checked_ends_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(env: object) -> Settings:
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(entry, "load_settings_apart", interrupted)
    entry.main([])
    assert capsys.readouterr() == ("", "")


def test_the_check_runs_before_the_bot_loads_discord_py(tmp_path: Path) -> None:
    """`python -m bot` has loaded neither discord.py, aiohttp nor the composition root when it starts
    the checking process, so the two processes together stay small (README, "Settings")."""
    code = (
        "import sys, bot.__main__ as entry\n"
        "def check(env):\n"
        "    print(sorted({m.split('.')[0] for m in sys.modules} & {'discord', 'aiohttp', 'pydantic'}"
        " | {m for m in sys.modules if m in ('bot.process', 'bot.composition')}))\n"
        "    raise KeyboardInterrupt\n"
        "entry.load_settings_apart = check\n"
        "entry.main([])\n"
    )
    printed = probe(code, cwd=tmp_path)
    assert printed.strip() == "[]", printed
