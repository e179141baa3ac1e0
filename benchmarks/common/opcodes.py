"""Counting the Python bytecode a bot executes during the measured burst, by function.

Callgrind says which C functions the instructions went to (the interpreter's loop, mostly); this says
which Python functions the interpreter was running. The count is exact and does not move with the
machine, so the difference between two bots, function by function, points at what a feature costs.
Tracing every opcode slows the bot down many times over: the figures are counts, never times.

`benchmarks/launch.py` counts between its first and second mark (the burst) when BENCH_OPCODES names a
file, and writes the counts there as JSON: `{"<file>:<first line>:<function>": opcodes}`. Only the
thread that handles the marks is traced: the event loop's (the store's thread runs SQLite's C code, and
its Python side is a small loop; CPU time per thread is in the sync scenario).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

#: Where a path's interesting part starts: the project's own files, the libraries, the standard library.
_TRIMMED = ("/site-packages/", "/lib/python3.")


def function_of(frame: FrameType) -> str:
    """`file:first line:function` of a frame's code, its path from the package on; a method generated at
    runtime (a dataclass's `__init__`) named by the class it is for (a named tuple's `__new__` shows as
    `<class>.<lambda>`)."""
    code = frame.f_code
    name = code.co_qualname
    if code.co_filename == "<string>":
        owner = frame.f_locals.get("self", frame.f_locals.get("_cls"))
        if owner is not None:
            name = f"{getattr(owner, '__name__', type(owner).__name__)}.{code.co_name}"
    return f"{short_path(code.co_filename)}:{code.co_firstlineno}:{name}"


def short_path(path: str) -> str:
    """A library's file from its package on (also from a virtualenv inside the checkout); the project's
    own from the checkout on."""
    for marker in _TRIMMED:
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker.startswith("/lib/") else tail
    root = str(Path(__file__).resolve().parents[2]) + "/"
    return path[len(root) :] if path.startswith(root) else path


class OpcodeCount:
    """Counts, while on, every opcode the calling thread executes, by the function executing it."""

    def __init__(self, skip: str = "") -> None:
        self.counts: Counter[str] = Counter()
        self.running = False
        self._previous: Any = None
        self._skip = skip  # a file whose code is not counted (the benchmark's own wrapper)
        self._names: dict[Any, str] = {}

    def _trace(self, frame: FrameType, event: str, arg: object) -> Any:
        if frame.f_code.co_filename == self._skip:
            return None
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            name = self._names.get(code) if code.co_filename != "<string>" else None
            if name is None:
                name = function_of(frame)
                if code.co_filename != "<string>":
                    self._names[code] = name
            self.counts[name] += 1
        return self._trace

    def start(self) -> None:
        self.running = True
        self._previous = sys.gettrace()  # a debugger's or coverage's, given back at the stop
        sys.settrace(self._trace)

    def stop(self) -> None:
        sys.settrace(self._previous)
        self.running = False

    def write(self, out: Path) -> None:
        out.write_text(json.dumps(dict(self.counts)))


def read_counts(out: Path) -> Counter[str]:
    return Counter(json.loads(out.read_text()))


def differences(
    ours: Counter[str], theirs: Counter[str], uploads: int, top: int
) -> list[tuple[str, float, float]]:
    """The `top` functions whose count grew most from `theirs` to `ours`: (function, opcodes per upload
    more, opcodes per upload in ours)."""
    grown = [
        (name, (ours[name] - theirs[name]) / uploads, ours[name] / uploads)
        for name in set(ours) | set(theirs)
    ]
    grown.sort(key=lambda row: (-row[1], row[0]))
    return grown[:top]
