-- Follow-ups (Extend, Cover) made from a clip_id, the songs they yield, webhook deliveries seen, and alerts
-- raised to the owner. Times are integer unix milliseconds; `budget_day` is the UTC date ('2026-11-24')
-- the follow-up's credits count against, `budget_guild` its server (0 outside any server).
CREATE TABLE follow_ups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    guild_id INTEGER,
    channel_id INTEGER,
    budget_guild INTEGER NOT NULL,
    budget_day TEXT NOT NULL,
    application_id INTEGER NOT NULL,
    interaction_id INTEGER NOT NULL,
    interaction_token TEXT NOT NULL,
    token_expires_ms INTEGER NOT NULL,
    locale TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('extend', 'cover')),
    origin TEXT NOT NULL CHECK (origin IN ('upload', 'song')),
    source_id INTEGER NOT NULL,
    source_clip_id TEXT NOT NULL,
    source_label TEXT NOT NULL,
    task_type TEXT NOT NULL,
    model TEXT NOT NULL,
    credits INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
    task_id TEXT,
    callback_token TEXT,
    error_kind TEXT,
    error_detail TEXT,
    delivered INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    next_poll_ms INTEGER NOT NULL,
    -- Until when an instance has claimed showing this result again (see the upload log's retry_at).
    retry_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX follow_ups_spend ON follow_ups (budget_guild, budget_day);
CREATE INDEX follow_ups_by_user ON follow_ups (user_id, created_ms);
CREATE INDEX follow_ups_due ON follow_ups (state, next_poll_ms);

CREATE TABLE follow_up_songs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    follow_up_id INTEGER NOT NULL REFERENCES follow_ups (id),
    position INTEGER NOT NULL,
    clip_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    duration REAL,
    audio_url TEXT,
    tags TEXT NOT NULL DEFAULT '',
    UNIQUE (follow_up_id, position)
);

CREATE TABLE webhook_deliveries (
    webhook_id TEXT PRIMARY KEY,
    received_ms INTEGER NOT NULL
);

CREATE TABLE owner_alerts (
    name TEXT PRIMARY KEY,
    raised_ms INTEGER NOT NULL
);
