"""A Discord bot that uploads members' audio to MusicAPI and answers with the clip_id."""

#: The bot's version: the package's too (pyproject.toml reads it from here), so that `--version` and the
#: first log line need no look-up of installed metadata (`importlib.metadata` and what it imports stay
#: out of the running bot).
__version__ = "0.1.0"
