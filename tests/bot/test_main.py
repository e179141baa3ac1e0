"""`python -m bot` as an operator runs it: startup errors, a rejected token, and shutdown on signals."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.fakes import payloads
from tests.harness import Harness

ROOT = Path(__file__).resolve().parents[2]


async def run_bot(env: dict[str, str], cwd: Path, *, launcher: bool = False) -> asyncio.subprocess.Process:
    args = [str(ROOT / "tests" / "support" / "launch_bot.py")] if launcher else ["-m", "bot"]
    env = {**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "MUSICAPI_", "DEV_GUILD"))}
    env.update(values)
    return env


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"MUSICAPI_API_KEY": "k"}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "t"}, "MUSICAPI_API_KEY"),
        ({"DISCORD_TOKEN": " ", "MUSICAPI_API_KEY": "k"}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "t", "MUSICAPI_API_KEY": "k", "MUSICAPI_TIMEOUT": "soon"}, "MUSICAPI_TIMEOUT"),
        ({"DISCORD_TOKEN": "t", "MUSICAPI_API_KEY": "k", "DEV_GUILD_ID": "my-server"}, "DEV_GUILD_ID"),
        ({"DISCORD_TOKEN": "t", "MUSICAPI_API_KEY": "k", "MUSICAPI_BASE_URL": "api.musicapi.ai"},
         "MUSICAPI_BASE_URL"),
    ],
)  # fmt: skip
async def test_missing_or_bad_settings_stop_with_one_line(tmp_path: Path, env: dict, variable: str) -> None:
    proc = await run_bot(clean_env(**env), tmp_path)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode not in (0, None)
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert variable in lines[0]
    assert "Traceback" not in err.decode()
    if env.get("DISCORD_TOKEN", "").strip():
        assert env["DISCORD_TOKEN"] not in lines[0] or variable != "DISCORD_TOKEN"


async def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=from-file\nMUSICAPI_API_KEY=k\nWEB_PORT=99999\n")
    proc = await run_bot(clean_env(), tmp_path)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode not in (0, None)
    assert "WEB_PORT" in err.decode(), "settings from .env were not loaded"


async def test_token_discord_rejects_stops_with_a_clear_message(harness: Harness) -> None:
    proc = await run_bot(harness.env(DISCORD_TOKEN="not-the-token"), harness.tmp_path, launcher=True)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    text = err.decode()
    assert proc.returncode not in (0, None)
    assert "Discord rejected DISCORD_TOKEN" in text
    assert "Traceback" not in text
    assert "not-the-token" not in text


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_shuts_down_cleanly_and_answers_in_flight_uploads(
    harness: Harness, sig: signal.Signals
) -> None:
    harness.musicapi.delay = 30
    proc = await run_bot(harness.env(), harness.tmp_path, launcher=True)
    try:
        await asyncio.wait_for(harness.discord.identified.wait(), 20)
        await asyncio.sleep(0.3)
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        await harness.callback_of(payload)
        await harness.musicapi.wait_for_uploads()
        loop = asyncio.get_running_loop()
        sent_at = loop.time()
        proc.send_signal(sig)
        _, err = await asyncio.wait_for(proc.communicate(), 15)
        elapsed = loop.time() - sent_at
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert elapsed < 10
    assert "restarting" in await harness.answer(payload, timeout=1)
    assert "Traceback" not in err.decode()


async def test_unusable_database_stops_with_a_clear_message(harness: Harness) -> None:
    blocker = harness.tmp_path / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    env = harness.env(DATABASE_URL=f"sqlite:///{blocker}/bot.db")
    proc = await run_bot(env, harness.tmp_path, launcher=True)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    text = err.decode()
    assert proc.returncode not in (0, None)
    assert "cannot open the upload log" in text and "DATABASE_URL" in text
    assert "Traceback" not in text


async def test_signal_while_the_gateway_is_unreachable_still_exits_cleanly(harness: Harness) -> None:
    harness.discord.accepting = False  # REST answers, the gateway does not: the bot keeps retrying
    proc = await run_bot(harness.env(), harness.tmp_path, launcher=True)
    try:
        await harness.discord.wait_for("GET", "/applications/", timeout=20)
        await asyncio.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "shutting down" in err.decode()


async def test_bot_connects_once_the_gateway_comes_back(harness: Harness) -> None:
    harness.discord.accepting = False

    async def gateway_returns() -> None:
        await harness.discord.gateway_refused.wait()
        harness.discord.accepting = True

    back = asyncio.create_task(gateway_returns())
    async with harness.running():
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        assert "clip_id" in await harness.answer(payload)
    await back
    assert harness.discord.refused_gateway >= 1
