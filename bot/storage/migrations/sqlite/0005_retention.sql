-- Data kept only as long as it is needed. An erased interaction token is stored as '' (the column stays
-- NOT NULL), an erased callback secret as NULL. This index holds only the rows that still keep either,
-- so erasing them never reads the whole upload log.
CREATE INDEX uploads_holding_secrets ON uploads (token_expires_at)
    WHERE interaction_token <> '' OR callback_token IS NOT NULL;
