-- Callback mode, several files per interaction, localized late answers.
ALTER TABLE uploads ADD COLUMN task_id TEXT;
ALTER TABLE uploads ADD COLUMN callback_token TEXT;
ALTER TABLE uploads ADD COLUMN error_detail TEXT;
ALTER TABLE uploads ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN batch_size INTEGER NOT NULL DEFAULT 1;
ALTER TABLE uploads ADD COLUMN locale TEXT NOT NULL DEFAULT 'en-US';
UPDATE uploads SET delivered = 1 WHERE state != 'pending';
CREATE INDEX uploads_by_interaction ON uploads (interaction_id, position);
CREATE INDEX uploads_pending ON uploads (state) WHERE state = 'pending';
