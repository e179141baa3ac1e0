-- The upload log of the sync-only bot.
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id INTEGER NOT NULL,
    application_id INTEGER NOT NULL,
    interaction_token TEXT NOT NULL,
    token_expires_at REAL NOT NULL,
    user_id INTEGER NOT NULL,
    guild_id INTEGER,
    channel_id INTEGER,
    source_kind TEXT NOT NULL,
    label TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
    clip_id TEXT,
    error_kind TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX uploads_by_user ON uploads (user_id, id DESC);
