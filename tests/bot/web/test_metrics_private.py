"""/metrics kept off the public listener: on its own METRICS_HOST/METRICS_PORT, or behind a bearer token."""

from __future__ import annotations

import aiohttp
import pytest

from bot.config.settings import SettingsError
from bot.config.validation import load_settings
from tests.harness import Harness, free_port

TOKEN = "scrape-token-5f1c"


async def status(url: str, headers: dict[str, str] | None = None) -> int:
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers or {}) as resp:
        return resp.status


async def test_metrics_on_a_listener_of_their_own(harness: Harness) -> None:
    web, metrics = free_port(), free_port()
    async with harness.running(web_port=web, metrics_port=metrics):
        public = await status(f"http://127.0.0.1:{web}/metrics")
        private = await status(f"http://127.0.0.1:{metrics}/metrics")
        health = await status(f"http://127.0.0.1:{web}/healthz")
        only_metrics = await status(f"http://127.0.0.1:{metrics}/healthz")
    assert (public, private, health, only_metrics) == (404, 200, 200, 404)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [(None, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": TOKEN}, 401),
     ({"Authorization": f"Bearer {TOKEN}"}, 200)],
)  # fmt: skip
async def test_metrics_behind_a_bearer_token(
    harness: Harness, headers: dict[str, str] | None, expected: int
) -> None:
    web = free_port()
    async with harness.running(web_port=web, metrics_token=TOKEN):
        assert await status(f"http://127.0.0.1:{web}/metrics", headers) == expected
        assert await status(f"http://127.0.0.1:{web}/healthz") == 200  # health checks need no token


def test_the_metrics_port_must_differ_from_the_web_port_and_the_token_is_never_shown() -> None:
    base = {"DISCORD_TOKEN": "t", "MUSICAPI_API_KEY": "k"}
    with pytest.raises(SettingsError) as info:
        load_settings({**base, "WEB_PORT": "9000", "METRICS_PORT": "9000"})
    assert "METRICS_PORT" in str(info.value)
    s = load_settings({**base, "METRICS_TOKEN": TOKEN, "METRICS_PORT": "9100"})
    assert (s.metrics_host, s.metrics_port) == ("127.0.0.1", 9100) and TOKEN not in repr(s)
