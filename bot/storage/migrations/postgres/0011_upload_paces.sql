-- MusicAPI's measured pace (how long an upload request takes), one figure per instance, as SQLite's 0014:
-- written with each instance's heartbeat, kept when it stops, ignored by readers once too old.
CREATE TABLE upload_paces (
    instance TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    seconds DOUBLE PRECISION NOT NULL,
    measured_at DOUBLE PRECISION NOT NULL
);
