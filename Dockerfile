FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 10001 bot
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install --no-compile . && mkdir -p /app/data && chown bot:bot /app/data

USER bot
# The upload log lives here: mount a volume to keep it across container restarts.
VOLUME ["/app/data"]
# The callback server (used only when PUBLIC_URL is set).
EXPOSE 8080
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
