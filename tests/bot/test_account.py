"""The MusicAPI key and credits, checked at startup: in the log of `python -m bot`, and on /healthz."""

from __future__ import annotations

import aiohttp
import pytest

from bot.domain.account import AccountHealth, AccountState, check_account
from bot.domain.followups.ports import Credits
from tests.bot.test_main import log_until_connected
from tests.fakes.musicapi import API_KEY
from tests.harness import Harness, free_port


async def test_the_log_says_how_many_credits_are_left_before_connecting(harness: Harness) -> None:
    harness.musicapi.credits, harness.musicapi.extra_credits = 1234, 16
    lines = await log_until_connected(harness)
    (credits,) = [i for i, line in enumerate(lines) if "MusicAPI key accepted" in line]
    assert "1250 credits left" in lines[credits]
    connected = next(i for i, line in enumerate(lines) if "connected as uploadbot" in line)
    assert credits < connected
    assert not any("ERROR" in line for line in lines)


async def test_a_rejected_key_is_one_error_line_naming_it(harness: Harness) -> None:
    lines = await log_until_connected(harness, MUSICAPI_API_KEY="not-the-key")
    errors = [line for line in lines if "ERROR" in line]
    assert len(errors) == 1, errors
    assert "MUSICAPI_API_KEY" in errors[0]
    assert "not-the-key" not in "\n".join(lines) and API_KEY not in "\n".join(lines)
    assert harness.musicapi.credit_checks == 1  # asked once: a 401 is not retried


async def health(port: int) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/healthz") as resp:
        return resp.status, await resp.json()


async def test_healthz_reports_a_rejected_key_beside_the_gateway_and_the_store(harness: Harness) -> None:
    port = free_port()
    async with harness.running(web_port=port, musicapi_api_key="not-the-key"):
        status, body = await health(port)
    # A restart would not mend the key: the bot stays "healthy" for an orchestrator, and says why not.
    assert (status, body) == (200, {"gateway": True, "store": True, "musicapi": "key_rejected"})


async def test_healthz_reports_musicapi_unreachable(harness: Harness) -> None:
    port = free_port()
    nobody = f"http://127.0.0.1:{free_port()}"
    async with harness.running(web_port=port, musicapi_base_url=nobody):
        status, body = await health(port)
    assert (status, body) == (200, {"gateway": True, "store": True, "musicapi": "unreachable"})


async def test_healthz_reports_an_accepted_key(harness: Harness) -> None:
    port = free_port()
    async with harness.running(web_port=port) as app:
        status, body = await health(port)
        assert app.client.health.credits == harness.musicapi.credits
    assert (status, body) == (200, {"gateway": True, "store": True, "musicapi": "ok"})


async def test_the_log_says_what_the_whole_bot_may_spend_and_where_it_works(harness: Harness) -> None:
    lines = await log_until_connected(
        harness,
        TOTAL_DAILY_CREDITS="300",
        UPLOAD_CREDITS="3",
        ALLOWED_GUILDS="11,12",
        ALLOW_USER_INSTALLS="off",
    )
    (line,) = [line for line in lines if "spend ceiling" in line]
    assert "300 credits a day (uploads 3 each); works in 2 allowed server(s), no user installs or DMs" in line


async def test_a_fault_in_the_startup_check_is_one_error_and_the_bot_runs_and_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> Credits:
        raise ValueError("a fault of the bot's own")

    health = AccountHealth()
    await check_account(broken, health)  # does not raise: the background task ends cleanly
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "startup credit check failed unexpectedly" in error.getMessage()
    assert health.state is AccountState.UNKNOWN


async def test_closing_goes_on_past_a_step_that_fails_and_closes_the_store(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A step of shutdown that fails (here the watcher's) must not leave the rest open: the store's
    thread would keep the process alive, and Docker or systemd would have to kill it."""

    async def broken() -> None:
        raise RuntimeError("the watcher had failed")

    async with harness.running() as app:
        monkeypatch.setattr(app.watcher, "stop", broken)
    assert app.bot.is_closed()
    assert not await app.store.ping()  # its connection (and the thread behind it) is closed
    assert any("closing the pending-upload watcher failed" in r.getMessage() for r in caplog.records)
