-- A skipped file keeps its reason as a code and its parameters as JSON; the sentence is made when shown.
ALTER TABLE uploads ADD COLUMN skip_reason TEXT;
ALTER TABLE uploads ADD COLUMN skip_params TEXT NOT NULL DEFAULT '{}';
-- Rows written before kept the sentence itself in error_detail, under the error kind 'skipped'.
UPDATE uploads SET skip_reason = 'sentence', error_kind = NULL WHERE error_kind = 'skipped';
