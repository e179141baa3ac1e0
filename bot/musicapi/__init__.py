"""MusicAPI's HTTP client: requests, and the reading of its answers and callbacks."""

from bot.musicapi.client import MusicAPIClient
from bot.musicapi.parsing import error_for, parse_generation, parse_task

__all__ = ["MusicAPIClient", "error_for", "parse_generation", "parse_task"]
