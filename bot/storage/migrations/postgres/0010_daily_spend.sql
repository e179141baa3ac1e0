-- The whole bot's spend per UTC day (TOTAL_DAILY_CREDITS), as SQLite's 0013: one row per day, changed
-- in place by one atomic statement, shared by every instance.
CREATE TABLE daily_spend (
    day TEXT PRIMARY KEY,
    credits BIGINT NOT NULL CHECK (credits >= 0),
    -- What the last reservation added: how its statement says which of a burst's reservations it took.
    last_added BIGINT NOT NULL DEFAULT 0
);
