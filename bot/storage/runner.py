"""How a statement written once for both backends runs on one of them.

The tables beside the upload log (follow-ups, the day's spend) write each statement once, with
PostgreSQL's numbered placeholders (`$1`); SQLite reads them as its own numbered ones (`?1`). What differs
between the backends is how a statement runs, not what it says: a `Runner` is that difference
(`sqlite.SQLiteRunner`, `postgres.PostgresRunner`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from bot.storage.rows import Row


class Runner(Protocol):
    """How one backend runs a statement written with `$1` placeholders."""

    #: Appended to the sub-selects that claim rows: PostgreSQL's ` FOR UPDATE SKIP LOCKED`, or nothing.
    skip_locked: str
    #: A table of the elements of a JSON array (`{}`: the text holding it), in a column `value`:
    #: SQLite's `json_each({})`, PostgreSQL's `jsonb_array_elements_text(...)`. A batch given so is one
    #: statement text whatever its size, prepared once.
    json_values: str

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run it; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None: ...

    def serialized(self, *locks: tuple[int, str]) -> AbstractAsyncContextManager[Runner]:
        """A runner whose statements run as one step, apart from any other holding one of `locks`
        (taken in the order given) until the block ends."""
        ...
