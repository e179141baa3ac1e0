-- A song's cover art as MusicAPI named it, so that its result can show the image beside the audio.
ALTER TABLE follow_up_songs ADD COLUMN image_url TEXT;
