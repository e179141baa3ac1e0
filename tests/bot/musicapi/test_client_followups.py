"""sonic/create, create tasks and get-credits through MusicAPIClient against the loopback fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.domain.errors import (
    BadRequest,
    OutOfCredits,
    ServiceUnavailable,
    TaskFailed,
    UploadTimedOut,
    UploadUnconfirmed,
)
from bot.domain.followups.ports import Credits
from bot.domain.ports import TaskState
from bot.musicapi import parse_generation
from bot.musicapi.client import MIDI_ASKS, MIDI_EVERY
from tests.bot.musicapi.test_client import Env
from tests.fakes.musicapi import Answer, FakeMusicAPI
from tests.harness import serve


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    fake = FakeMusicAPI()
    runner, url = await serve(fake.app())
    try:
        async with aiohttp.ClientSession() as session:
            yield Env(fake, url, session)
    finally:
        await runner.cleanup()


BODY: dict[str, Any] = {
    "task_type": "extend_upload_music", "continue_clip_id": "clip-1", "custom_mode": True,
    "mv": "sonic-v4-5", "continue_at": 0.1,
}  # fmt: skip


async def test_create_returns_the_task_and_costs_credits(env: Env) -> None:
    task_id = await env.client().start_task("create", BODY)
    assert task_id in env.fake.generations and env.fake.creates == [BODY]
    assert await env.client().get_credits() == Credits(1000 - 15, 0)


@pytest.mark.parametrize(
    "answer",
    [Answer(drop=True), Answer(502, {"message": "bad gateway"}), Answer(504, {"message": "timeout"}),
     Answer(200, {"code": 200, "message": "success"})],
    ids=["dropped", "502", "504", "no-task-id"],
)  # fmt: skip
async def test_a_create_that_may_have_arrived_is_never_sent_again(env: Env, answer: Answer) -> None:
    env.fake.create_answers.append(answer)
    with pytest.raises(UploadUnconfirmed):
        await env.client().start_task("create", BODY)
    assert len(env.fake.creates) == 1


async def test_a_create_that_certainly_did_not_arrive_is_sent_again(env: Env) -> None:
    env.fake.create_answers.extend(
        [Answer(503, text=""), Answer(429, {"message": "busy"}, headers={"Retry-After": "0"})]
    )
    task_id = await env.client().start_task("create", BODY)
    assert len(env.fake.creates) == 3 and task_id


@pytest.mark.parametrize(
    ("answer", "error"),
    [(Answer(400, {"code": 400, "message": "tags are not allowed."}), BadRequest),
     (Answer(403, {"code": 403, "message": "The remaining credits are not enough."}), OutOfCredits)],
)  # fmt: skip
async def test_create_refusals_are_typed(env: Env, answer: Answer, error: type[Exception]) -> None:
    env.fake.create_answers.append(answer)
    with pytest.raises(error):
        await env.client().start_task("create", BODY)


async def test_the_fake_refuses_the_upload_task_types_on_generated_songs(env: Env) -> None:
    task_id = await env.client().start_task("create", BODY)
    env.fake.finished(task_id)
    with pytest.raises(BadRequest, match="not an uploaded clip"):
        await env.client().start_task("create", {**BODY, "continue_clip_id": f"{task_id}-song-1"})
    assert await env.client().start_task(
        "create", {**BODY, "task_type": "extend_music", "continue_clip_id": f"{task_id}-song-1"}
    )


async def test_a_task_with_two_songs_is_read_in_full(env: Env) -> None:
    task_id = await env.client().start_task("create", BODY)
    result = await env.client().get_generation(task_id)
    assert result.state is TaskState.SUCCEEDED and result.task_id == task_id
    first, second = result.songs
    assert first.clip_id == f"{task_id}-song-1" and second.position == 1
    assert first.title == "Night Drive (1)" and first.duration == 125.4
    assert first.audio_url == env.fake.file_url(f"{task_id}-song-1.mp3")
    assert first.image_url == env.fake.file_url(f"{task_id}-song-1.jpg")


async def test_task_lookups_are_retried_after_transient_failures(env: Env) -> None:
    task_id = await env.client().start_task("create", BODY)
    env.fake.poll_answers.extend([Answer(502, {"message": "x"}), Answer(drop=True)])
    result = await env.client().get_generation(task_id)
    assert result.state is TaskState.SUCCEEDED and len(env.fake.polls) == 3


@pytest.mark.parametrize(
    ("body", "state"),
    [
        ({"code": 200, "data": []}, TaskState.PENDING),
        ({"code": 200, "data": [{"clip_id": "a", "state": "running"}, {"clip_id": "b", "state": "succeeded"}]},
         TaskState.RUNNING),
        ({"code": 200, "data": [{"clip_id": "a", "state": "succeeded"}, {"state": "succeeded"}]}, TaskState.PENDING),
        ({"code": 200, "data": [{"clip_id": "a", "state": "failed", "message": "flagged"}]}, TaskState.FAILED),
        ({"code": 500, "message": "internal"}, TaskState.FAILED),
        ({"code": 200, "data": {"task_id": "t", "data": [{"clip_id": "a", "state": "succeeded"}]}},
         TaskState.SUCCEEDED),
    ],
)  # fmt: skip
def test_task_bodies_in_every_shape(body: dict[str, Any], state: TaskState) -> None:
    assert parse_generation(body).state is state


def test_odd_song_fields_degrade_to_nothing() -> None:
    body = {"code": 200, "data": [
        {"clip_id": "a", "state": "succeeded", "duration": "nan", "audio_url": "javascript:alert(1)", "title": 5},
        {"clip_id": "b", "state": "succeeded", "duration": -3, "audio_url": "https://x.example/b.mp3", "title": "B"},
    ]}  # fmt: skip
    first, second = parse_generation(body).songs
    assert (first.duration, first.audio_url, first.title) == (None, None, "")
    assert (second.duration, second.audio_url, second.title) == (None, "https://x.example/b.mp3", "B")


def test_a_failed_generation_keeps_musicapis_reason() -> None:
    result = parse_generation({"code": 200, "data": [{"state": "failed", "message": "Lyrics were flagged."}]})
    assert isinstance(result.error, TaskFailed) and result.error.detail == "Lyrics were flagged."


async def test_credits_in_either_shape(env: Env) -> None:
    env.fake.credits_answers.append(Answer(200, {"code": 200, "data": {"credits": 7, "extra_credits": 3}}))
    assert (await env.client().get_credits()).total == 10
    env.fake.credits_answers.append(Answer(200, {"code": 200, "message": "success"}))
    with pytest.raises(ServiceUnavailable):
        await env.client().get_credits()


# -- calls answered at once: wav, midi, bpm ----------------------------------------------------------------
async def test_wav_and_bpm_read_their_answers(env: Env) -> None:
    env.fake.generated_clips.add("song")
    assert await env.client().run("wav", {"clip_id": "song"}) == {
        "url": "https://cdn.musicapi.example/files/song.wav"
    }
    assert await env.client().run("bpm", {"clip_id": "song"}) == {"bpm": [122.4, 120.2, 124.1]}
    with pytest.raises(BadRequest, match="generated by our service"):
        await env.client().run("bpm", {"clip_id": "an-upload"})


async def test_midi_is_asked_for_again_while_musicapi_makes_it_within_a_bound(env: Env) -> None:
    env.fake.generated_clips.add("song")
    env.fake.midi_interim = 2
    value = await env.client().run("midi", {"clip_id": "song"})
    assert value == {
        "url": "https://cdn.musicapi.example/files/song.mid",
        "instruments": ["Synth Voice", "Bass"],
    }
    assert env.sleeps == [MIDI_EVERY, MIDI_EVERY] and len(env.fake.sonic_calls) == 3
    env.fake.midi_interim = 10_000
    env.fake.generated_clips.add("slow")
    with pytest.raises(UploadTimedOut):  # every ask arrived: not "unconfirmed", and it may have cost
        await env.client().run("midi", {"clip_id": "slow"})
    assert len(env.fake.sonic_calls) == 3 + MIDI_ASKS, "never more than MIDI_ASKS requests"


async def test_a_midi_answer_saying_it_failed_ends_it(env: Env) -> None:
    env.fake.sonic_answers.append(
        Answer(200, {"code": 200, "message": "Failed to generate midi.", "data": {"midi_url": ""}})
    )
    with pytest.raises(TaskFailed):
        await env.client().run("midi", {"clip_id": "song"})
    assert len(env.fake.sonic_calls) == 1


@pytest.mark.parametrize(
    "answer",
    [{"code": 200, "data": {}}, {"code": 200, "data": {"wav_url": "ftp://x"}}, {"code": 200, "data": ["x"]}],
)
async def test_a_wav_answer_without_a_link_is_not_taken_for_a_refusal(env: Env, answer: Any) -> None:
    """It arrived, and may have cost: the member is not told nothing was spent."""
    env.fake.sonic_answers.append(Answer(200, answer))
    with pytest.raises(UploadUnconfirmed):
        await env.client().run("wav", {"clip_id": "song"})
