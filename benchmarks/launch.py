"""Run a bot for the benchmark, counting what it asks of its threads, and marking the burst on SIGUSR1.

    python benchmarks/launch.py ours|minimal   (env: FAKE_DISCORD_URL, BENCH_MARKS_OUT, ...)

Counted from startup on: the calls into the upload store (`open_store`'s store, by method); the
statements the store runs, by first word (INSERT, UPDATE, BEGIN, ...): SQLite's as every connection
opened with `sqlite3.connect` is given them, PostgreSQL's through asyncpg's connection methods; and the
wake-ups of the event loop from another thread (`call_soon_threadsafe`: how a store's worker thread or
an executor hands a result back to the loop; one per trip through a thread). Each SIGUSR1 appends one
line of JSON to BENCH_MARKS_OUT: the counts so far, and a label for each live thread by its native id
("store" for a store's worker thread, "executor" for asyncio's default executor, or the thread's name),
so that the benchmark can put the CPU time it reads from /proc/<pid>/task/<tid> under a name. With
BENCH_OPCODES, the opcodes the event loop's thread executes between the first two marks are counted,
by function, into that file (benchmarks/common/opcodes.py).

BENCH_LOOP=asyncio or uvloop runs the bot on that event loop (by default our bot runs on uvloop where it
is installed, as it would anywhere, and the minimal bot on asyncio's, as written): set for a whole run of
the benchmark, it puts both bots on the same loop.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import os
import runpy
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

# Only what each bot would import anyway is imported here (sqlite3 for ours),
# so that the wrapper adds no memory of its own to the minimal bot's.

ROOT = Path(__file__).resolve().parents[1]

statements: Counter[str] = Counter()
store_calls: Counter[str] = Counter()
wakeups = [0]
marks = [0]
#: Garbage collections so far, by generation: [how many, seconds spent in them] (all threads).
collections: dict[int, list[float]] = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}
_collecting: list[float] = []


def _count_statement(sql: str) -> None:
    statements[sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"] += 1


def _trace_sqlite() -> None:
    """Every connection `sqlite3.connect` opens from now on counts the statements it is given, by the text
    it is given. (SQLite's trace callback would do it too, but Python's sqlite3 hands it each statement
    expanded with its parameters: a multi-row INSERT written out in full, on the store's thread, at a
    cost that fell on the bot being measured.)"""
    import sqlite3

    class CountingCursor(sqlite3.Cursor):
        def execute(self, sql: str, parameters: Any = (), /) -> CountingCursor:
            _count_statement(sql)
            return super().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> CountingCursor:
            _count_statement(sql)
            return super().executemany(sql, parameters)

        def executescript(self, script: str, /) -> CountingCursor:
            _count_statement(script)
            return super().executescript(script)

    class CountingConnection(sqlite3.Connection):
        """Its own `execute` and its cursors' count; sqlite3's `Connection.execute` runs the statement on
        a cursor of `cursor()` without calling that cursor's `execute`, so nothing counts twice."""

        def cursor(self, factory: Any = CountingCursor) -> Any:
            return super().cursor(factory)

        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            _count_statement(sql)
            return super().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
            _count_statement(sql)
            return super().executemany(sql, parameters)

        def executescript(self, script: str, /) -> sqlite3.Cursor:
            _count_statement(script)
            return super().executescript(script)

    connect = sqlite3.connect

    def counting_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", CountingConnection)
        connection: sqlite3.Connection = connect(*args, **kwargs)
        return connection

    sqlite3.connect = counting_connect  # type: ignore[assignment]


_call_soon_threadsafe = asyncio.BaseEventLoop.call_soon_threadsafe


def _counted_call_soon_threadsafe(self: asyncio.BaseEventLoop, *args: Any, **kwargs: Any) -> Any:
    wakeups[0] += 1
    return _call_soon_threadsafe(self, *args, **kwargs)


asyncio.BaseEventLoop.call_soon_threadsafe = _counted_call_soon_threadsafe  # type: ignore[method-assign,assignment]


def _count_uvloop_wakeups() -> None:
    """uvloop's loop (where it is installed) counts its wake-ups from another thread too."""
    try:
        import uvloop
    except ImportError:
        return
    call = uvloop.Loop.call_soon_threadsafe

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        wakeups[0] += 1
        return call(self, *args, **kwargs)

    uvloop.Loop.call_soon_threadsafe = counted  # type: ignore[method-assign]


def _choose_loop(which: str) -> str:
    """The loop the bot runs on: BENCH_LOOP's, else its own (uvloop for ours, asyncio's for the
    minimal bot as written)."""
    loop = os.environ.get("BENCH_LOOP", "") or ("uvloop" if which == "ours" else "asyncio")
    if loop not in ("asyncio", "uvloop"):
        raise SystemExit(f"BENCH_LOOP={loop}: asyncio or uvloop")
    if which == "ours":
        os.environ["EVENT_LOOP"] = loop  # the bot's own setting
    elif loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return loop


def _trace_asyncpg() -> None:
    """Every query asyncpg sends through a connection's public methods counts (a pool's included)."""
    from asyncpg.connection import Connection

    def counted(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if query == self.get_reset_query():
                statements["RESET (the pool's, on release)"] += 1
            else:
                _count_statement(query)
            return method(self, query, *args, **kwargs)

        return call

    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        setattr(Connection, name, counted(getattr(Connection, name)))


def _time_collections(phase: str, info: dict[str, int]) -> None:
    """gc.callbacks: the time each collection takes, by generation (a collection runs on whichever
    thread allocated past the threshold, and holds the GIL throughout)."""
    if phase == "start":
        _collecting.append(time.perf_counter())
    elif _collecting:
        spent = collections[info["generation"]]
        spent[0] += 1
        spent[1] += time.perf_counter() - _collecting.pop()


gc.callbacks.append(_time_collections)


def _counted_store(open_store: Callable[[str], Any]) -> Callable[[str], Any]:
    """`open_store`, its store counting each call of its public coroutine methods."""
    import inspect

    @functools.wraps(open_store)
    async def counted(url: str) -> Any:
        store = await open_store(url)
        for name, method in inspect.getmembers(store, inspect.iscoroutinefunction):
            if not name.startswith("_"):
                setattr(store, name, _counted_call(name, method))
        return store

    return counted


def _counted_call(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        store_calls[name] += 1
        return method(*args, **kwargs)

    return call


def thread_label(thread: threading.Thread) -> str:
    name = thread.name
    if thread is threading.main_thread():
        return "event loop"
    if "_connection_worker_thread" in name or name.startswith("store"):
        return "store"
    if name.startswith("asyncio_"):
        return "executor"
    if name.startswith("keep-alive-handler"):
        return "gateway keep-alive"
    return name


def _mark(signum: int, frame: FrameType | None) -> None:
    marks[0] += 1
    counting = os.environ.get("BENCH_OPCODES")
    if counting and _opcodes and _opcodes[0].running:  # the second mark: before anything more runs
        _opcodes[0].stop()
        _opcodes[0].write(Path(counting))
    line = {
        "mark": marks[0],
        "statements": dict(statements),
        "store_calls": dict(store_calls),
        "wakeups": wakeups[0],
        "gc": {str(generation): spent for generation, spent in collections.items()},
        "threads": {str(t.native_id): thread_label(t) for t in threading.enumerate() if t.native_id},
    }
    with open(os.environ["BENCH_MARKS_OUT"], "a") as out:
        out.write(json.dumps(line) + "\n")
    if counting and not _opcodes:  # the first mark: from here on
        _start_counting_opcodes()


_opcodes: list[Any] = []


def _start_counting_opcodes() -> None:
    """Count the opcodes this thread executes from now on, by function (benchmarks/common/opcodes.py),
    until the next mark, which writes them to BENCH_OPCODES."""
    from benchmarks.common.opcodes import OpcodeCount  # only when asked: no memory of its own otherwise

    _opcodes.append(OpcodeCount(skip=__file__))
    _opcodes[0].start()


signal.signal(signal.SIGUSR1, _mark)
if os.environ.get("BENCH_CPU"):  # before any thread starts: every thread of the bot stays on these cores
    os.sched_setaffinity(0, {int(cpu) for cpu in os.environ["BENCH_CPU"].split(",")})

which = sys.argv[1]
sys.argv = sys.argv[1:]
if _choose_loop(which) == "uvloop":
    _count_uvloop_wakeups()  # only where the bot imports uvloop anyway
if which == "ours":
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        _trace_asyncpg()
    else:
        _trace_sqlite()
    import bot.storage

    bot.storage.open_store = _counted_store(bot.storage.open_store)  # type: ignore[assignment]
    runpy.run_path(str(ROOT / "tests" / "support" / "launch_bot.py"), run_name="__main__")
else:
    if os.environ.get("BENCH_DURABLE_DB"):
        _trace_sqlite()
    runpy.run_path(str(ROOT / "benchmarks" / "minimal_bot.py"), run_name="__main__")
