"""The bot's web server: MusicAPI's callbacks and the health check."""

from bot.web.server import WebServer, WebServerUnavailable

__all__ = ["WebServer", "WebServerUnavailable"]
