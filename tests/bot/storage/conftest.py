from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.ports import UploadStore
from bot.storage import open_store
from tests.support.postgres import PostgresServer


@pytest.fixture(params=["sqlite", "postgres"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """DATABASE_URL of an empty store, once for each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return await server.new_database()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[UploadStore]:
    opened = await open_store(store_url)
    yield opened
    await opened.close()
