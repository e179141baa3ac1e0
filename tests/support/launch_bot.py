"""`python -m bot`, with discord.py pointed at the fake Discord named by FAKE_DISCORD_URL (tests only)."""

import os
import sys

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.__main__ import main

if os.environ.get("HIDE_UVLOOP"):  # as where uvloop is not built for the platform: the import fails
    sys.modules["uvloop"] = None  # type: ignore[assignment]
base = os.environ["FAKE_DISCORD_URL"]
Route.BASE = f"{base}/api/v10"
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base.replace("http", "ws") + "/gateway")
main()
