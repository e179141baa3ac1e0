"""bot.musicapi.MusicAPIClient against the loopback FakeMusicAPI, over real HTTP."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from bot.domain.errors import (
    BadRequest,
    CopyrightBlocked,
    ErrorKind,
    Forbidden,
    MusicAPIError,
    NoSubscription,
    OutOfCredits,
    RateLimited,
    ServiceUnavailable,
    TaskFailed,
    Unauthorized,
    UploadUnconfirmed,
)
from bot.domain.ports import TaskResult, TaskState, UploadAccepted
from bot.musicapi import MusicAPIClient, parse_task
from bot.musicapi.client import MAX_ANSWER_BYTES
from tests.fakes.musicapi import API_KEY, Answer, FakeMusicAPI, clip_id_for, flat_callback, task_callback
from tests.harness import free_port, serve

AUDIO = "https://cdn.example.com/song.mp3"
CLIP = "cfbc3d3c-2add-4265-bcdf-924092096e3d"
RETRIES = 2
BACKOFF = 0.01


@dataclass
class Env:
    fake: FakeMusicAPI
    url: str
    session: aiohttp.ClientSession
    sleeps: list[float] = field(default_factory=list)

    def client(
        self, *, timeout: float = 2.0, retries: int = RETRIES, api_key: str = API_KEY
    ) -> MusicAPIClient:
        async def sleep(delay: float) -> None:
            self.sleeps.append(delay)

        return MusicAPIClient(
            self.session,
            base_url=self.url + "/",
            api_key=api_key,
            timeout=timeout,
            retries=retries,
            backoff=BACKOFF,
            sleep=sleep,
        )


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    fake = FakeMusicAPI()
    runner, url = await serve(fake.app())
    try:
        async with aiohttp.ClientSession() as session:
            yield Env(fake, url, session)
    finally:
        await runner.cleanup()


async def upload_error(env: Env, *answers: Answer, **client: Any) -> MusicAPIError:
    env.fake.script(*answers)
    with pytest.raises(MusicAPIError) as info:
        await env.client(**client).upload(AUDIO)
    return info.value


# ---------------------------------------------------------------------------------------------
# success
# ---------------------------------------------------------------------------------------------


async def test_upload_returns_clip_id(env: Env) -> None:
    result = await env.client().upload(AUDIO)
    assert result == UploadAccepted(clip_id=clip_id_for(0))
    assert env.fake.uploads == [{"url": AUDIO}]
    assert env.fake.auth_headers == [f"Bearer {API_KEY}"]
    assert env.fake.content_types[0].startswith("application/json")
    assert env.sleeps == []


async def test_upload_returns_scripted_clip_id_stripped(env: Env) -> None:
    env.fake.script(Answer(200, {"code": 200, "clip_id": f"  {CLIP} ", "message": "success"}))
    assert (await env.client().upload(AUDIO)).clip_id == CLIP


async def test_an_answer_that_begins_with_a_byte_order_mark_is_read(env: Env) -> None:
    env.fake.script(Answer(200, text="\ufeff" + json.dumps({"code": 200, "clip_id": CLIP, "message": "ü"})))
    assert (await env.client().upload(AUDIO)).clip_id == CLIP


async def test_upload_sends_url_unchanged(env: Env) -> None:
    signed = "https://bucket.s3.amazonaws.com/a.mp3?X-Amz-Signature=abc&X-Amz-Expires=900"
    await env.client().upload(signed)
    assert env.fake.uploads == [{"url": signed}]


async def test_wrong_key_is_unauthorized(env: Env) -> None:
    with pytest.raises(Unauthorized) as info:
        await env.client(api_key="wrong").upload(AUDIO)
    assert env.fake.auth_headers == ["Bearer wrong"]
    assert info.value.detail == "Invalid authorization format."
    assert env.fake.uploads == []


# ---------------------------------------------------------------------------------------------
# error mapping
# ---------------------------------------------------------------------------------------------


async def test_400_is_bad_request_with_detail(env: Env) -> None:
    err = await upload_error(
        env, Answer(400, {"code": 400, "message": "Audio duration must be at least 6s."})
    )
    assert type(err) is BadRequest
    assert err.detail == "Audio duration must be at least 6s."
    assert len(env.fake.uploads) == 1


async def test_400_without_message_is_bad_request_without_detail(env: Env) -> None:
    err = await upload_error(env, Answer(400, {"code": 400}))
    assert type(err) is BadRequest
    assert err.detail == ""


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "This audio matches an existing recording."),
        (400, "Upload blocked: found in catalog"),
        (422, "Audio Matches An Existing Recording"),
        (403, "Content is in the protected catalog."),
        (500, "matches an existing recording"),
    ],
)
async def test_copyright_markers(env: Env, status: int, message: str) -> None:
    err = await upload_error(env, Answer(status, {"code": status, "message": message}))
    assert type(err) is CopyrightBlocked
    assert err.detail == message
    assert len(env.fake.uploads) == 1


async def test_401_is_unauthorized(env: Env) -> None:
    err = await upload_error(env, Answer(401, {"code": 401, "message": "Authorization header is missing."}))
    assert type(err) is Unauthorized
    assert len(env.fake.uploads) == 1


async def test_403_credits(env: Env) -> None:
    msg = "The remaining credits are not enough. You can buy more one-time credit packs or subscribe."
    err = await upload_error(env, Answer(403, {"code": 403, "message": msg}))
    assert type(err) is OutOfCredits
    assert err.detail == msg


async def test_403_subscription(env: Env) -> None:
    msg = "You do not have an active subscription. Please check whether your renewal was successful."
    err = await upload_error(env, Answer(403, {"code": 403, "message": msg}))
    assert type(err) is NoSubscription
    assert err.detail == msg


async def test_403_other_is_forbidden(env: Env) -> None:
    err = await upload_error(env, Answer(403, {"code": 403, "message": "Account suspended."}))
    assert type(err) is Forbidden
    assert err.detail == "Account suspended."


async def test_429_is_rate_limited_not_retried(env: Env) -> None:
    err = await upload_error(env, Answer(429, {"code": 429, "message": "Too many requests"}))
    assert type(err) is RateLimited
    assert len(env.fake.uploads) == 1


async def test_other_4xx_is_bad_request(env: Env) -> None:
    err = await upload_error(env, Answer(422, {"code": 422, "message": "url is required"}))
    assert type(err) is BadRequest
    assert err.detail == "url is required"


async def test_error_code_in_body_of_http_200(env: Env) -> None:
    err = await upload_error(env, Answer(200, {"code": 400, "message": "task not found."}))
    assert type(err) is BadRequest
    assert err.detail == "task not found."


@pytest.mark.parametrize("key", ["error", "detail", "msg"])
async def test_message_under_other_keys(env: Env, key: str) -> None:
    err = await upload_error(env, Answer(400, {key: "Unsupported audio format."}))
    assert type(err) is BadRequest
    assert err.detail == "Unsupported audio format."


async def test_nested_error_object(env: Env) -> None:
    err = await upload_error(env, Answer(400, {"error": {"message": "bad url"}}))
    assert type(err) is BadRequest
    assert err.detail == "bad url"


async def test_signed_url_in_message_is_redacted(env: Env) -> None:
    msg = "Could not fetch https://bucket.s3.amazonaws.com/a.mp3?X-Amz-Signature=topsecret&X-Amz-Credential=k: 403"
    err = await upload_error(env, Answer(400, {"code": 400, "message": msg}))
    assert type(err) is BadRequest
    assert "https://bucket.s3.amazonaws.com/a.mp3" in err.detail
    assert "topsecret" not in err.detail
    assert "X-Amz" not in err.detail
    assert "topsecret" not in str(err)


async def test_long_message_is_capped(env: Env) -> None:
    err = await upload_error(env, Answer(400, {"code": 400, "message": "x" * 5000}))
    assert 0 < len(err.detail) <= 300


# ---------------------------------------------------------------------------------------------
# 5xx and retries
# ---------------------------------------------------------------------------------------------


async def test_500_is_unavailable_not_retried(env: Env) -> None:
    err = await upload_error(env, Answer(500, {"code": 500, "message": "Internal error"}))
    assert type(err) is ServiceUnavailable
    assert len(env.fake.uploads) == 1
    assert env.sleeps == []


async def test_503_without_a_body_did_not_arrive_and_is_sent_again(env: Env) -> None:
    env.fake.script(Answer(503, text=""), Answer(503, text=""))
    result = await env.client().upload(AUDIO)
    assert result.clip_id == clip_id_for(0)
    assert env.fake.uploads == [{"url": AUDIO}] * 3
    assert len(env.sleeps) == 2


async def test_503_without_a_body_until_retries_run_out_is_unavailable(env: Env) -> None:
    err = await upload_error(env, *[Answer(503, text="") for _ in range(RETRIES + 2)])
    assert type(err) is ServiceUnavailable
    assert len(env.fake.uploads) == RETRIES + 1
    assert len(env.fake.answers) == 1  # the last scripted answer was never asked for
    assert len(env.sleeps) == RETRIES


@pytest.mark.parametrize(
    "answer",
    [
        Answer(502, {"code": 502, "message": "bad gateway"}),
        Answer(504, {"code": 504, "message": "gateway timeout"}),
        Answer(502, text="<html>Bad Gateway</html>"),
        Answer(503, {"code": 503, "message": "unavailable"}),
        Answer(drop=True),
    ],
    ids=["502", "504", "502-html", "503-with-body", "dropped-after-reading"],
)
async def test_an_upload_that_may_have_arrived_is_never_sent_twice(env: Env, answer: Answer) -> None:
    """The answer was lost after MusicAPI read the request: one POST, and an honest 'unconfirmed'."""
    err = await upload_error(env, answer, Answer(200, {"code": 200, "clip_id": CLIP}))
    assert type(err) is UploadUnconfirmed
    assert err.kind is ErrorKind.UNCONFIRMED
    assert len(env.fake.uploads) == 1
    assert env.sleeps == []


async def test_backoff_grows_exponentially_with_jitter(env: Env) -> None:
    answers = [Answer(503, text="") for _ in range(4)]
    await upload_error(env, *answers, retries=3)
    assert len(env.sleeps) == 3
    for attempt, delay in enumerate(env.sleeps):
        assert BACKOFF * 2**attempt * 0.5 <= delay <= BACKOFF * 2**attempt


async def test_zero_retries_means_one_attempt(env: Env) -> None:
    err = await upload_error(env, Answer(503, text=""), retries=0)
    assert type(err) is ServiceUnavailable
    assert len(env.fake.uploads) == 1
    assert env.sleeps == []


async def test_429_with_a_short_retry_after_is_sent_again_after_it(env: Env) -> None:
    env.fake.script(Answer(429, {"code": 429, "message": "slow down"}, headers={"Retry-After": "2"}))
    result = await env.client().upload(AUDIO)
    assert result.clip_id == clip_id_for(0)
    assert len(env.fake.uploads) == 2
    assert env.sleeps == [2.0]


@pytest.mark.parametrize("retry_after", ["120", "Wed, 21 Oct 2026 07:28:00 GMT", "-1", "soon"])
async def test_429_with_a_long_or_unreadable_retry_after_is_busy(env: Env, retry_after: str) -> None:
    err = await upload_error(env, Answer(429, {"code": 429}, headers={"Retry-After": retry_after}))
    assert type(err) is RateLimited
    assert len(env.fake.uploads) == 1
    assert env.sleeps == []


async def test_connection_refused_did_not_arrive_and_is_sent_again() -> None:
    async with aiohttp.ClientSession() as session:
        sleeps: list[float] = []

        async def sleep(delay: float) -> None:
            sleeps.append(delay)

        client = MusicAPIClient(
            session,
            base_url=f"http://127.0.0.1:{free_port()}",
            api_key=API_KEY,
            timeout=2,
            retries=1,
            backoff=0.01,
            sleep=sleep,
        )
        with pytest.raises(ServiceUnavailable) as info:
            await client.upload(AUDIO)
    assert type(info.value) is ServiceUnavailable  # not "unconfirmed": nothing arrived
    assert info.value.delivered is False
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    "answer",
    [Answer(502, text="<html>"), Answer(504, {"code": 504}), Answer(503, text=""), Answer(drop=True)],
    ids=["502", "504", "503", "dropped"],
)
async def test_a_task_lookup_is_safe_to_ask_again(env: Env, answer: Answer) -> None:
    env.fake.poll_answers.append(answer)
    env.fake.task_answers["t"] = deque([task_callback("t", CLIP)])
    result = await env.client().get_task("t")
    assert result.clip_id == CLIP
    assert env.fake.polls == ["t", "t"]
    assert len(env.sleeps) <= 1  # aiohttp itself asks again once when a kept-alive connection drops


@pytest.mark.parametrize("status", [200, 500])
async def test_non_json_body_is_unavailable(env: Env, status: int) -> None:
    err = await upload_error(env, Answer(status, text="<html><body>Bad Gateway</body></html>"))
    assert type(err) is ServiceUnavailable
    assert len(env.fake.uploads) == 1
    assert "<html>" not in err.detail


async def test_an_answer_over_the_size_cap_is_not_read_whole(env: Env) -> None:
    huge = {"code": 200, "clip_id": CLIP, "padding": "x" * (MAX_ANSWER_BYTES + 1)}
    err = await upload_error(env, Answer(200, huge))
    assert type(err) is ServiceUnavailable
    assert "over" in err.detail
    assert len(env.fake.uploads) == 1


async def test_a_deeply_nested_answer_is_unavailable_not_a_crash(env: Env) -> None:
    err = await upload_error(env, Answer(200, text="[" * 100_000 + "]" * 100_000))
    assert type(err) is ServiceUnavailable


@pytest.mark.parametrize(
    "body",
    [
        {"code": 200, "message": "success"},
        {"code": 200, "clip_id": "", "message": "success"},
        {"code": 200, "clip_id": "   "},
        {"code": 200, "clip_id": None},
        {"code": 200, "clip_id": 12345},
        {"code": 200, "task_id": "t-1"},
        [CLIP],
        CLIP,
        None,
    ],
)
async def test_200_without_clip_id_is_unavailable(env: Env, body: Any) -> None:
    err = await upload_error(env, Answer(200, body))
    assert type(err) is ServiceUnavailable
    assert len(env.fake.uploads) == 1


async def test_a_slow_upload_times_out_unconfirmed_and_is_not_sent_again(env: Env) -> None:
    err = await upload_error(env, Answer(200, {"code": 200, "clip_id": CLIP}, delay=0.6), timeout=0.2)
    assert type(err) is UploadUnconfirmed
    assert err.detail == "timed out"
    assert len(env.fake.uploads) == 1


# ---------------------------------------------------------------------------------------------
# callback mode and tasks
# ---------------------------------------------------------------------------------------------

CALLBACK = "https://bot.example.com/musicapi/callback/tok123"


async def test_upload_with_callback_returns_task_id(env: Env) -> None:
    result = await env.client().upload(AUDIO, callback_url=CALLBACK)
    assert result.clip_id is None
    assert result.task_id is not None
    assert result.task_id in env.fake.tasks
    assert env.fake.uploads == [{"url": AUDIO, "callback_url": CALLBACK}]
    assert env.fake.tasks[result.task_id]["callback_url"] == CALLBACK


async def test_upload_with_callback_accepts_immediate_clip_id(env: Env) -> None:
    env.fake.script(Answer(200, {"code": 200, "clip_id": CLIP}))
    result = await env.client().upload(AUDIO, callback_url=CALLBACK)
    assert result == UploadAccepted(clip_id=CLIP, task_id=None)


async def test_upload_with_callback_without_ids_is_unavailable(env: Env) -> None:
    env.fake.script(Answer(200, {"code": 200, "message": "success"}))
    with pytest.raises(ServiceUnavailable):
        await env.client().upload(AUDIO, callback_url=CALLBACK)
    assert env.fake.uploads == [{"url": AUDIO, "callback_url": CALLBACK}]


async def test_get_task_flat_shape(env: Env) -> None:
    env.fake.task_answers["t-1"] = deque([flat_callback("t-1", CLIP)])
    result = await env.client().get_task("t-1")
    assert result == TaskResult(TaskState.SUCCEEDED, clip_id=CLIP, task_id="t-1")
    assert env.fake.polls == ["t-1"]


async def test_get_task_data_shape(env: Env) -> None:
    env.fake.task_answers["t-2"] = deque([task_callback("t-2", CLIP)])
    result = await env.client().get_task("t-2")
    assert result == TaskResult(TaskState.SUCCEEDED, clip_id=CLIP, task_id="t-2")
    assert result.finished


async def test_get_task_fills_in_task_id(env: Env) -> None:
    env.fake.task_answers["t-3"] = deque([{"code": 200, "data": [{"clip_id": CLIP, "state": "succeeded"}]}])
    assert (await env.client().get_task("t-3")).task_id == "t-3"


async def test_get_task_running_then_succeeded(env: Env) -> None:
    upload = await env.client().upload(AUDIO, callback_url=CALLBACK)
    assert upload.task_id is not None
    running = await env.client().get_task(upload.task_id)
    assert running.state == "running"
    assert not running.finished
    assert running.clip_id is None
    env.fake.task_answers[upload.task_id] = deque([task_callback(upload.task_id, CLIP)])
    done = await env.client().get_task(upload.task_id)
    assert done.clip_id == CLIP
    assert env.fake.polls == [upload.task_id, upload.task_id]


async def test_get_task_unknown_is_bad_request(env: Env) -> None:
    with pytest.raises(BadRequest) as info:
        await env.client().get_task("nope")
    assert info.value.detail == "task not found."


async def test_get_task_failed(env: Env) -> None:
    env.fake.task_answers["t-4"] = deque([task_callback("t-4", "", state="failed")])
    result = await env.client().get_task("t-4")
    assert result.state == "failed"
    assert result.finished
    assert isinstance(result.error, TaskFailed)


# ---------------------------------------------------------------------------------------------
# parse_task
# ---------------------------------------------------------------------------------------------


def test_parse_task_flat() -> None:
    assert parse_task(flat_callback("t", CLIP)) == TaskResult(TaskState.SUCCEEDED, clip_id=CLIP, task_id="t")


def test_parse_task_data_list() -> None:
    assert parse_task(task_callback("t", CLIP)) == TaskResult(TaskState.SUCCEEDED, clip_id=CLIP, task_id="t")


def test_parse_task_data_object() -> None:
    body = {"code": 200, "task_id": "t", "data": {"clip_id": CLIP, "status": "SUCCESS"}}
    assert parse_task(body) == TaskResult(TaskState.SUCCEEDED, clip_id=CLIP, task_id="t")


@pytest.mark.parametrize("state", ["pending", "running"])
def test_parse_task_in_progress(state: str) -> None:
    result = parse_task(task_callback("t", "", state=state))
    assert result == TaskResult(TaskState(state), task_id="t")
    assert not result.finished


def test_parse_task_clip_id_while_running_is_not_success() -> None:
    result = parse_task(task_callback("t", CLIP, state="running"))
    assert result.state == "running"
    assert result.clip_id is None


def test_parse_task_unknown_state_is_pending() -> None:
    assert parse_task(task_callback("t", "", state="queued")).state == "pending"


def test_parse_task_state_failed_with_reason() -> None:
    body = {
        "code": 200,
        "task_id": "t",
        "data": [{"clip_id": "", "state": "failed", "error": "Audio too short."}],
    }
    result = parse_task(body)
    assert result.state == "failed"
    assert result.task_id == "t"
    assert isinstance(result.error, TaskFailed)
    assert result.error.detail == "Audio too short."


def test_parse_task_state_failed_reason_from_top_level() -> None:
    body = {"code": 200, "task_id": "t", "message": "Could not download the file.",
            "data": [{"clip_id": "", "state": "failed"}]}  # fmt: skip
    result = parse_task(body)
    assert isinstance(result.error, TaskFailed)
    assert result.error.detail == "Could not download the file."


def test_parse_task_flat_failed() -> None:
    result = parse_task({"code": 200, "task_id": "t", "state": "failed", "message": "Unsupported format."})
    assert result.state == "failed"
    assert isinstance(result.error, TaskFailed)
    assert result.error.detail == "Unsupported format."


def test_parse_task_failed_copyright() -> None:
    body = {
        "code": 200,
        "task_id": "t",
        "data": [{"state": "failed", "message": "matches an existing recording"}],
    }
    assert isinstance(parse_task(body).error, CopyrightBlocked)


@pytest.mark.parametrize(
    ("code", "message", "error_type"),
    [
        (400, "Audio duration must be at least 6s.", BadRequest),
        (403, "The remaining credits are not enough.", OutOfCredits),
        (403, "You do not have an active subscription.", NoSubscription),
        (429, "slow down", RateLimited),
        (500, "internal error", TaskFailed),
        (0, "weird", TaskFailed),
        ("500", "stringly", TaskFailed),
        (400, "Matches an existing recording", CopyrightBlocked),
    ],
)
def test_parse_task_code_not_200_is_failed(code: Any, message: str, error_type: type[MusicAPIError]) -> None:
    result = parse_task({"code": code, "task_id": "t", "clip_id": CLIP, "message": message})
    assert result.state == "failed"
    assert result.finished
    assert result.clip_id is None
    assert result.task_id == "t"
    assert type(result.error) is error_type


def test_parse_task_failure_detail_redacted() -> None:
    body = {"code": 500, "message": "fetch failed: https://x.example/a.mp3?sig=secret"}
    error = parse_task(body).error
    assert error is not None
    assert "secret" not in error.detail
    assert "https://x.example/a.mp3" in error.detail


@pytest.mark.parametrize("body", [None, [], "ok", 200])
def test_parse_task_not_an_object(body: Any) -> None:
    with pytest.raises(ServiceUnavailable):
        parse_task(body)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("task_id"),
        lambda b: b.update(data=[]),
        lambda b: b.update(data=["x"]),
        lambda b: b.update(extra={"nested": True}),
    ],
)
def test_parse_task_tolerates_odd_shapes(mutate: Callable[[dict[str, Any]], Any]) -> None:
    body = flat_callback("t", CLIP)
    mutate(body)
    result = parse_task(body)
    assert result.state == "succeeded"
    assert result.clip_id == CLIP


def test_parse_task_failed_in_the_webhook_envelope_does_not_give_success_as_the_reason() -> None:
    body = {"code": 200, "task_id": "t", "message": "success", "data": [{"clip_id": "", "state": "failed"}]}
    result = parse_task(body)
    assert result.state == "failed"
    assert isinstance(result.error, TaskFailed)
    assert result.error.detail == ""
