-- Follow-ups (Extend, Cover), as SQLite's 0006: times are integer unix milliseconds, `budget_day` the UTC
-- date the credits count against, `budget_guild` the server (0 outside any server).
CREATE TABLE follow_ups (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL,
    guild_id BIGINT,
    channel_id BIGINT,
    budget_guild BIGINT NOT NULL,
    budget_day TEXT NOT NULL,
    application_id BIGINT NOT NULL,
    interaction_id BIGINT NOT NULL,
    interaction_token TEXT NOT NULL,
    token_expires_ms BIGINT NOT NULL,
    locale TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('extend', 'cover')),
    origin TEXT NOT NULL CHECK (origin IN ('upload', 'song')),
    source_id BIGINT NOT NULL,
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
    delivered BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    next_poll_ms BIGINT NOT NULL,
    retry_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX follow_ups_spend ON follow_ups (budget_guild, budget_day);
CREATE INDEX follow_ups_by_user ON follow_ups (user_id, created_ms);
CREATE INDEX follow_ups_due ON follow_ups (state, next_poll_ms);

CREATE TABLE follow_up_songs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    follow_up_id BIGINT NOT NULL REFERENCES follow_ups (id),
    position INTEGER NOT NULL,
    clip_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    duration DOUBLE PRECISION,
    audio_url TEXT,
    tags TEXT NOT NULL DEFAULT '',
    UNIQUE (follow_up_id, position)
);

CREATE TABLE webhook_deliveries (
    webhook_id TEXT PRIMARY KEY,
    received_ms BIGINT NOT NULL
);

CREATE TABLE owner_alerts (
    name TEXT PRIMARY KEY,
    raised_ms BIGINT NOT NULL
);
