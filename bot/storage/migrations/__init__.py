"""Schema migrations as numbered `.sql` files, one folder per backend (`NNNN_what_it_does.sql`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(backend: str, root: Traversable | None = None) -> list[Migration]:
    """The migrations of `backend` (a folder beside this module, or in `root`), in order; their numbers
    must run 1, 2, 3... without a gap."""
    folder = (root or resources.files(__package__)).joinpath(backend)
    found = sorted(
        (int(match[1]), entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if (match := _NAME.match(entry.name))
    )
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise RuntimeError(f"migration {name} is out of sequence (expected number {expected})")
    return [Migration(version, name, sql) for version, name, sql in found]
