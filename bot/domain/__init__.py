"""The bot's domain: uploads, their sources and failures, and the words for them. No discord, no aiohttp."""
