-- The upload log, as SQLite's migrations 0001-0004 leave it, for several instances on one server.
CREATE TABLE uploads (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    interaction_id BIGINT NOT NULL,
    application_id BIGINT NOT NULL,
    interaction_token TEXT NOT NULL,
    token_expires_at DOUBLE PRECISION NOT NULL,
    user_id BIGINT NOT NULL,
    guild_id BIGINT,
    channel_id BIGINT,
    locale TEXT NOT NULL DEFAULT 'en-US',
    source_kind TEXT NOT NULL,
    label TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    batch_size INTEGER NOT NULL DEFAULT 1,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
    clip_id TEXT,
    task_id TEXT,
    error_kind TEXT,
    error_detail TEXT,
    skip_reason TEXT,
    skip_params TEXT NOT NULL DEFAULT '{}',
    callback_token TEXT,
    delivered BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    instance TEXT NOT NULL DEFAULT '',
    next_poll_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    retry_at DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX uploads_by_user ON uploads (user_id, id DESC);
CREATE INDEX uploads_by_interaction ON uploads (interaction_id, position);
CREATE INDEX uploads_pending ON uploads (state) WHERE state = 'pending';
CREATE INDEX uploads_pending_by_user ON uploads (user_id) WHERE state = 'pending';
CREATE INDEX uploads_undelivered ON uploads (updated_at) WHERE NOT delivered AND state != 'pending';
-- Each instance's heartbeat, and how many requests to MusicAPI it may have out at once (or has, if more).
CREATE TABLE instances (
    name TEXT PRIMARY KEY,
    seen_at DOUBLE PRECISION NOT NULL,
    holding INTEGER NOT NULL DEFAULT 0
);
