"""The container image, as far as it can be checked without Docker: its user, what it installs and how,
and its health check run for real against the bot."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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


def stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages (from each FROM to the next), each a list of (instruction, arguments),
    continuation lines joined and comments left out."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, arguments = line.strip().partition(" ")
        if name.upper() == "FROM":
            found.append([])
        found[-1].append((name.upper(), " ".join(arguments.split())))
    return found[1:]  # what comes before the first FROM (the ARG) is no stage


def pip_commands(stage: list[tuple[str, str]]) -> list[list[str]]:
    """Every `pip ...` / `python -m pip ...` command in the stage's RUN instructions, as its words after
    `pip`, in order."""
    commands = []
    for name, arguments in stage:
        if name != "RUN":
            continue
        exec_form = arguments.startswith("[")
        for command in [arguments] if exec_form else re.split(r"&&|;|\|\||\|", arguments):
            words = json.loads(command) if exec_form else shlex.split(command)
            programs = [Path(word).name for word in words[:3]]
            if programs[:1] and re.fullmatch(r"pip[\d.]*", programs[0]):
                commands.append(words[1:])
            elif programs[1:3] == ["-m", "pip"]:
                commands.append(words[3:])
    return commands


#: pip's options that take a value: the value is not something to install.
PIP_VALUE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-w", "--wheel-dir"}


def what_pip_installs(words: list[str]) -> tuple[set[str], list[str], list[str]]:
    """(its options, the files it reads requirements from, the other things it installs or builds)."""
    options, files, targets = set(), [], []
    rest = iter(words[1:])  # words[0] is the subcommand
    for word in rest:
        option, _, value = word.partition("=")
        if option in PIP_VALUE_OPTIONS:
            value = value or next(rest)
            if option in ("-r", "--requirement", "-c", "--constraint"):
                files.append(value)
        elif word.startswith("-"):
            options.add(word)
        else:
            targets.append(word)
    return options, files, targets


def lock_entries(path: Path) -> dict[str, tuple[str, list[str]]]:
    """A lock file's requirements: the canonical name, then its requirement and its hashes."""
    text = path.read_text().replace("\\\n", " ")
    entries: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement = line.split(" --hash=", 1)[0].strip()
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})(?:\s|$)", line)
        entries[canonicalize_name(Requirement(requirement).name)] = (requirement, hashes)
    return entries


def test_every_locked_requirement_the_image_installs_is_pinned_and_hashed() -> None:
    locks = {
        file for stage in stages() for words in pip_commands(stage) for file in what_pip_installs(words)[1]
    }
    assert {"requirements.lock", "requirements-build.lock"} <= locks
    for file in locks:
        entries = lock_entries(ROOT / file)
        assert entries, file
        for name, (requirement, hashes) in entries.items():
            specifier = list(Requirement(requirement).specifier)
            assert len(specifier) == 1 and specifier[0].operator == "==", (file, requirement)
            assert hashes, (file, name)


def test_the_build_lock_holds_the_backend_pyproject_asks_for() -> None:
    """The build stage builds without isolation, with what requirements-build.lock installed: so that
    lock must satisfy [build-system] requires (pip's --check-build-dependencies also stops the build)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    entries = lock_entries(ROOT / "requirements-build.lock")
    for wanted in map(Requirement, pyproject["build-system"]["requires"]):
        requirement, _ = entries[canonicalize_name(wanted.name)]
        (pin,) = Requirement(requirement).specifier
        assert wanted.specifier.contains(pin.version, prereleases=True), (wanted, requirement)


def test_every_pip_step_installs_hashed_locks_or_the_bot_built_without_isolation() -> None:
    """Nothing unpinned is fetched while the image is built: a lock is installed with --require-hashes;
    the bot is built with no build isolation (pip would otherwise fetch pyproject.toml's build backend,
    at whatever version is newest) and no dependencies, after its stage installed the locked backend;
    the wheel so built is installed from the image's own files only; pip installs nothing else."""
    built = installed_wheel = False
    for stage in stages():
        backend_installed = False
        for words in pip_commands(stage):
            if words[0] == "uninstall":
                continue  # takes away; fetches nothing
            assert words[0] in ("install", "wheel"), words
            options, files, targets = what_pip_installs(words)
            if files:
                assert "--require-hashes" in options, words
                backend_installed |= "requirements-build.lock" in files
            for target in targets:
                if target == ".":  # the bot's source: built here
                    assert {"--no-build-isolation", "--no-deps"} <= options, words
                    assert "--check-build-dependencies" in options, words
                    assert backend_installed, (
                        "the bot is built before its stage installed requirements-build.lock"
                    )
                    built = True
                elif target.endswith(".whl"):  # the wheel an earlier stage built
                    assert {"--no-index", "--no-deps"} <= options, words
                    installed_wheel = True
                else:
                    raise AssertionError(f"pip installs {target!r}, which no lock pins and hashes: {words}")
    assert built and installed_wheel


def test_the_image_runs_with_the_locked_versions_and_without_a_build_backend() -> None:
    *_, runtime = stages()
    commands = pip_commands(runtime)
    # The base image brings a setuptools and wheel of its own: the final image takes them away.
    assert any(
        words[0] == "uninstall" and {"setuptools", "wheel"} <= set(words) and {"-y", "--yes"} & set(words)
        for words in commands
    ), commands
    assert ["install", "--no-compile", "--require-hashes", "-r", "requirements.lock"] in commands
    assert not any("requirements-build.lock" in what_pip_installs(words)[1] for words in commands)
    assert any(name == "COPY" and arguments.startswith("--from=") for name, arguments in runtime)


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
    froms = [arguments for stage in stages() for name, arguments in stage if name == "FROM"]
    assert froms and all(re.fullmatch(r"\$\{BASE_IMAGE\}( AS \w+)?", image) for image in froms), froms


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
    from bot.cli import EXIT_CONFIG, EXIT_DISCORD

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
