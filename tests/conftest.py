from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.harness import Harness, make_harness
from tests.support.postgres import PostgresServer, running_server

# Property tests explore new examples on every run by default, and keep what fails in .hypothesis/ to try
# first next time. CI (HYPOTHESIS_PROFILE=ci, set by .ci/run) tries the same examples on every run
# instead, so that whether a commit lands does not depend on a draw (nor on how busy its machine is);
# the exploring is done here.
settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
if "HYPOTHESIS_PROFILE" in os.environ:
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with make_harness(tmp_path) as h:
        yield h


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session, started the first time a test needs it."""
    with running_server() as server:
        yield server


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> str:
    """DATABASE_URL of an empty database of this test's own."""
    return await postgres_server.new_database()


@pytest.fixture(params=["sqlite", "postgres"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """DATABASE_URL of an empty store, once for each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return await server.new_database()
