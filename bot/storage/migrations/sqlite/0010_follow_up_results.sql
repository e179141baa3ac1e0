-- A follow-up's result when it is not songs: a link (WAV, MIDI with its instruments) or a value (BPM), as
-- JSON. Stems are kept as songs (one row per stem).
ALTER TABLE follow_ups ADD COLUMN result TEXT;
