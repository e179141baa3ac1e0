"""The store's migrations: numbered .sql files, applied in order, each in one transaction."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest

from bot.domain.rendering import outcome
from bot.domain.texts import Texts
from bot.storage import StoreUnavailable, sqlite
from bot.storage.migrations import Migration, migrations
from bot.storage.sqlite import SQLiteUploadStore
from tests.fakes.discord_api import USER_ID

V1_ROW = (
    "INSERT INTO uploads (interaction_id, application_id, interaction_token, token_expires_at, user_id, guild_id,"
    " channel_id, source_kind, label, state, clip_id, error_kind, created_at, updated_at)"
    " VALUES (?, 1, 'tok', 0, ?, NULL, NULL, 'link', 'a.example.com/x.mp3', ?, ?, NULL, ?, ?)"
)


async def test_migrations_create_the_schema_on_an_empty_file(tmp_path: Path) -> None:
    store = await SQLiteUploadStore.open(tmp_path / "new" / "bot.db")
    await store.close()
    async with aiosqlite.connect(tmp_path / "new" / "bot.db") as db:
        (version,) = await (await db.execute("PRAGMA user_version")).fetchone() or (0,)
        columns = {row[1] for row in await (await db.execute("PRAGMA table_info(uploads)")).fetchall()}
    assert version == len(migrations("sqlite")) == 4
    async with aiosqlite.connect(tmp_path / "new" / "bot.db") as db:
        tables = {row[0] for row in await (await db.execute("SELECT name FROM sqlite_master")).fetchall()}
    assert {"follow_ups", "follow_up_songs", "webhook_deliveries", "owner_alerts"} <= tables
    assert {"callback_token", "task_id", "delivered", "locale", "position", "error_detail"} <= columns
    assert {"skip_reason", "skip_params"} <= columns


async def test_migrations_upgrade_a_version_1_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with aiosqlite.connect(path) as db:
        await db.executescript(migrations("sqlite")[0].sql + "PRAGMA user_version = 1;")
        await db.execute(V1_ROW, (11, USER_ID, "succeeded", "old-clip", 100.0, 100.0))
        await db.execute(V1_ROW, (12, USER_ID, "pending", None, 200.0, 200.0))
        await db.commit()
    store = await SQLiteUploadStore.open(path)
    try:
        history = await store.history(USER_ID, limit=10)
        undelivered = await store.undelivered()
    finally:
        await store.close()
    assert [(r.clip_id, r.state, r.delivered, r.locale) for r in history] == [
        (None, "pending", False, "en-US"),
        ("old-clip", "succeeded", True, "en-US"),
    ]
    assert undelivered == []


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    async with aiosqlite.connect(path) as db:
        await db.execute(f"PRAGMA user_version = {len(migrations('sqlite')) + 1}")
        await db.commit()
    with pytest.raises(StoreUnavailable, match="newer than this bot"):
        await SQLiteUploadStore.open(path)


async def test_a_version_2_skipped_file_keeps_its_sentence(tmp_path: Path) -> None:
    """Before reasons were stored as codes, a skipped file kept its sentence: it is still shown."""
    path = tmp_path / "v2.db"
    async with aiosqlite.connect(path) as db:
        for step in migrations("sqlite")[:2]:
            await db.executescript(step.sql)
        await db.execute("PRAGMA user_version = 2")
        await db.execute(V1_ROW, (13, USER_ID, "failed", None, 300.0, 300.0))
        await db.execute("UPDATE uploads SET error_kind = 'skipped', error_detail = 'x.txt is not audio.'")
        await db.commit()
    store = await SQLiteUploadStore.open(path)
    try:
        (record,) = await store.history(USER_ID, limit=1)
    finally:
        await store.close()
    assert (record.error_kind, record.skip_reason, record.skip_params) == (None, "sentence", {})
    assert outcome(Texts("en-US"), record) == "x.txt is not audio."


async def test_a_failing_migration_leaves_the_schema_where_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    newest = len(migrations("sqlite"))
    broken = [
        *migrations("sqlite"),
        Migration(
            newest + 1, f"{newest + 1:04d}_broken.sql", "ALTER TABLE uploads ADD COLUMN x TEXT;\nNOT SQL;"
        ),
    ]
    monkeypatch.setattr(sqlite, "migrations", lambda backend: broken)
    with pytest.raises(StoreUnavailable):
        await SQLiteUploadStore.open(tmp_path / "bot.db")
    async with aiosqlite.connect(tmp_path / "bot.db") as db:
        (version,) = await (await db.execute("PRAGMA user_version")).fetchone() or (0,)
        columns = {row[1] for row in await (await db.execute("PRAGMA table_info(uploads)")).fetchall()}
    assert version == newest
    assert "x" not in columns


def test_migration_files_are_numbered_without_gaps() -> None:
    assert [m.version for m in migrations("sqlite")] == [1, 2, 3, 4]
    assert all(m.name.endswith(".sql") and m.sql.strip() for m in migrations("sqlite"))


def test_a_gap_in_the_numbers_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "sqlite"
    folder.mkdir()
    (folder / "0001_first.sql").write_text("SELECT 1;")
    (folder / "0003_third.sql").write_text("SELECT 3;")
    with pytest.raises(RuntimeError, match="out of sequence"):
        migrations("sqlite", tmp_path)
