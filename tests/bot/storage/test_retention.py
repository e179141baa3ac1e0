"""The store contract for keeping data only as long as it is needed: pruning old uploads, erasing spent
tokens and secrets, and deleting a member's history. Written against `UploadStore`, so that every backend
runs the same tests; time is the store's clock, moved by the test."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot.domain.errors import ErrorKind
from bot.domain.ports import UploadStore
from bot.domain.records import ERASED_TOKEN, SourceKind, UploadRecord, UploadState
from bot.storage.postgres import PostgresUploadStore
from bot.storage.sqlite import SQLiteUploadStore, migrate
from tests.support.postgres import PostgresServer

MEMBER = 7
OTHER = 8
DAY = 86400.0
START = 1_800_000_000.0


class Clock:
    """The store's notion of now, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> AsyncIterator[UploadStore]:
    opened: UploadStore
    if request.param == "sqlite":
        db = await aiosqlite.connect(tmp_path / "log.db", isolation_level=None)
        db.row_factory = aiosqlite.Row
        await migrate(db)
        opened = SQLiteUploadStore(db, clock)
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        opened = await PostgresUploadStore.open(await server.new_database(), clock)
    yield opened
    await opened.close()


def upload(
    interaction_id: int,
    *,
    user_id: int = MEMBER,
    position: int = 0,
    batch_size: int = 1,
    token_expires_at: float = START + 900,
    callback_token: str | None = None,
) -> UploadRecord:
    return UploadRecord(
        interaction_id=interaction_id, application_id=1, interaction_token=f"token-{interaction_id}",
        token_expires_at=token_expires_at, user_id=user_id, guild_id=None, channel_id=None, locale="en-US",
        source_kind=SourceKind.LINK, label=f"a.example.com/{interaction_id}-{position}.mp3",
        position=position, batch_size=batch_size, callback_token=callback_token,
    )  # fmt: skip


async def finished(store: UploadStore, record: UploadRecord, clip_id: str = "clip") -> UploadRecord:
    added = await store.add(record)
    assert await store.finish(added.key, clip_id=clip_id)
    return added


async def interactions(store: UploadStore, *ids: int) -> dict[int, list[UploadRecord]]:
    return {i: await store.by_interaction(i) for i in ids}


# ---------------------------------------------------------------------------------------------
# prune
# ---------------------------------------------------------------------------------------------


async def test_prune_removes_uploads_finished_before_the_cutoff_and_keeps_the_rest(
    store: UploadStore, clock: Clock
) -> None:
    await finished(store, upload(1))  # finished at START
    clock.now = START + 10 * DAY
    await finished(store, upload(2))  # finished ten days later
    await store.add(upload(3))  # still in progress, started then
    removed = await store.prune(START + 5 * DAY)
    left = await interactions(store, 1, 2, 3)
    assert removed == 1
    assert left[1] == []
    assert [r.state for r in left[2]] == [UploadState.SUCCEEDED]
    assert [r.state for r in left[3]] == [UploadState.PENDING]


async def test_prune_counts_from_the_finish_not_the_start(store: UploadStore, clock: Clock) -> None:
    started = await store.add(upload(1))
    clock.now = START + 3 * DAY
    assert await store.finish(started.key, error_kind=ErrorKind.TIMED_OUT)
    assert await store.prune(START + 2 * DAY) == 0
    assert await store.prune(START + 4 * DAY) == 1


async def test_prune_never_removes_an_upload_in_progress_however_old(
    store: UploadStore, clock: Clock
) -> None:
    await store.add(upload(1))
    assert await store.prune(START + 1000 * DAY) == 0
    assert [r.state for r in await store.by_interaction(1)] == [UploadState.PENDING]


async def test_prune_keeps_every_file_of_a_message_while_one_is_in_progress_or_recent(
    store: UploadStore, clock: Clock
) -> None:
    # Interaction 1: three files, one still at MusicAPI. Interaction 2: two files, one finished late.
    old_done = await finished(store, upload(1, position=0, batch_size=3))
    await finished(store, upload(1, position=1, batch_size=3))
    await store.add(upload(1, position=2, batch_size=3))
    await finished(store, upload(2, position=0, batch_size=2))
    late = await store.add(upload(2, position=1, batch_size=2))
    clock.now = START + 10 * DAY
    assert await store.finish(late.key, clip_id="late")
    assert await store.prune(START + 5 * DAY) == 0
    left = await interactions(store, 1, 2)
    assert [r.position for r in left[1]] == [0, 1, 2] and left[1][0].id == old_done.id
    assert [r.position for r in left[2]] == [0, 1]
    # Once the whole message is past the cutoff, it goes as a whole.
    assert await store.prune(START + 11 * DAY) == 2
    assert (await interactions(store, 2))[2] == []


async def test_prune_is_idempotent_and_safe_to_run_at_once(store: UploadStore, clock: Clock) -> None:
    for i in range(20):
        await finished(store, upload(i))
    counts = await asyncio.gather(*(store.prune(START + 1) for _ in range(3)))
    assert sum(counts) == 20
    assert await store.prune(START + 1) == 0
    assert await store.history(MEMBER, limit=50) == []


# ---------------------------------------------------------------------------------------------
# erase_spent_secrets
# ---------------------------------------------------------------------------------------------


async def test_a_token_is_erased_once_it_expired_even_while_the_upload_is_in_progress(
    store: UploadStore,
) -> None:
    pending = await store.add(upload(1, token_expires_at=START + 900, callback_token="secret-1"))
    assert await store.erase_spent_secrets(START + 899) == 0
    assert await store.erase_spent_secrets(START + 900) == 1
    got = await store.get(pending.key)
    assert got is not None
    assert got.interaction_token == ERASED_TOKEN
    assert got.callback_token == "secret-1", "a pending upload's callback still needs its secret"
    assert got.state is UploadState.PENDING


async def test_a_token_is_erased_once_its_answer_was_shown(store: UploadStore) -> None:
    done = await finished(store, upload(1))
    other = await finished(store, upload(2))
    assert await store.erase_spent_secrets(START) == 0, "an answer not shown yet needs its token"
    await store.mark_delivered(done.interaction_id)
    assert await store.erase_spent_secrets(START) == 1
    got, kept = await store.get(done.key), await store.get(other.key)
    assert got is not None and got.interaction_token == ERASED_TOKEN and got.clip_id == "clip"
    assert kept is not None and kept.interaction_token == "token-2"


async def test_a_callback_secret_is_erased_once_its_upload_finished(store: UploadStore) -> None:
    pending = await store.add(upload(1, callback_token="secret-1"))
    done = await finished(store, upload(2, callback_token="secret-2"))
    assert await store.erase_spent_secrets(START) == 1
    got_pending, got_done = await store.get(pending.key), await store.get(done.key)
    assert got_pending is not None and got_pending.callback_token == "secret-1"
    assert got_done is not None and got_done.callback_token is None
    assert got_done.interaction_token == "token-2", "its answer is not shown yet and the token is valid"


async def test_erasing_everything_at_once_and_again_changes_nothing_more(store: UploadStore) -> None:
    rows = [await finished(store, upload(i, callback_token=f"secret-{i}")) for i in range(10)]
    for r in rows:
        await store.mark_delivered(r.interaction_id)
    counts = await asyncio.gather(*(store.erase_spent_secrets(START) for _ in range(3)))
    assert sum(counts) == 10
    assert await store.erase_spent_secrets(START + DAY) == 0
    for r in await store.history(MEMBER, limit=20):
        assert (r.interaction_token, r.callback_token) == (ERASED_TOKEN, None)
        assert r.clip_id == "clip" and r.delivered and r.state is UploadState.SUCCEEDED


async def test_erasing_leaves_the_finish_time_alone(store: UploadStore, clock: Clock) -> None:
    """Pruning and the redelivery of unshown answers count from `updated_at`: erasing must not move it."""
    done = await finished(store, upload(1, callback_token="s"))
    clock.now = START + DAY
    assert await store.erase_spent_secrets(clock.now) == 1
    got = await store.get(done.key)
    assert got is not None and got.updated_at == START


# ---------------------------------------------------------------------------------------------
# forget_member
# ---------------------------------------------------------------------------------------------


async def test_forget_member_deletes_the_members_finished_uploads_only(store: UploadStore) -> None:
    for i in range(3):
        await finished(store, upload(i))
    in_progress = await store.add(upload(10))
    theirs = await finished(store, upload(20, user_id=OTHER))
    assert await store.forget_member(MEMBER) == 3
    assert [r.id for r in await store.history(MEMBER, limit=10)] == [in_progress.id]
    assert [r.id for r in await store.history(OTHER, limit=10)] == [theirs.id]


async def test_forget_member_keeps_a_whole_message_while_one_of_its_files_is_in_progress(
    store: UploadStore,
) -> None:
    await finished(store, upload(1, position=0, batch_size=2))
    late = await store.add(upload(1, position=1, batch_size=2))
    skipped = dataclasses.replace(
        upload(2, position=0, batch_size=1), state=UploadState.FAILED, skip_reason="not_audio"
    )
    await store.add(skipped)
    assert await store.forget_member(MEMBER) == 1  # the skipped file's message is finished
    assert [r.position for r in await store.by_interaction(1)] == [0, 1]
    # Once the last file finishes, the next request deletes the message as a whole.
    assert await store.finish(late.key, clip_id="late")
    assert await store.forget_member(MEMBER) == 2
    assert await store.history(MEMBER, limit=10) == []


async def test_forget_member_is_idempotent(store: UploadStore) -> None:
    await finished(store, upload(1))
    counts = await asyncio.gather(store.forget_member(MEMBER), store.forget_member(MEMBER))
    assert sorted(counts) == [0, 1]
    assert await store.forget_member(MEMBER) == 0
    assert await store.forget_member(12345) == 0
