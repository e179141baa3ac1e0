"""The follow-up service's deadlines on a clock of its own: a follow-up cut off before MusicAPI's answer,
one past the deadline, a "succeeded" without songs. Nothing is claimed that did not happen."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.domain.errors import ErrorKind, UploadError
from bot.domain.followups.ports import Credits, Generation
from bot.domain.followups.records import (
    ClipOrigin,
    FollowUpRecord,
    FollowUpState,
    Operation,
    budget_day,
)
from bot.domain.followups.service import FollowUpPolicy, FollowUpService
from bot.domain.ports import TaskState
from bot.storage import follow_up_store
from bot.storage.sqlite import SQLiteUploadStore


@dataclass
class Clock:
    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now


@dataclass
class API:
    """MusicAPI as the service sees it: every task still running, or as `result` says."""

    result: Generation = field(default_factory=lambda: Generation(TaskState.RUNNING))
    asked: list[str] = field(default_factory=list)

    async def start_task(self, endpoint: str, body: Mapping[str, Any]) -> str:
        raise UploadError("not used here")

    async def run(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        raise UploadError("not used here")

    async def get_generation(self, task_id: str) -> Generation:
        self.asked.append(task_id)
        return self.result

    async def get_credits(self) -> Credits:
        return Credits(1000)


POLICY = FollowUpPolicy(
    actions=frozenset(Operation), prices=dict.fromkeys(Operation, 15), daily_budget=0, cooldown=0,
    model="sonic-v6", lyrics_limit=5000, low_credits_alert=0,
    first_poll=20, poll_interval=20, deadline=1800, unconfirmed_grace=180,
)  # fmt: skip


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[FollowUpService, API, Clock, list[int]]]:
    uploads = await SQLiteUploadStore.open(tmp_path / "bot.db")
    clock, api, shown = Clock(), API(), []

    async def show(follow_up_id: int) -> bool:
        shown.append(follow_up_id)
        return True

    svc = FollowUpService(
        api=api, store=follow_up_store(uploads), uploads=uploads, policy=POLICY, clock=clock
    )
    svc.show = show
    yield svc, api, clock, shown
    await svc.drain(1)
    await uploads.close()


async def stored(svc: FollowUpService, clock: Clock, task_id: str | None) -> FollowUpRecord:
    record = FollowUpRecord(
        user_id=7, guild_id=1, channel_id=2, application_id=3, interaction_id=4, interaction_token="t",
        token_expires_at=clock.now + 900, locale="en-US", action=Operation.COVER, origin=ClipOrigin.UPLOAD,
        source_id=1, source_clip_id="clip", source_label="demo.mp3", task_type="cover_upload_music",
        model="sonic-v4-5", credits=15, next_poll_at=clock.now + 180,
    )  # fmt: skip
    found = await svc.store.reserve(
        record, day=budget_day(clock.now), daily_budget=0, cooldown_since=clock.now + 1
    )
    assert found is not None
    if task_id:
        await svc.store.set_task(found.key, task_id, clock.now + 20)
    return found


async def test_a_follow_up_cut_off_before_its_task_id_is_told_after_the_grace(service: Any) -> None:
    svc, api, clock, shown = service
    record = await stored(svc, clock, task_id=None)
    await svc.poll_due()
    assert shown == [] and api.asked == []
    clock.now += 181
    await svc.poll_due()
    got = await svc.store.get(record.key)
    assert got.state is FollowUpState.FAILED and got.error_kind is ErrorKind.UNCONFIRMED
    assert got.credits == 15, "it may have cost: nothing is refunded"
    await svc.drain(1)
    assert shown == [record.key]


async def test_past_the_deadline_the_member_is_told_without_a_refund(service: Any) -> None:
    svc, api, clock, _ = service
    record = await stored(svc, clock, task_id="task-1")
    clock.now += 21
    await svc.poll_due()
    assert api.asked == ["task-1"]
    clock.now += 1800
    await svc.poll_due()
    got = await svc.store.get(record.key)
    assert got.error_kind is ErrorKind.TIMED_OUT and got.credits == 15


async def test_a_success_without_songs_is_not_shown_as_songs(service: Any) -> None:
    svc, api, clock, _ = service
    record = await stored(svc, clock, task_id="task-2")
    api.result = Generation(TaskState.SUCCEEDED, songs=())
    clock.now += 21
    await svc.poll_due()
    got = await svc.store.get(record.key)
    assert got.state is FollowUpState.FAILED and got.error_kind is ErrorKind.UNAVAILABLE and got.credits == 15
