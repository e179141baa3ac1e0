FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --gid 10001 bot && useradd --uid 10001 --gid 10001 --create-home --no-log-init bot
WORKDIR /app

# The exact versions the bot is tested with (requirements.lock), then the bot itself.
COPY requirements.lock ./
RUN pip install --no-compile --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install --no-compile --no-deps . && mkdir -p /app/data && chown 10001:10001 /app/data

USER 10001:10001
# The upload log lives here: mount a volume to keep it across container restarts.
VOLUME ["/app/data"]
# The web server (WEB_PORT): /healthz in every mode, MusicAPI's callbacks in callback mode.
EXPOSE 8080
# 200 from /healthz while the bot is connected to Discord and its upload log answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + (os.environ.get('WEB_PORT') or '8080') + '/healthz', timeout=4)"
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
