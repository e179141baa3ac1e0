"""Settings checked in a short process of their own, so that the running bot never imports pydantic.

pydantic-settings and pydantic's core take about 13 MiB once imported, and a Python process does not give
that back. They are needed for one thing, at startup: checking the environment. The bot starts
`python -m bot.config.validation`, hands it the variables, and keeps the plain `Settings` (or the list of
problems) it answers with. The answer comes through a pipe from the bot's own code, as a pickle.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Mapping

from bot.config.settings import Problem, Settings, SettingsError

#: Seconds the checking process may take (it takes well under one).
CHECK_TIMEOUT = 60.0


class SettingsUnchecked(Exception):
    """The checking process could not answer (pydantic-settings missing, the interpreter failing...)."""


def load_settings_apart(env: Mapping[str, str], timeout: float = CHECK_TIMEOUT) -> Settings:
    """`bot.config.validation.load_settings(env)`, run in a child process. Raise SettingsError listing
    every problem, or SettingsUnchecked with a line saying why there was no answer."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.config.validation"],
            input=pickle.dumps(dict(env)),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SettingsUnchecked(f"could not check the settings ({type(exc).__name__})") from None
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise SettingsUnchecked(f"could not check the settings (exit {done.returncode}: {last})")
    try:
        answer = pickle.loads(done.stdout)  # noqa: S301 - the bot's own checking process, through a pipe
    except Exception:  # unpickling junk raises any of a dozen types; each means no answer
        answer = None
    if isinstance(answer, Settings):
        return answer
    if isinstance(answer, list) and all(isinstance(p, Problem) for p in answer):
        raise SettingsError(answer)
    raise SettingsUnchecked("could not check the settings (an answer that is not settings)")
