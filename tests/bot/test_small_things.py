"""What an operator trips on: a misspelt setting in .env, a data folder the bot cannot write, an old
Python running the README's commands."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import sys
from pathlib import Path

import pytest

from bot.config.settings import unknown_names
from bot.storage import StoreUnavailable, open_store
from tests.bot.test_main import log_until_connected
from tests.harness import Harness
from tests.support.probe import probe

ROOT = Path(__file__).resolve().parents[2]


async def test_a_env_line_naming_no_setting_is_one_warning(harness: Harness) -> None:
    (harness.tmp_path / ".env").write_text(
        "TOTAL_DAILY_CREDIT=s3cr3t-looking-value\nPOSTGRES_PASSWORD=for-compose\nLOG_LEVEL=INFO\n"
    )
    lines = await log_until_connected(harness)
    warnings = [line for line in lines if "WARNING" in line and ".env" in line]
    assert len(warnings) == 1, warnings
    assert "TOTAL_DAILY_CREDIT," in warnings[0] and "did you mean TOTAL_DAILY_CREDITS?" in warnings[0]
    assert "s3cr3t-looking-value" not in "\n".join(lines)


def test_names_that_are_settings_or_composes_are_not_warned_about() -> None:
    assert unknown_names(["DISCORD_TOKEN", "GUILD_DAILY_CREDITS", "POSTGRES_PASSWORD"]) == []
    (line,) = unknown_names(["WEBPORT"])
    assert "WEBPORT" in line and "did you mean WEB_PORT?" in line
    (line,) = unknown_names(["HELLO"])
    assert "see .env.example" in line


def test_a_setting_in_lower_case_is_warned_about_since_the_bot_reads_only_upper_case() -> None:
    (line,) = unknown_names(["max_queue"])
    assert "max_queue" in line and "did you mean MAX_QUEUE?" in line


async def test_a_setting_in_lower_case_in_env_is_not_silently_ignored(harness: Harness) -> None:
    (harness.tmp_path / ".env").write_text("log_level=DEBUG\n")
    lines = await log_until_connected(harness)
    warnings = [line for line in lines if "WARNING" in line and ".env" in line]
    assert len(warnings) == 1 and "did you mean LOG_LEVEL?" in warnings[0], warnings


def who() -> str:
    uid = os.geteuid()
    return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"


async def test_a_data_folder_the_bot_cannot_write_names_the_folder_and_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    # The tests run as root, who may write anywhere: the folder answers as it would to another user.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != folder and real_access(path, mode))
    with pytest.raises(StoreUnavailable) as info:
        await open_store(f"sqlite:///{folder / 'bot.db'}")
    assert f"cannot write the data folder {folder}" in str(info.value)
    assert f"runs as user {who()}" in str(info.value)


async def test_a_data_folder_the_bot_cannot_create_names_the_folder_and_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(StoreUnavailable) as info:
        await open_store(f"sqlite:///{tmp_path / 'data' / 'bot.db'}")
    assert f"cannot create the data folder {tmp_path / 'data'}" in str(info.value) and who() in str(
        info.value
    )


async def run_check(version: str) -> tuple[int | None, str]:
    """check_python.py as an interpreter of `version` would run it."""
    code = (
        f"import sys; sys.version_info = tuple(int(p) for p in {version!r}.split('.')) + ('final', 0); "
        f"import runpy; runpy.run_path({str(ROOT / 'check_python.py')!r}, run_name='__main__')"
    )
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode, err.decode()


async def test_the_readmes_commands_stop_on_an_old_python_with_a_sentence() -> None:
    status, err = await run_check("3.10.12")
    assert status == 1 and err.count("\n") == 1
    assert err.startswith("This bot needs Python 3.11 or newer") and "is Python 3.10.12" in err
    assert await run_check("3.11.0") == (0, "") and await run_check("3.13.1") == (0, "")
    readme = (ROOT / "README.md").read_text()
    installs = [line.strip() for line in readme.splitlines() if "python3 -m venv .venv &&" in line]
    assert len(installs) >= 2 and all(line.startswith("python3 check_python.py && ") for line in installs)


def test_once_started_full_collections_come_a_tenth_as_often_and_skip_startup() -> None:
    """`settle_collections` (run once the bot has started): startup's objects frozen out of collections,
    a full collection after 100 of the middle generation instead of 10. In a process of its own, so that
    the test session's collector is left as it is."""
    code = (
        "import gc, json\n"
        "from bot.composition import settle_collections\n"
        "before = gc.get_threshold(), gc.get_freeze_count()\n"
        "settle_collections()\n"
        "print(json.dumps([before[0], gc.get_threshold(), gc.get_freeze_count() > before[1]]))\n"
    )
    (young, middle, full), after, frozen = json.loads(probe(code))
    assert full != 100 and after == [young, middle, 100] and frozen
