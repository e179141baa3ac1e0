-- The whole bot's spend per UTC day (TOTAL_DAILY_CREDITS), as SQLite's 0007: one row per day, changed
-- in place by one atomic statement, shared by every instance.
CREATE TABLE daily_spend (
    day TEXT PRIMARY KEY,
    credits BIGINT NOT NULL CHECK (credits >= 0)
);
