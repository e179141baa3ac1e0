-- What Discord takes per file where a follow-up was asked for (the interaction's attachment_size_limit,
-- more in boosted servers), so that its result, arriving later, is held to it. NULL: not known (Discord's
-- default of 10 MiB then).
ALTER TABLE follow_ups ADD COLUMN attachment_limit BIGINT;
