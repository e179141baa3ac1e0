from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.domain.ports import UploadStore
from bot.storage import open_store


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[UploadStore]:
    opened = await open_store(store_url)
    yield opened
    await opened.close()
