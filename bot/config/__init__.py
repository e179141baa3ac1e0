"""The bot's configuration: environment variables validated once, at startup."""

from bot.config.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]
