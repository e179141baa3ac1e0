-- The whole bot's spend per UTC day (TOTAL_DAILY_CREDITS): credits reserved by uploads and follow-ups
-- across servers, DMs and instances; one row per day, changed in place by one atomic statement.
CREATE TABLE daily_spend (
    day TEXT PRIMARY KEY,
    credits INTEGER NOT NULL CHECK (credits >= 0)
);
