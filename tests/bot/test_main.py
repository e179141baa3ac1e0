"""`python -m bot` as an operator runs it: startup errors, a rejected token, and shutdown on signals."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes import payloads
from tests.fakes.discord_api import VALID_TOKEN, FakeDiscord
from tests.fakes.musicapi import API_KEY
from tests.harness import Harness, free_port, serve

ROOT = Path(__file__).resolve().parents[2]


async def run_bot(
    env: dict[str, str], cwd: Path, *, launcher: bool = False, argv: tuple[str, ...] = ()
) -> asyncio.subprocess.Process:
    args = [str(ROOT / "tests" / "support" / "launch_bot.py"), *argv] if launcher else ["-m", "bot", *argv]
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
        # A value pasted across two lines: aiohttp would refuse it in a header, with a traceback.
        ({"DISCORD_TOKEN": "abc\ndef", "MUSICAPI_API_KEY": "k"}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "t", "MUSICAPI_API_KEY": "key\nrest"}, "MUSICAPI_API_KEY"),
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


async def test_settings_that_cannot_be_checked_stop_with_one_line(tmp_path: Path) -> None:
    """The checking process fails (here pydantic-settings cannot be imported; the bot itself never
    imports it): one line saying so, exit 2, no traceback."""
    broken = tmp_path / "site" / "pydantic_settings"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('pydantic_settings is broken here')\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        env={**clean_env(DISCORD_TOKEN="t", MUSICAPI_API_KEY="k"), "PYTHONPATH": f"{broken.parent}:{ROOT}"},
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().splitlines() == [
        "musicapi-upload-bot: configuration error: could not check the settings "
        "(exit 1: ImportError: pydantic_settings is broken here)"
    ]


async def output_of(*argv: str, cwd: Path) -> tuple[int | None, str, str]:
    """Exit status, stdout and stderr of `python -m bot ARGV`, with no setting in the environment."""
    proc = await run_bot(clean_env(), cwd, argv=argv)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode, out.decode(), err.decode()


async def test_version_needs_no_settings(tmp_path: Path) -> None:
    status, out, err = await output_of("--version", cwd=tmp_path)
    assert (status, out, err) == (0, f"musicapi-upload-bot {version('musicapi-upload-bot')}\n", "")


async def test_the_console_script_answers_version_too(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "musicapi-upload-bot"
    proc = await asyncio.create_subprocess_exec(
        script, "--version", env=clean_env(), cwd=tmp_path, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert (proc.returncode, out.decode()) == (0, f"musicapi-upload-bot {version('musicapi-upload-bot')}\n")


async def test_help_lists_the_options_and_where_settings_come_from(tmp_path: Path) -> None:
    status, out, err = await output_of("--help", cwd=tmp_path)
    assert status == 0 and err == ""
    assert out.startswith("usage: musicapi-upload-bot [-h] [--version]")
    assert "--help" in out and "--version" in out
    assert "environment variables" in out and ".env" in out and "README.md" in out
    assert "Required: DISCORD_TOKEN, MUSICAPI_API_KEY." in out
    assert "LOG_FORMAT" in out and "WEB_PORT" in out


async def test_an_unknown_option_is_refused_with_the_usage(tmp_path: Path) -> None:
    status, out, err = await output_of("--shards", "4", cwd=tmp_path)
    assert status == 2 and out == ""
    assert err.startswith("usage: musicapi-upload-bot") and "unrecognized arguments: --shards 4" in err


async def log_until_connected(harness: Harness, **env: str) -> list[str]:
    """The log lines of `python -m bot` against the fakes, from start until it connected and stopped."""
    lines, _ = await log_until_connected_with_pid(harness, **env)
    return lines


async def log_until_connected_with_pid(harness: Harness, **env: str) -> tuple[list[str], str]:
    """`log_until_connected`, and the files the bot's process had mapped once connected
    (`/proc/<pid>/maps`: its shared libraries and extension modules)."""
    proc = await run_bot(harness.env(**env), harness.tmp_path, launcher=True)
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        while "connected as uploadbot" not in (lines[-1] if lines else ""):
            line = await asyncio.wait_for(proc.stderr.readline(), 20)
            assert line, "the bot stopped before it connected:\n" + "".join(lines)
            lines.append(line.decode())
        maps = await asyncio.to_thread(Path(f"/proc/{proc.pid}/maps").read_text)
        proc.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(asyncio.gather(proc.stderr.read(), proc.wait()), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    return [line.rstrip("\n") for line in lines + rest.decode().splitlines(keepends=True)], maps


@pytest.mark.parametrize("mode", ["sync", "callback"])
async def test_the_first_log_line_says_what_runs(harness: Harness, mode: str) -> None:
    port = free_port()
    public_url = f"http://127.0.0.1:{port}" if mode == "callback" else ""
    lines = await log_until_connected(harness, PUBLIC_URL=public_url, WEB_PORT=str(port))
    first = lines[0]
    assert "musicapi-upload-bot " + version("musicapi-upload-bot") + " starting" in first
    assert f"mode {mode}," in first
    assert f"store sqlite {harness.tmp_path / 'bot.db'}," in first
    assert "shards: all" in first
    loop = "uvloop " if importlib.util.find_spec("uvloop") else "asyncio"  # installed with it on Linux
    assert f", event loop {loop}" in first


async def test_without_uvloop_the_bot_runs_on_asyncios_loop(harness: Harness) -> None:
    """As where uvloop is not built for the platform (Windows): the same bot, start to clean stop."""
    lines = await log_until_connected(harness, HIDE_UVLOOP="1")
    assert lines[0].endswith(", event loop asyncio (uvloop is not installed)")
    assert any("stop signal received: shutting down" in line for line in lines)
    assert all(secret not in "\n".join(lines) for secret in (VALID_TOKEN, API_KEY))


async def test_warnings_about_features_the_bot_does_without_are_left_out(harness: Harness) -> None:
    text = "\n".join(await log_until_connected(harness))
    assert "PyNaCl" not in text and "davey" not in text and "Guilds intent" not in text
    assert "discord.client: logging in using static token" in text  # the same logger still speaks
    assert "connected as uploadbot" in text


async def test_json_log_is_one_object_per_line(harness: Harness) -> None:
    lines = await log_until_connected(harness, LOG_FORMAT="json")
    entries = [json.loads(line) for line in lines]
    assert all(isinstance(e, dict) and set(e) == {"time", "level", "logger", "message"} for e in entries)
    assert all(datetime.fromisoformat(e["time"]).tzinfo is not None for e in entries)
    assert entries[0]["logger"] == "bot" and entries[0]["level"] == "INFO"
    assert "starting: mode sync" in entries[0]["message"]
    assert any(e["logger"] == "discord.client" and "static token" in e["message"] for e in entries)
    assert not any("PyNaCl" in e["message"] or "Guilds intent" in e["message"] for e in entries)
    assert all(secret not in "\n".join(lines) for secret in (VALID_TOKEN, API_KEY))


async def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=from-file\nMUSICAPI_API_KEY=k\nWEB_PORT=99999\n")
    proc = await run_bot(clean_env(), tmp_path)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode not in (0, None)
    assert "WEB_PORT" in err.decode(), "settings from .env were not loaded"


async def test_an_env_file_that_is_not_utf8_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes("# caf\xe9\nDISCORD_TOKEN=t\nMUSICAPI_API_KEY=k\n".encode("latin-1"))
    proc = await run_bot(clean_env(), tmp_path)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2
    assert len(lines) == 1 and "cannot read" in lines[0] and ".env" in lines[0] and "UTF-8" in lines[0]


def test_an_env_file_the_bot_may_not_read_stops_with_one_line_naming_its_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import __main__ as entry

    def refused(path: Path) -> dict[str, str | None]:
        raise PermissionError(13, "Permission denied", str(path))

    (tmp_path / ".env").write_text("DISCORD_TOKEN=t\n")
    monkeypatch.setattr(entry, "dotenv_values", refused)  # root, who runs the tests, may read any file
    with pytest.raises(SystemExit) as exited:
        entry.read_env_file(tmp_path / ".env")
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "cannot read" in line and "Permission denied" in line and "runs as user" in line


async def test_a_misspelt_required_setting_is_named_with_its_likely_meaning(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKN=t\nMUSICAPI_API_KEY=k\n")
    proc = await run_bot(clean_env(), tmp_path)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2
    assert len(lines) == 2, lines
    assert "DISCORD_TOKEN is not set" in lines[0]
    assert "warning" in lines[1] and "DISCORD_TOKN" in lines[1] and "did you mean DISCORD_TOKEN?" in lines[1]


async def test_invite_refuses_a_token_in_two_pieces_in_one_line(tmp_path: Path) -> None:
    proc = await run_bot(clean_env(DISCORD_TOKEN="abc\ndef"), tmp_path, argv=("--invite",))
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2
    assert len(lines) == 1 and "DISCORD_TOKEN must be one line" in lines[0]
    assert "abc" not in lines[0]


async def test_token_discord_rejects_stops_with_a_clear_message(harness: Harness) -> None:
    proc = await run_bot(harness.env(DISCORD_TOKEN="not-the-token"), harness.tmp_path, launcher=True)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    text = err.decode()
    assert proc.returncode not in (0, None)
    assert "Discord rejected DISCORD_TOKEN" in text
    assert "Traceback" not in text
    assert "not-the-token" not in text


@contextlib.asynccontextmanager
async def bot_with_an_upload_in_flight(
    harness: Harness,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, Any]]]:
    """`python -m bot` connected, with one upload waiting on MusicAPI (30 s); killed if still running
    when the block ends."""
    harness.musicapi.delay = 30
    proc = await run_bot(harness.env(), harness.tmp_path, launcher=True)
    try:
        await asyncio.wait_for(harness.discord.identified.wait(), 20)
        await asyncio.sleep(0.3)
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        await harness.callback_of(payload)
        await harness.musicapi.wait_for_uploads()
        yield proc, payload
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_shuts_down_cleanly_and_answers_in_flight_uploads(
    harness: Harness, sig: signal.Signals
) -> None:
    async with bot_with_an_upload_in_flight(harness) as (proc, payload):
        loop = asyncio.get_running_loop()
        sent_at = loop.time()
        proc.send_signal(sig)
        _, err = await asyncio.wait_for(proc.communicate(), 15)
        elapsed = loop.time() - sent_at
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
    async with harness.running(ready_within=30):
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        assert "clip_id" in await harness.answer(payload)
    await back
    assert harness.discord.refused_gateway >= 1


async def test_the_log_says_what_follow_ups_may_spend(harness: Harness) -> None:
    lines = await log_until_connected(
        harness, GUILD_DAILY_CREDITS="45", FOLLOW_UPS="cover,remaster", REMASTER_CREDITS="12"
    )
    (line,) = [line for line in lines if "follow-ups:" in line]
    assert (
        "follow-ups: cover 15, remaster 12 (credits each), model sonic-v6; 45 credits per server a day"
        in line
    )
    assert "cooldown 60s; alert below 100 credits; results by polling every 20s" in line
    assert not [line for line in lines if "FOLLOW_UP_MODEL" in line], "a current model gives no warning"


async def test_a_retired_model_starts_the_bot_with_one_warning_naming_the_current_ones(
    harness: Harness,
) -> None:
    lines = await log_until_connected(harness, FOLLOW_UP_MODEL="sonic-v4-5")
    (warning,) = [line for line in lines if "FOLLOW_UP_MODEL" in line]
    assert "WARNING" in warning and "sonic-v4-5" in warning
    assert "sonic-v6, sonic-v6-wild, sonic-v6-mini" in warning


async def test_a_network_down_at_boot_is_waited_for_and_the_bot_connects_once_it_is_up(
    harness: Harness,
) -> None:
    """Nothing answers where Discord should be (as with no network): the bot keeps trying, says so once,
    answers /healthz with 503 meanwhile; once Discord answers, it connects."""
    discord_port, web_port = free_port(), free_port()
    later = FakeDiscord()
    later.base_url = f"http://127.0.0.1:{discord_port}"
    env = harness.env(FAKE_DISCORD_URL=later.base_url, WEB_PORT=str(web_port))
    proc = await run_bot(env, harness.tmp_path, launcher=True)
    assert proc.stderr is not None
    lines: list[str] = []
    runner = None

    async def read_until(text: str) -> None:
        while not lines or text not in lines[-1]:
            line = await asyncio.wait_for(proc.stderr.readline(), 30)  # type: ignore[union-attr]
            assert line, "the bot stopped:\n" + "".join(lines)
            lines.append(line.decode())

    try:
        await read_until("cannot reach Discord")
        for _ in range(100):  # MusicAPI's check runs beside the wait for Discord: until it has answered
            async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{web_port}/healthz") as resp:
                waiting = resp.status, await resp.json()
            if waiting[1]["musicapi"] != "unknown":
                break
            await asyncio.sleep(0.05)
        runner, _ = await serve(later.app(), discord_port)
        await read_until("connected as uploadbot")
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{web_port}/healthz") as resp:
            connected = resp.status
        proc.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if runner is not None:
            for ws in list(later.sockets):
                await ws.close()
            await runner.cleanup()
    assert waiting == (503, {"gateway": False, "store": True, "musicapi": "ok"})
    assert connected == 200 and proc.returncode == 0
    text = "".join(lines) + rest.decode()
    assert sum("cannot reach Discord" in line for line in lines) == 1  # one line per 30 s at most
    assert "Discord is reachable after" in text and "Traceback" not in text


async def test_a_stop_signal_while_waiting_for_the_network_exits_cleanly(harness: Harness) -> None:
    env = harness.env(FAKE_DISCORD_URL=f"http://127.0.0.1:{free_port()}")  # nothing answers there
    proc = await run_bot(env, harness.tmp_path, launcher=True)
    assert proc.stderr is not None
    try:
        while b"cannot reach Discord" not in await asyncio.wait_for(proc.stderr.readline(), 30):
            pass
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0 and "Traceback" not in err.decode()
