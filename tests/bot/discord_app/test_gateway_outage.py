"""A gateway that refuses for a while, at startup and while running: the bot retries with growing delays,
logs one line per attempt and the traceback once, and works again once the gateway is back."""

from __future__ import annotations

import asyncio
import logging
import signal

import pytest

import bot.composition as composition
import bot.discord_app.gateway as gateway
from bot.composition import assemble, new_http_session
from bot.domain.backoff import Backoff
from tests.bot.test_main import run_bot
from tests.fakes import payloads
from tests.harness import Harness

#: The outage's length in refused connection attempts (a 90 s outage takes about six at the real delays).
REFUSALS = 6


def outage_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith(("discord", "bot.gateway"))
        and "voice" not in r.getMessage() and "Guilds intent" not in r.getMessage()
    ]  # fmt: skip


async def gateway_back_after(harness: Harness, refusals: int) -> None:
    while True:
        harness.discord.gateway_refused.clear()
        if harness.discord.refused_gateway >= refusals:
            break
        await harness.discord.gateway_refused.wait()
    harness.discord.accepting = True


async def test_a_gateway_refusing_at_startup_costs_one_line_per_attempt_and_one_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "GATEWAY_BACKOFF", Backoff(first=0.02, ceiling=0.2))
    caplog.set_level(logging.INFO)
    harness.discord.accepting = False
    back = asyncio.create_task(gateway_back_after(harness, REFUSALS))
    async with harness.running(ready_within=60):
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        assert "clip_id" in await harness.answer(payload)
    await back
    records = outage_records(caplog)
    assert harness.discord.refused_gateway == REFUSALS
    assert len(records) == REFUSALS, [r.getMessage() for r in records]  # one line per refused attempt
    assert sum(r.exc_info is not None for r in records) == 1  # the traceback once, not chained
    first = records[0].exc_info
    assert first is not None and first[1] is not None and first[1].__context__ is None
    assert any("connected to the gateway after 7 attempts" in r.getMessage() for r in caplog.records)


async def test_a_gateway_lost_while_running_logs_its_traceback_once(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with harness.running() as app:
        ready_again = asyncio.ensure_future(app.bot.wait_for("shard_ready"))
        harness.discord.accepting = False
        refused_before = harness.discord.refused_gateway
        back = asyncio.create_task(gateway_back_after(harness, refused_before + 3))
        for ws in list(harness.discord.sockets):
            await ws.close()
        await asyncio.wait_for(back, 60)
        await asyncio.wait_for(ready_again, 60)
        assert app.bot.is_connected()
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        assert "clip_id" in await harness.answer(payload)
        refused = harness.discord.refused_gateway - refused_before
    reconnects = [r for r in caplog.records if r.msg == gateway.RECONNECT_MESSAGE]
    assert refused == 3 and len(reconnects) == refused  # one line per refused attempt
    assert [r.exc_info is not None for r in reconnects] == [True, False, False]
    assert [r.levelname for r in reconnects] == ["ERROR", "WARNING", "WARNING"]


async def test_python_m_bot_rides_out_a_refusing_gateway_in_a_bounded_log(harness: Harness) -> None:
    """The real process, at the real delays: the gateway refuses three times, then takes the bot, which
    then uploads. The log has one line per refused attempt and one traceback."""
    harness.discord.accepting = False
    back = asyncio.create_task(gateway_back_after(harness, 3))
    proc = await run_bot(harness.env(), harness.tmp_path, launcher=True)
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        while not any("connected as uploadbot" in line for line in lines):
            line = await asyncio.wait_for(proc.stderr.readline(), 60)
            assert line, "the bot stopped:\n" + "".join(lines)
            lines.append(line.decode())
        await back
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        answer = await harness.answer(payload)
        proc.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = "".join(lines) + rest.decode()
    outage = [line for line in lines if "gateway" in line and ("WARNING" in line or "ERROR" in line)]
    assert harness.discord.refused_gateway == 3 and len(outage) == 3, outage
    assert text.count("Traceback") == 1
    assert "clip_id" in answer and proc.returncode == 0


async def test_a_login_that_never_answers_ends_the_start_at_its_bound(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discord takes the login request and never answers: the start ends at LOGIN_TIMEOUT with the one
    sentence `python -m bot` logs before exiting with 1 (a restart may cure it), instead of hanging."""
    monkeypatch.setattr(composition, "LOGIN_TIMEOUT", 0.5)
    harness.discord.slow[("GET", "/users/@me")] = 60.0
    settings = harness.settings()
    async with new_http_session(settings.musicapi_concurrency) as session, assemble(settings, session) as app:
        try:
            async with asyncio.timeout(20):
                with pytest.raises(
                    composition.DiscordUnreachable, match=r"logging in to Discord took over 0\.5s"
                ):
                    await app.start()
        finally:
            await app.close()
    assert harness.discord.sent("GET", "/users/@me")  # it did ask
