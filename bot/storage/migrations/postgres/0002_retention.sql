-- Data kept only as long as it is needed (as SQLite's 0005): the rows that still hold an interaction
-- token or a callback secret, so that erasing the spent ones never reads the whole upload log.
CREATE INDEX uploads_holding_secrets ON uploads (token_expires_at)
    WHERE interaction_token <> '' OR callback_token IS NOT NULL;
