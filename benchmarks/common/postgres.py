"""A PostgreSQL server for the run (as the tests start one), and its CPU time."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.common.sampling import read_tree_cpu_seconds
from tests.support.postgres import PostgresServer, running_server

postgres_server = running_server


def server_cpu(server: PostgresServer) -> Callable[[], float]:
    """A CPU counter (seconds) of the PostgreSQL server: the postmaster and its backends."""
    pid = int((server.data / "postmaster.pid").read_text().split()[0])
    return lambda: read_tree_cpu_seconds(pid)
