-- Follow-ups are operations from the follow-up catalog (Add vocals, Remaster, ...), not only Extend and
-- Cover: the catalog decides which names exist, so the table no longer lists them.
ALTER TABLE follow_ups DROP CONSTRAINT IF EXISTS follow_ups_action_check;
