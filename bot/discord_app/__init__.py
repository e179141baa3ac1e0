"""The Discord side: the bot class, the answers it gives, and the helpers the cogs use."""
