"""The store's migrations: numbered .sql files, applied in order, each in one transaction."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import aiosqlite
import asyncpg
import pytest

from bot.domain.followups.records import FollowUpState, Operation
from bot.domain.pace import Pace, UploadMode
from bot.domain.ports import AlreadyRecorded
from bot.domain.records import SourceKind, UploadRecord
from bot.domain.rendering import outcome
from bot.domain.texts import Texts
from bot.storage import StoreUnavailable, follow_up_store, open_store, sqlite
from bot.storage.migrations import Migration, migrations
from bot.storage.sqlite import SQLiteUploadStore, migrate
from tests.fakes.discord_api import USER_ID
from tests.support.postgres import PostgresServer

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
    assert version == len(migrations("sqlite")) == 14
    async with aiosqlite.connect(tmp_path / "new" / "bot.db") as db:
        tables = {row[0] for row in await (await db.execute("SELECT name FROM sqlite_master")).fetchall()}
    assert {
        "follow_ups",
        "follow_up_songs",
        "webhook_deliveries",
        "owner_alerts",
        "instances",
        "upload_paces",
    } <= tables
    assert {"callback_token", "task_id", "delivered", "locale", "position", "error_detail"} <= columns
    assert {"skip_reason", "skip_params"} <= columns
    assert {"instance", "next_poll_at", "retry_at"} <= columns


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
        undelivered = await store.claim_undelivered(settled_before=1e12, now=1e12, until=1e12)
    finally:
        await store.close()
    assert [(r.clip_id, r.state, r.delivered, r.locale) for r in history] == [
        (None, "pending", False, "en-US"),
        ("old-clip", "succeeded", True, "en-US"),
    ]
    assert undelivered == []


async def test_uploads_recorded_twice_before_keep_their_data_and_new_ones_are_recorded_once(
    tmp_path: Path,
) -> None:
    """A database where a redelivered interaction was recorded twice (before each one was carried out
    once) still upgrades; both rows stay, and the interaction cannot be recorded a third time."""
    path = tmp_path / "twice.db"
    async with aiosqlite.connect(path) as db:
        await db.executescript(migrations("sqlite")[0].sql + "PRAGMA user_version = 1;")
        await db.execute(V1_ROW, (11, USER_ID, "succeeded", "clip-a", 100.0, 100.0))
        await db.execute(V1_ROW, (11, USER_ID, "succeeded", "clip-b", 101.0, 101.0))
        await db.commit()
    store = await SQLiteUploadStore.open(path)
    try:
        kept = await store.by_interaction(11)
        again = UploadRecord(
            interaction_id=11, application_id=1, interaction_token="t", token_expires_at=0.0,
            user_id=USER_ID, guild_id=None, channel_id=None, locale="en-US", source_kind=SourceKind.LINK,
            label="a.example.com/x.mp3",
        )  # fmt: skip
        with pytest.raises(AlreadyRecorded):
            await store.add(again)
    finally:
        await store.close()
    assert sorted(r.clip_id or "" for r in kept) == ["clip-a", "clip-b"]


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
    good = migrations("sqlite")
    broken = [
        *good,
        Migration(len(good) + 1, "9999_broken.sql", "ALTER TABLE uploads ADD COLUMN x TEXT;\nNOT SQL;"),
    ]
    monkeypatch.setattr(sqlite, "migrations", lambda backend: broken)
    with pytest.raises(StoreUnavailable):
        await SQLiteUploadStore.open(tmp_path / "bot.db")
    async with aiosqlite.connect(tmp_path / "bot.db") as db:
        (version,) = await (await db.execute("PRAGMA user_version")).fetchone() or (0,)
        columns = {row[1] for row in await (await db.execute("PRAGMA table_info(uploads)")).fetchall()}
    assert version == len(good)
    assert "x" not in columns


def test_migration_files_are_numbered_without_gaps() -> None:
    for backend in ("sqlite", "postgres"):
        versions = [m.version for m in migrations(backend)]
        assert versions == list(range(1, len(versions) + 1)) and versions
    assert [m.version for m in migrations("sqlite")] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    assert [m.version for m in migrations("postgres")] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert all(m.name.endswith(".sql") and m.sql.strip() for m in migrations("sqlite"))


async def test_a_version_13_database_keeps_its_uploads_and_starts_with_no_measured_pace(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v13.db"
    async with aiosqlite.connect(path) as db:
        for step in migrations("sqlite")[:13]:
            await db.executescript(step.sql)
        await db.execute("PRAGMA user_version = 13")
        await db.execute(V1_ROW, (21, USER_ID, "succeeded", "kept-clip", 100.0, 100.0))
        await db.commit()
    store = await SQLiteUploadStore.open(path)
    try:
        before = await store.paces(measured_since=0.0)
        await store.leave("a", pace=Pace(3.5, UploadMode.SYNC, 200.0))
        after = await store.paces(measured_since=0.0)
        history = await store.history(USER_ID, limit=10)
    finally:
        await store.close()
    assert (before, after) == ([], [Pace(3.5, UploadMode.SYNC, 200.0)])
    assert [r.clip_id for r in history] == ["kept-clip"]


def test_a_gap_in_the_numbers_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "sqlite"
    folder.mkdir()
    (folder / "0001_first.sql").write_text("SELECT 1;")
    (folder / "0003_third.sql").write_text("SELECT 3;")
    with pytest.raises(RuntimeError, match="out of sequence"):
        migrations("sqlite", tmp_path)


async def test_postgresql_instances_starting_together_migrate_once(postgres_url: str) -> None:
    stores = await asyncio.gather(*(open_store(postgres_url) for _ in range(4)))
    try:
        conn = await asyncpg.connect(postgres_url)
        try:
            versions = [
                r["version"] for r in await conn.fetch("SELECT version FROM schema_version ORDER BY 1")
            ]
        finally:
            await conn.close()
        assert versions == [m.version for m in migrations("postgres")]
        added = await stores[0].add(record_for_migrations())
        assert (await stores[3].get(added.key)) is not None
    finally:
        for store in stores:
            await store.close()


async def test_a_newer_postgresql_database_is_refused(postgres_url: str) -> None:
    await (await open_store(postgres_url)).close()
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute(
            "INSERT INTO schema_version (version) VALUES ($1)", len(migrations("postgres")) + 1
        )
    finally:
        await conn.close()
    with pytest.raises(StoreUnavailable, match="newer than this bot"):
        await open_store(postgres_url)


async def test_an_unreachable_postgresql_server_is_reported_plainly(postgres_server: PostgresServer) -> None:
    url = postgres_server.url("no_such_database")
    with pytest.raises(StoreUnavailable, match="cannot reach the PostgreSQL server"):
        await open_store(url)


def record_for_migrations() -> UploadRecord:
    return UploadRecord(
        interaction_id=1, application_id=1, interaction_token="t", token_expires_at=time.time(), user_id=USER_ID,
        guild_id=None, channel_id=None, locale="en-US", source_kind=SourceKind.LINK, label="a.example.com/x.mp3",
    )  # fmt: skip


async def test_a_version_3_database_keeps_its_rows_and_its_tokens_until_they_are_spent(
    tmp_path: Path,
) -> None:
    """Migrations 4 and 5 change no row: tokens written before them are erased by the store once spent."""
    path = tmp_path / "v3.db"
    async with aiosqlite.connect(path) as db:
        for step in migrations("sqlite")[:3]:
            await db.executescript(step.sql)
        await db.execute("PRAGMA user_version = 3")
        await db.execute(V1_ROW, (14, USER_ID, "succeeded", "kept-clip", 100.0, 100.0))
        await db.execute("UPDATE uploads SET delivered = 1, callback_token = 'spent', token_expires_at = 9e9")
        await db.execute(V1_ROW, (15, USER_ID, "pending", None, 200.0, 200.0))
        await db.execute("UPDATE uploads SET callback_token = 'live', token_expires_at = 9e9 WHERE id = 2")
        await db.commit()
    store = await SQLiteUploadStore.open(path)
    try:
        before = await store.history(USER_ID, limit=10)
        erased = await store.erase_spent_secrets(1000.0)
        after = await store.history(USER_ID, limit=10)
    finally:
        await store.close()
    assert [(r.interaction_token, r.callback_token) for r in before] == [("tok", "live"), ("tok", "spent")]
    assert erased == 1
    assert [(r.interaction_token, r.callback_token, r.clip_id) for r in after] == [
        ("tok", "live", None),
        ("", None, "kept-clip"),
    ]


async def test_erasing_reads_only_the_rows_that_still_hold_a_token_or_a_secret(tmp_path: Path) -> None:
    """Housekeeping erases every minute: on a large upload log it must not read every row."""
    db = await aiosqlite.connect(tmp_path / "bot.db", isolation_level=None)
    await migrate(db)
    store = SQLiteUploadStore(db)
    statements: list[str] = []
    try:
        await db.set_trace_callback(statements.append)
        await store.erase_spent_secrets(1000.0)
        (update,) = [s for s in statements if s.lstrip().startswith("UPDATE uploads")]
        plan = [row[3] for row in await db.execute_fetchall(f"EXPLAIN QUERY PLAN {update}")]
    finally:
        await store.close()
    assert plan == ["SCAN uploads USING INDEX uploads_holding_secrets"]


async def test_a_postgresql_database_with_interactions_recorded_twice_upgrades(postgres_url: str) -> None:
    """Rows a redelivered interaction left twice before (uploads and a follow-up) stay; from then on an
    interaction is recorded once."""
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for step in migrations("postgres")[:3]:
            await conn.execute(step.sql)
            await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", step.version)
        for clip in ("clip-a", "clip-b"):
            await conn.execute(
                "INSERT INTO uploads (interaction_id, application_id, interaction_token, token_expires_at,"
                " user_id, source_kind, label, state, clip_id, created_at, updated_at)"
                " VALUES (21, 1, '', 0, $1, 'link', 'a.example.com/x.mp3', 'succeeded', $2, 1, 1)",
                USER_ID,
                clip,
            )
            await conn.execute(
                "INSERT INTO follow_ups (user_id, budget_guild, budget_day, application_id, interaction_id,"
                " interaction_token, token_expires_ms, locale, action, origin, source_id, source_clip_id,"
                " source_label, task_type, model, credits, created_ms, updated_ms, next_poll_ms)"
                " VALUES ($1, 0, '2026-11-24', 1, 22, '', 0, 'en-US', 'extend', 'upload', 1, $2, 'x', 't', 'm',"
                " 15, 1, 1, 1)",
                USER_ID,
                clip,
            )
    finally:
        await conn.close()
    store = await open_store(postgres_url)
    try:
        kept = await store.by_interaction(21)
        again = dataclasses.replace(record_for_migrations(), interaction_id=21)
        with pytest.raises(AlreadyRecorded):
            await store.add(again)
    finally:
        await store.close()
    assert sorted(r.clip_id or "" for r in kept) == ["clip-a", "clip-b"]
    conn = await asyncpg.connect(postgres_url)
    try:
        follow_ups = await conn.fetch("SELECT interaction_id FROM follow_ups ORDER BY id")
    finally:
        await conn.close()
    first, later = (r["interaction_id"] for r in follow_ups)
    assert first == 22 and later < 0  # the later copy steps aside, its data kept


async def test_a_version_6_database_keeps_its_follow_ups_and_takes_every_operation(tmp_path: Path) -> None:
    """Migration 9 copies the follow-ups into a table that no longer lists the operations; the copy keeps
    every index the table had, the one that records each interaction once included."""
    path = tmp_path / "v6.db"
    async with aiosqlite.connect(path) as db:
        for step in migrations("sqlite")[:6]:
            await db.executescript(step.sql)
        await db.execute("PRAGMA user_version = 6")
        await db.execute(
            "INSERT INTO follow_ups (user_id, budget_guild, budget_day, application_id, interaction_id,"
            " interaction_token, token_expires_ms, locale, action, origin, source_id, source_clip_id,"
            " source_label, task_type, model, credits, state, created_ms, updated_ms, next_poll_ms)"
            " VALUES (?, 0, '2026-11-24', 1, 2, '', 0, 'en-US', 'extend', 'upload', 1, 'clip', 'demo.mp3',"
            " 'extend_upload_music', 'sonic-v4-5', 15, 'succeeded', 1, 1, 1)",
            (USER_ID,),
        )
        await db.execute(
            "INSERT INTO follow_up_songs (follow_up_id, position, clip_id, title) VALUES (1, 0, 'song-1', 'A')"
        )
        await db.commit()
    store = await SQLiteUploadStore.open(path)
    try:
        follow_ups = follow_up_store(store)
        kept = await follow_ups.get(1)
        assert kept is not None and kept.action is Operation.EXTEND
        assert [s.clip_id for s in kept.songs] == ["song-1"]
        assert kept.songs[0].image_url is None
        new = dataclasses.replace(
            kept, id=None, interaction_id=3, action=Operation.ADD_VOCALS, state=FollowUpState.PENDING
        )
        stored = await follow_ups.reserve(
            new, day="2026-11-25", daily_budget=0, cooldown_since=time.time() + 1
        )
        assert stored is not None and stored.action is Operation.ADD_VOCALS and stored.key == 2
        with pytest.raises(AlreadyRecorded):
            await follow_ups.reserve(
                dataclasses.replace(new, interaction_id=2),
                day="2026-11-25",
                daily_budget=0,
                cooldown_since=time.time() + 1,
            )
    finally:
        await store.close()
    async with aiosqlite.connect(path) as db:
        rows = await db.execute_fetchall(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'follow_ups'"
        )
    indexes = {str(row[0]): str(row[1]) for row in rows}
    assert {"follow_ups_spend", "follow_ups_by_user", "follow_ups_due", "follow_ups_once"} <= set(indexes)
    assert indexes["follow_ups_once"].startswith("CREATE UNIQUE INDEX")
