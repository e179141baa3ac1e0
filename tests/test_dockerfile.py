"""The container image, as far as it can be checked without Docker: its user, and its health check run
for real against the bot."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from tests.harness import Harness, free_port

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def instruction(name: str) -> str:
    """The arguments of the Dockerfile's one `name` instruction, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    (found,) = re.findall(rf"^{name}\s+(.+)$", text, flags=re.MULTILINE)
    return str(found)


def test_the_image_runs_as_a_numeric_user_that_is_not_root() -> None:
    user = instruction("USER")
    assert re.fullmatch(r"\d+:\d+", user), user
    assert all(int(part) != 0 for part in user.split(":"))


def test_the_image_installs_the_locked_versions() -> None:
    text = DOCKERFILE.read_text()
    assert "pip install --no-compile --require-hashes -r requirements.lock" in text
    assert "pip install --no-compile --no-deps ." in text


async def health_check(port: int) -> int:
    """Exit status of the image's HEALTHCHECK command, with this test's Python as `python`."""
    command = instruction("HEALTHCHECK").split(" CMD ", 1)[1]
    env = {**os.environ, "WEB_PORT": str(port), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = await asyncio.create_subprocess_exec(
        "sh", "-c", command, env=env, stderr=asyncio.subprocess.DEVNULL
    )
    return await asyncio.wait_for(proc.wait(), 30)


async def test_the_health_check_passes_while_the_bot_is_connected_and_fails_once_it_is_not(
    harness: Harness,
) -> None:
    port = free_port()
    async with harness.running(web_port=port):  # sync mode: no PUBLIC_URL
        healthy = await health_check(port)
        harness.discord.accepting = False  # the gateway goes away and refuses reconnects
        for ws in list(harness.discord.sockets):
            await ws.close()
        for _ in range(100):
            unhealthy = await health_check(port)
            if unhealthy != 0:
                break
            await asyncio.sleep(0.05)
    assert healthy == 0
    assert unhealthy != 0
