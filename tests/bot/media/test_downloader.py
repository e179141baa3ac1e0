"""The bounded downloader against the fake MusicAPI's CDN: size caps, lengths that lie, redirects checked
hop by hop, a time limit, a few downloads at once, nothing kept in memory."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from bot.domain.links import fetchable
from bot.domain.media import Fetched, Miss, Missed, Wanted
from bot.media import Downloader
from bot.media.downloader import MAX_REDIRECTS
from tests.fakes.musicapi import FakeMusicAPI, Served
from tests.harness import serve

CAP = 100_000


@dataclass
class Env:
    fake: FakeMusicAPI
    session: aiohttp.ClientSession

    def downloader(self, timeout: float = 5.0, concurrency: int = 4) -> Downloader:
        own = self.fake.base_url
        return Downloader(
            self.session, allowed=lambda url: fetchable(url, own), timeout=timeout, concurrency=concurrency
        )

    def put(self, name: str, served: Served) -> Wanted:
        self.fake.files[name] = served
        return Wanted(self.fake.file_url(name), name)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    fake = FakeMusicAPI()
    runner, url = await serve(fake.app())
    fake.base_url = url
    try:
        async with aiohttp.ClientSession() as session:
            yield Env(fake, session)
    finally:
        await runner.cleanup()


def missed(outcome: Fetched | Missed) -> Miss:
    assert isinstance(outcome, Missed), outcome
    return outcome.reason


async def test_a_file_within_the_cap_is_spooled_to_a_temporary_file(env: Env) -> None:
    wanted = env.put("a.mp3", Served(CAP))
    outcome = await env.downloader().fetch(wanted, CAP)
    assert isinstance(outcome, Fetched) and outcome.size == CAP
    assert outcome.file.fileno() >= 0, "on disk, not in memory"
    data = outcome.file.read()
    assert len(data) == CAP and data.startswith(b"ID3")
    outcome.close()
    assert outcome.file.closed


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        (Served(CAP + 1), Miss.TOO_LARGE),  # declared over the cap: not read
        (Served(CAP + 1, declared=None), Miss.TOO_LARGE),  # no length: cut off once past the cap
        (Served(CAP * 3, declared=None), Miss.TOO_LARGE),
        (Served(50_000, declared=1_000), Miss.UNAVAILABLE),  # a body longer than declared
        (Served(status=404), Miss.UNAVAILABLE),
        (Served(status=503), Miss.UNAVAILABLE),
    ],
)
async def test_what_does_not_fit_or_fails_is_dropped(env: Env, served: Served, reason: Miss) -> None:
    outcome = await env.downloader().fetch(env.put("x.mp3", served), CAP)
    assert missed(outcome) is reason


async def test_a_declared_length_over_the_cap_says_how_large(env: Env) -> None:
    outcome = await env.downloader().fetch(env.put("x.mp3", Served(CAP * 2)), CAP)
    assert isinstance(outcome, Missed) and outcome.size == CAP * 2


async def test_a_cdn_that_never_answers_is_given_up_at_the_time_limit(env: Env) -> None:
    async with asyncio.timeout(5):
        outcome = await env.downloader(timeout=0.3).fetch(env.put("x.mp3", Served(hang=True)), CAP)
    assert missed(outcome) is Miss.TIMED_OUT


async def test_redirects_on_musicapis_own_host_are_followed(env: Env) -> None:
    env.put("real.mp3", Served(1234))
    wanted = env.put("x.mp3", Served(redirect=env.fake.file_url("real.mp3")))
    outcome = await env.downloader().fetch(wanted, CAP)
    assert isinstance(outcome, Fetched) and outcome.size == 1234
    assert env.fake.file_requests == ["x.mp3", "real.mp3"]
    outcome.close()


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.7/internal.mp3",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/x.mp3",
        "http://cdn1.suno.ai/x.mp3",  # public, but not https
        "file:///etc/passwd",
    ],
)
async def test_a_redirect_anywhere_else_is_not_followed(env: Env, target: str) -> None:
    outcome = await env.downloader().fetch(env.put("x.mp3", Served(redirect=target)), CAP)
    assert missed(outcome) is Miss.REFUSED


async def test_redirects_are_bounded(env: Env) -> None:
    names = [f"hop{i}.mp3" for i in range(MAX_REDIRECTS + 2)]
    for here, there in itertools.pairwise(names):
        env.put(here, Served(redirect=env.fake.file_url(there)))
    env.put(names[-1], Served(10))
    outcome = await env.downloader().fetch(Wanted(env.fake.file_url(names[0]), "x.mp3"), CAP)
    assert missed(outcome) is Miss.UNAVAILABLE
    assert len(env.fake.file_requests) == MAX_REDIRECTS + 1


async def test_a_url_outside_the_policy_is_not_requested(env: Env) -> None:
    outcome = await env.downloader().fetch(Wanted("https://10.1.2.3/a.mp3", "a.mp3"), CAP)
    assert missed(outcome) is Miss.REFUSED and env.fake.file_requests == []


async def test_only_a_few_downloads_run_at_once(env: Env) -> None:
    downloader = env.downloader(concurrency=2)
    wanted = [env.put(f"{n}.mp3", Served(1000, delay=0.05)) for n in range(8)]
    outcomes = await asyncio.gather(*(downloader.fetch(w, CAP) for w in wanted))
    assert all(isinstance(o, Fetched) for o in outcomes)
    assert env.fake.most_files_busy == 2
    for o in outcomes:
        assert isinstance(o, Fetched)
        o.close()
