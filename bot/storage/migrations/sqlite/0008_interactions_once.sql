-- Each interaction is carried out once: a second delivery of it (a gateway resume, a shard handover, another
-- instance) cannot record its uploads or its follow-up again, so it starts nothing. Rows recorded twice
-- before this keep their data; the later copies step aside (a negative position or interaction id: the row's
-- own id, unique and never a real one).
UPDATE uploads SET position = -id
    WHERE id NOT IN (SELECT min(id) FROM uploads GROUP BY interaction_id, position);
DROP INDEX uploads_by_interaction;
CREATE UNIQUE INDEX uploads_once ON uploads (interaction_id, position);
UPDATE follow_ups SET interaction_id = -id
    WHERE id NOT IN (SELECT min(id) FROM follow_ups GROUP BY interaction_id);
CREATE UNIQUE INDEX follow_ups_once ON follow_ups (interaction_id);
