-- Follow-ups are operations from the follow-up catalog (Add vocals, Remaster, ...), not only Extend and
-- Cover: the catalog decides which names exist, so the table no longer lists them. SQLite cannot drop a
-- CHECK constraint: the table is copied into one without it (song rows keep their ids and references).
-- Dropping the old table drops its indexes: each is made again below, the unique one on interaction_id
-- (each interaction is carried out once) included.
CREATE TABLE follow_ups_new (
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
    action TEXT NOT NULL,
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
INSERT INTO follow_ups_new (id, user_id, guild_id, channel_id, budget_guild, budget_day, application_id, interaction_id, interaction_token, token_expires_ms, locale, action, origin, source_id, source_clip_id, source_label, task_type, model, credits, state, task_id, callback_token, error_kind, error_detail, delivered, created_ms, updated_ms, next_poll_ms, retry_ms)
SELECT id, user_id, guild_id, channel_id, budget_guild, budget_day, application_id, interaction_id, interaction_token, token_expires_ms, locale, action, origin, source_id, source_clip_id, source_label, task_type, model, credits, state, task_id, callback_token, error_kind, error_detail, delivered, created_ms, updated_ms, next_poll_ms, retry_ms FROM follow_ups;
DROP TABLE follow_ups;
ALTER TABLE follow_ups_new RENAME TO follow_ups;
CREATE INDEX follow_ups_spend ON follow_ups (budget_guild, budget_day);
CREATE INDEX follow_ups_by_user ON follow_ups (user_id, created_ms);
CREATE INDEX follow_ups_due ON follow_ups (state, next_poll_ms);
CREATE UNIQUE INDEX follow_ups_once ON follow_ups (interaction_id);
