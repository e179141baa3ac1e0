"""A snippet of Python run in a fresh interpreter, for what a test must not do to its own process
(import the whole bot, change the garbage collector) or must see from a clean start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def probe(code: str, cwd: Path = ROOT) -> str:
    """What `code` printed, run by this interpreter in `cwd` with the project importable; a failure
    fails the test with the snippet's own error."""
    done = subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
