-- The Discord message an upload's file came from (its link), for an upload from a message or a message
-- link, so that its answer points to it, now and after a restart. NULL for a file or a link.
ALTER TABLE uploads ADD COLUMN source_message TEXT;
