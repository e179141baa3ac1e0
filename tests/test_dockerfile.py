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


# ---------------------------------------------------------------------------------------------
# private by default: the base image, the published ports, the database password, stopping, systemd
# ---------------------------------------------------------------------------------------------

ROOT = DOCKERFILE.parent
COMPOSE_FILES = [ROOT / "compose.yaml", ROOT / "compose.two-instances.yaml"]
UNIT = ROOT / "musicapi-upload-bot.service"


def test_the_base_image_is_pinned_by_digest() -> None:
    base = instruction("ARG").removeprefix("BASE_IMAGE=")
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", base), base
    assert instruction("FROM") == "${BASE_IMAGE}"


def shutdown_takes_at_most() -> float:
    """The bot's own bound on stopping: uploads finish, answers go out, work in the background drains,
    the web server closes (composition.App.close)."""
    from bot.composition import SHUTDOWN_ANSWER_WAIT, SHUTDOWN_GRACE

    return SHUTDOWN_GRACE + SHUTDOWN_ANSWER_WAIT + 3.0 + 3.0 + 2.0


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s?)", value.strip().strip('"'))
    assert match, value
    return float(match.group(1))


def test_compose_publishes_the_web_port_on_loopback_unless_told_otherwise() -> None:
    for path in COMPOSE_FILES:
        text = path.read_text()
        published = re.findall(r"^\s+- \"([^\"]+)\"\s*$", text.split("ports:", 1)[1], flags=re.MULTILINE)
        ports = [p for p in published if p.count(":") >= 2 or p.startswith("${")]
        assert ports, path.name
        for port in ports:
            assert port.startswith("${BOT_PUBLISH_ADDRESS:-127.0.0.1}:"), (path.name, port)
        assert not re.search(r"^\s+- \"?\d+:\d+\"?\s*$", text, flags=re.MULTILINE), path.name


def test_compose_refuses_to_start_without_a_database_password() -> None:
    for path in COMPOSE_FILES:
        uses = re.findall(r"\$\{POSTGRES_PASSWORD([^}]*)\}", path.read_text())
        assert uses, path.name
        # `${VAR:?message}` makes compose stop with the message when VAR is unset or empty.
        assert all(use.startswith(":?") and len(use) > 2 for use in uses), (path.name, uses)
        assert "change-me" not in path.read_text()


def test_compose_and_systemd_wait_for_the_whole_shutdown() -> None:
    bound = shutdown_takes_at_most()
    for path in COMPOSE_FILES:
        graces = re.findall(r"^\s+stop_grace_period:\s*(\S+)", path.read_text(), flags=re.MULTILINE)
        assert graces and all(seconds(g) >= bound + 10 for g in graces), (path.name, graces)
    assert seconds(unit_value("TimeoutStopSec")) >= bound + 10


def unit_value(key: str) -> str:
    (found,) = re.findall(rf"^{key}=(.*)$", UNIT.read_text(), flags=re.MULTILINE)
    return str(found).strip()


def test_the_systemd_unit_runs_unprivileged_and_restarts_only_when_that_may_help() -> None:
    from bot.__main__ import EXIT_CONFIG, EXIT_DISCORD

    assert unit_value("User") not in ("root", "0") and unit_value("Group") not in ("root", "0")
    assert unit_value("Restart") == "on-failure"
    assert {int(code) for code in unit_value("RestartPreventExitStatus").split()} == {
        EXIT_CONFIG,
        EXIT_DISCORD,
    }
    assert unit_value("ExecStart").endswith("/.venv/bin/python -m bot")
    assert unit_value("KillSignal") == "SIGTERM"
    assert "network-online.target" in unit_value("After")


def test_the_readme_runs_the_container_privately_and_waits_for_its_shutdown() -> None:
    readme = (ROOT / "README.md").read_text()
    (run,) = re.findall(r"docker run (?:[^\n\\]|\\\n)*", readme)
    assert "-p 127.0.0.1:8080:8080" in run
    assert seconds(re.findall(r"--stop-timeout (\d+)", run)[0]) >= shutdown_takes_at_most() + 10


def test_the_systemd_units_install_steps_create_every_folder_it_may_write() -> None:
    """systemd refuses to start a unit whose ReadWritePaths does not exist (226/NAMESPACE), and a fresh
    checkout has no data/ folder (it is git-ignored): the header's steps must make it."""
    header = [
        line.removeprefix("#").strip() for line in UNIT.read_text().splitlines() if line.startswith("#")
    ]
    made = {word for line in header if line.startswith(("mkdir", "install -d")) for word in line.split()}
    for path in unit_value("ReadWritePaths").split():
        assert path.startswith("-") or path in made, (path, header)
