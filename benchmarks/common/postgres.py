"""A PostgreSQL server for the run (as the tests start one), and its CPU time."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator

from benchmarks.common.sampling import read_tree_cpu_seconds
from tests.support.postgres import PostgresServer, start_server


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server (tests/support/postgres.py) for the run: stopped and removed at the end,
    even when the run fails."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


def server_cpu(server: PostgresServer) -> Callable[[], float]:
    """A CPU counter (seconds) of the PostgreSQL server: the postmaster and its backends."""
    pid = int((server.data / "postmaster.pid").read_text().split()[0])
    return lambda: read_tree_cpu_seconds(pid)
