"""A Discord bot that uploads members' audio to MusicAPI and answers with the clip_id."""
