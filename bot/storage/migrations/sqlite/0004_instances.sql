-- Several instances on one store: who sends each upload, who polls it next and when, and who is alive.
ALTER TABLE uploads ADD COLUMN instance TEXT NOT NULL DEFAULT '';
-- Claims: an overdue task is polled by the instance that moves next_poll_at past now; an unshown answer
-- is tried again by the one that moves retry_at. A claim left by a stopped instance lapses on its own.
ALTER TABLE uploads ADD COLUMN next_poll_at REAL NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN retry_at REAL NOT NULL DEFAULT 0;
CREATE INDEX uploads_undelivered ON uploads (updated_at) WHERE delivered = 0 AND state != 'pending';
CREATE INDEX uploads_pending_by_user ON uploads (user_id) WHERE state = 'pending';
-- Each instance's heartbeat, and how many requests to MusicAPI it may have out at once (or has, if more).
CREATE TABLE instances (
    name TEXT PRIMARY KEY,
    seen_at REAL NOT NULL,
    holding INTEGER NOT NULL DEFAULT 0
);
