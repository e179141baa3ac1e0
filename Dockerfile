# The base image pinned by digest, so that a rebuild gets the same system underneath: python:3.11 on
# Debian bookworm, slim. The digest was read from public projects pinning the same tag; check it, and
# take a newer one (security updates), with
#   docker buildx imagetools inspect python:3.11-slim-bookworm --format '{{json .Manifest.Digest}}'
# then change it here, or build with --build-arg BASE_IMAGE=python:3.11-slim-bookworm@sha256:<digest>.
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

# Build stage: the bot as a wheel, built with the locked build backend (requirements-build.lock: the
# setuptools of pyproject.toml's [build-system], exact version, hashes). No build isolation, so pip
# fetches nothing else to build with; --check-build-dependencies stops the build if the locked backend
# no longer satisfies pyproject.toml. The backend stays in this stage; the final image removes the base's own.
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements-build.lock ./
RUN pip install --no-compile --require-hashes -r requirements-build.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip wheel --no-build-isolation --check-build-dependencies --no-deps --wheel-dir /wheels .

FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --gid 10001 bot && useradd --uid 10001 --gid 10001 --create-home --no-log-init bot
WORKDIR /app

# The exact versions the bot is tested with (requirements.lock), then the bot itself: the wheel built
# above, from this image's own files only (--no-index), nothing else (--no-deps). The base image's own
# setuptools and wheel go: nothing the bot runs needs them, and an old setuptools is what scanners flag.
COPY requirements.lock ./
RUN pip install --no-compile --require-hashes -r requirements.lock
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-compile --no-index --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels \
    && pip uninstall --yes setuptools wheel \
    && mkdir -p /app/data && chown 10001:10001 /app/data

USER 10001:10001
# The upload log lives here: mount a volume to keep it across container restarts.
VOLUME ["/app/data"]
# The web server (WEB_PORT): /healthz in every mode, MusicAPI's callbacks in callback mode. Inside the
# container it listens on every interface (WEB_HOST 0.0.0.0, the default); keep it private where it is
# published instead: `-p 127.0.0.1:8080:8080` (README, "With Docker").
EXPOSE 8080
# 200 from /healthz while the bot is connected to Discord and its upload log answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + (os.environ.get('WEB_PORT') or '8080') + '/healthz', timeout=4)"
# SIGTERM lets in-flight uploads finish and answers the rest (up to about 15 s): give the container
# more than Docker's default 10 s before SIGKILL (`docker run --stop-timeout 30`, compose's
# stop_grace_period: 30s).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
