"""The bot's configuration: environment variables validated once, at startup (`validation`, run apart)."""

from bot.config.settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError"]
