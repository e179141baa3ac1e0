"""Settings checked in a short process of their own, so that the running bot never imports pydantic.

pydantic-settings and pydantic's core hold about 10 MiB once imported, and a Python process does not
give that back. They are needed for one thing, at startup: checking the environment. The bot starts a
child on the same interpreter and the same module path, which runs `bot.config.validation.main`, and keeps
the plain values it answers with, as its own `Settings` (or `Problem`s).
"""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from bot.config.secret import SecretStr
from bot.config.settings import Problem, Settings, SettingsError

#: Seconds the checking process may take (well under one with compiled bytecode, about one without).
CHECK_TIMEOUT = 60.0

#: The child: `-P` keeps the working directory off its module path, which is then the bot's own, so that
#: it checks with the very `bot` package the bot runs (an answer in another version's fields would be
#: read into the wrong ones), and a `pickle.py` beside it is not what reads its input.
_CHILD = (
    "import pickle, sys\n"
    "path, env = pickle.load(sys.stdin.buffer)\n"
    "sys.path[:] = path\n"
    "from bot.config.validation import main\n"
    "main(env)\n"
)


class SettingsUnchecked(Exception):
    """The checking process gave no answer. `retryable`: it may at the next start (it was killed, timed
    out, or could not be started); otherwise it failed (pydantic-settings missing, say)."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(f"could not check the settings ({reason})")
        self.retryable = retryable


class _Answer(pickle.Unpickler):
    """Reads the child's answer: plain values (frozensets have an opcode of their own) and SecretStr,
    nothing that runs code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) != ("bot.config.secret", "SecretStr"):
            raise pickle.UnpicklingError(f"{module}.{name} is not part of an answer")
        return SecretStr


def read_answer(raw: bytes) -> Settings:
    """The child's answer as `Settings`; SettingsError with its problems; SettingsUnchecked when it is
    neither."""
    try:
        kind, body = _Answer(io.BytesIO(raw)).load()
        if kind == "settings":
            return Settings(**body)  # TypeError when a field is missing or unknown
        if kind != "problems":
            raise ValueError(kind)
        problems = [Problem(str(name), str(line)) for name, line in body]
    except Exception:  # unpickling junk raises any of a dozen types
        raise SettingsUnchecked("its answer was not settings") from None
    raise SettingsError(problems)


def load_settings_apart(env: Mapping[str, str], timeout: float = CHECK_TIMEOUT) -> Settings:
    """`bot.config.validation.load_settings(env)`, run in a child process. Raise SettingsError listing
    every problem, or SettingsUnchecked saying why there was no answer."""
    try:
        done = subprocess.run(  # noqa: S603 - this interpreter, this package's own module
            [sys.executable, "-P", "-c", _CHILD],
            input=pickle.dumps((list(sys.path), dict(env))),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SettingsUnchecked(f"it took over {timeout:g}s", retryable=True) from None
    except OSError as exc:
        raise SettingsUnchecked(
            f"it could not start: {exc.strerror or type(exc).__name__}", retryable=True
        ) from None
    if done.returncode < 0:
        raise SettingsUnchecked(f"it was killed by signal {-done.returncode}", retryable=True)
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise SettingsUnchecked(f"exit {done.returncode}: {last}")
    return read_answer(done.stdout)
