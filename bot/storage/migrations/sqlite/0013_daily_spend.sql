-- The whole bot's spend per UTC day (TOTAL_DAILY_CREDITS): credits reserved by uploads and follow-ups
-- across servers, DMs and instances; one row per day, changed in place by one atomic statement.
CREATE TABLE daily_spend (
    day TEXT PRIMARY KEY,
    credits INTEGER NOT NULL CHECK (credits >= 0),
    -- What the last reservation added: how its statement says which of a burst's reservations it took.
    last_added INTEGER NOT NULL DEFAULT 0
);
