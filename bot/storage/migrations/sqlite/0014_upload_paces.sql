-- MusicAPI's measured pace (how long an upload request takes), one figure per instance, written with its
-- heartbeat: what a restarted instance, or one starting beside others, admits uploads by. A figure stays
-- when its instance stops; readers ignore one that is too old (bot/domain/pace.py).
CREATE TABLE upload_paces (
    instance TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    seconds REAL NOT NULL,
    measured_at REAL NOT NULL
);
