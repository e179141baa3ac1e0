"""One bounded download: only URLs the policy allows (every redirect hop checked), at most `cap` bytes,
within a time limit, a few at once, spooled to a temporary file that is removed when it is closed."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from typing import BinaryIO
from urllib.parse import urljoin

import aiohttp

from bot.domain.media import Fetched, Miss, Missed, Wanted

log = logging.getLogger(__name__)

#: Redirects followed per download (each one checked against the policy before it is followed).
MAX_REDIRECTS = 3
#: Bytes read from the network at a time: what one download holds in memory.
CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Downloader:
    """Fetches files for attachments. `allowed(url)` is the URL policy (`domain.links.fetchable`);
    `timeout` bounds each download from its wait for a turn to its last byte; `concurrency` is how many
    run at once in this process."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        allowed: Callable[[str], bool],
        timeout: float,
        concurrency: int,
    ) -> None:
        self._session = session
        self._allowed = allowed
        self._timeout = timeout
        self._turns = asyncio.Semaphore(concurrency)

    @property
    def turns(self) -> asyncio.Semaphore:
        """The downloads at once (ATTACHMENT_DOWNLOADS): a member's own files take their turns here too."""
        return self._turns

    async def fetch(self, wanted: Wanted, cap: int) -> Fetched | Missed:
        """The file in full (at most `cap` bytes), or why not: never raises for what the far end does."""
        if not self._allowed(wanted.url):
            return Missed(wanted, Miss.REFUSED)
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
        try:
            async with asyncio.timeout(self._timeout), self._turns:
                outcome = await self._follow(wanted, cap, spool)
        except TimeoutError:
            outcome = Missed(wanted, Miss.TIMED_OUT)
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            log.info("could not fetch a file for an attachment (%s)", type(exc).__name__)
            outcome = Missed(wanted, Miss.UNAVAILABLE)
        except BaseException:
            spool.close()
            raise
        if isinstance(outcome, Missed):
            spool.close()
        return outcome

    async def _follow(self, wanted: Wanted, cap: int, spool: BinaryIO) -> Fetched | Missed:
        url = wanted.url
        for _ in range(MAX_REDIRECTS + 1):
            async with self._session.get(
                url, allow_redirects=False, auto_decompress=False, headers={"Accept-Encoding": "identity"}
            ) as resp:
                if resp.status in _REDIRECTS:
                    target = urljoin(url, resp.headers.get("Location", ""))
                    if not self._allowed(target):
                        log.info("a file's redirect leads where the bot does not fetch from: not followed")
                        return Missed(wanted, Miss.REFUSED)
                    url = target
                    continue
                if resp.status != 200:
                    return Missed(wanted, Miss.UNAVAILABLE)
                return await _read(wanted, resp, cap, spool)
        return Missed(wanted, Miss.UNAVAILABLE)


async def _read(wanted: Wanted, resp: aiohttp.ClientResponse, cap: int, spool: BinaryIO) -> Fetched | Missed:
    """The body into `spool`, refused when it declares more than `cap` and cut off once it runs past it."""
    declared = resp.content_length
    if declared is not None and declared > cap:
        return Missed(wanted, Miss.TOO_LARGE, declared)
    size = 0
    async for chunk in resp.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > cap:
            return Missed(wanted, Miss.TOO_LARGE, size)
        spool.write(chunk)
    if declared is not None and size != declared:
        return Missed(wanted, Miss.UNAVAILABLE)
    spool.seek(0)
    return Fetched(wanted, spool, size)
