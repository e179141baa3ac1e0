"""The checks on what a member types into a form, and the budget's day."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.followups.records import (
    InputRejected,
    budget_day,
    next_budget_day,
    parse_seconds,
    parse_weight,
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


def test_the_budget_day_turns_at_midnight_utc() -> None:
    late = 1_795_564_799.0  # 2026-11-24 23:59:59 UTC
    assert budget_day(late) == "2026-11-24" and budget_day(late + 1) == "2026-11-25"
    assert next_budget_day(late) == late + 1
