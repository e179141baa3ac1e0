"""Fetching the files MusicAPI's answers name, bounded in size, time, number at once and memory."""

from bot.media.downloader import Downloader

__all__ = ["Downloader"]
