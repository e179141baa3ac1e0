"""What a member types into the Extend and Cover modals: checked before anything is sent."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.followups.records import (
    DEFAULT_CONTINUE_AT,
    ClipOrigin,
    FollowUpAction,
    InputRejected,
    budget_day,
    cover_request,
    extend_request,
    lyrics_limit,
    next_budget_day,
    parse_seconds,
    parse_weight,
    task_type,
)

T = TypeVar("T")


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("", None), ("42", 42.0), ("12.5", 12.5), ("1:30", 90.0), (" 0:05 ", 5.0), ("3,5", 3.5)],
)
def test_where_to_continue_from(raw: str, seconds: float | None) -> None:
    assert parse_seconds(raw) == seconds


@pytest.mark.parametrize("raw", ["soon", "-3", "1:75", "9:00", "1e3", "nan", "inf", "１２", "1:2:3"])
def test_unreadable_times_are_refused(raw: str) -> None:
    with pytest.raises(InputRejected) as caught:
        parse_seconds(raw)
    assert caught.value.key == "followup.input.bad_time"


def _read(parse: Callable[[], T]) -> tuple[T | None, str | None]:
    """What `parse` gave, or the key of the reason it refused."""
    try:
        return parse(), None
    except InputRejected as exc:
        return None, exc.key


@given(st.text(max_size=30))
def test_any_time_is_read_in_bounds_or_refused(raw: str) -> None:
    value, refused = _read(lambda: parse_seconds(raw))
    assert refused in (None, "followup.input.bad_time")
    assert value is None or (math.isfinite(value) and 0 <= value <= 480)


@given(st.text(max_size=30))
def test_any_weight_is_read_in_bounds_or_refused(raw: str) -> None:
    value, refused = _read(lambda: parse_weight(raw))
    assert refused in (None, "followup.input.bad_weight")
    assert value is None or 0 <= value <= 1


@pytest.mark.parametrize(
    ("raw", "weight"), [("0.7", 0.7), ("70%", 0.7), ("1", 1.0), ("0", 0.0), ("0,25", 0.25)]
)
def test_weights(raw: str, weight: float) -> None:
    assert parse_weight(raw) == weight


@given(lyrics=st.text(max_size=6000), style=st.text(max_size=300), title=st.text(max_size=120))
def test_any_modal_becomes_a_body_or_a_reason(lyrics: str, style: str, title: str) -> None:
    for make in (
        lambda: extend_request(lyrics=lyrics, style=style, title=title, continue_at="", model="sonic-v4"),
        lambda: cover_request(style=style, lyrics=lyrics, title=title, audio_weight="", model="sonic-v4"),
    ):
        request, refused = _read(make)
        if request is None:
            assert refused in ("followup.input.too_long", "followup.input.no_style")
            continue
        body = request.body(ClipOrigin.UPLOAD, "clip", "sonic-v4")
        assert len(str(body.get("prompt", ""))) <= lyrics_limit("sonic-v4") == 3000
        assert "\n" not in str(body.get("tags", "")) and "\n" not in str(body.get("title", ""))
        assert not any(ord(c) < 32 and c not in "\n\t\r" for c in str(body.get("prompt", "")))
        if request.action is FollowUpAction.COVER:
            assert body["tags"]


def test_an_empty_extend_continues_where_musicapi_recommends() -> None:
    body = extend_request(lyrics="", style="", title="", continue_at="", model="sonic-v5").body(
        ClipOrigin.SONG, "song-clip", "sonic-v5"
    )
    assert body == {
        "task_type": "extend_music", "continue_clip_id": "song-clip", "custom_mode": True, "mv": "sonic-v5",
        "continue_at": DEFAULT_CONTINUE_AT,
    }  # fmt: skip


def test_task_types() -> None:
    assert task_type(FollowUpAction.EXTEND, ClipOrigin.UPLOAD) == "extend_upload_music"
    assert task_type(FollowUpAction.COVER, ClipOrigin.UPLOAD) == "cover_upload_music"
    assert task_type(FollowUpAction.EXTEND, ClipOrigin.SONG) == "extend_music"
    assert task_type(FollowUpAction.COVER, ClipOrigin.SONG) == "cover_music"


def test_the_budget_day_turns_at_midnight_utc() -> None:
    late = 1_795_564_799.0  # 2026-11-24 23:59:59 UTC
    assert budget_day(late) == "2026-11-24" and budget_day(late + 1) == "2026-11-25"
    assert next_budget_day(late) == late + 1
