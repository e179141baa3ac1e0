"""Combining the measured paces instances keep in the store: fresh figures of the line's mode only, the
more recent counting more."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.pace import KEPT_FOR, Pace, UploadMode, combined

NOW = 1_000_000.0
SYNC, CALLBACK = UploadMode.SYNC, UploadMode.CALLBACK

paces = st.builds(
    Pace,
    seconds=st.floats(min_value=-10, max_value=1e6) | st.sampled_from([math.nan, math.inf, -math.inf]),
    mode=st.sampled_from(UploadMode),
    measured_at=st.floats(min_value=NOW - 2 * KEPT_FOR, max_value=NOW + 2 * KEPT_FOR) | st.just(math.nan),
)


def fresh(pace: Pace) -> bool:
    """What `combined` may go by: a length, of the sync mode, measured less than KEPT_FOR from now."""
    return (
        pace.mode is SYNC
        and abs(NOW - pace.measured_at) < KEPT_FOR
        and math.isfinite(pace.seconds)
        and pace.seconds >= 0
    )


@given(st.lists(paces, max_size=12))
def test_the_combined_pace_lies_among_the_fresh_figures_and_ignores_every_other(figures: list[Pace]) -> None:
    counted = [p.seconds for p in figures if fresh(p)]
    pace = combined(figures, mode=SYNC, now=NOW)
    if not counted:
        assert pace is None
        return
    assert pace is not None
    assert min(counted) - 1e-9 * max(counted) <= pace <= max(counted) * (1 + 1e-9)
    assert combined([p for p in figures if fresh(p)], mode=SYNC, now=NOW) == pace
    assert combined(list(reversed(figures)), mode=SYNC, now=NOW) == pytest.approx(pace, rel=1e-9, abs=1e-9)


@given(st.floats(min_value=0, max_value=3600), st.floats(min_value=-KEPT_FOR + 1, max_value=KEPT_FOR - 1))
def test_one_fresh_figure_alone_is_the_pace(seconds: float, age: float) -> None:
    assert combined([Pace(seconds, SYNC, NOW - age)], mode=SYNC, now=NOW) == pytest.approx(seconds)


def test_a_figure_as_old_as_kept_for_is_ignored() -> None:
    assert combined([Pace(3.0, SYNC, NOW - KEPT_FOR)], mode=SYNC, now=NOW) is None
    assert combined([Pace(3.0, SYNC, NOW - KEPT_FOR + 60)], mode=SYNC, now=NOW) == 3.0


def test_the_other_modes_figures_say_nothing_of_this_one() -> None:
    figures = [Pace(2.0, CALLBACK, NOW), Pace(18.0, SYNC, NOW - 60)]
    assert combined(figures, mode=SYNC, now=NOW) == 18.0
    assert combined(figures, mode=CALLBACK, now=NOW) == 2.0


def test_a_fresher_figure_counts_more_than_one_nobody_refreshed() -> None:
    """Just measured: weight 1; measured three quarters of KEPT_FOR ago: weight 1/4."""
    figures = [Pace(4.0, SYNC, NOW), Pace(24.0, SYNC, NOW - 0.75 * KEPT_FOR)]
    assert combined(figures, mode=SYNC, now=NOW) == pytest.approx((4.0 + 0.25 * 24.0) / 1.25)


def test_a_figure_too_small_for_its_weighted_share_is_still_the_pace_alone() -> None:
    # Its weighted share rounds to zero; the mean of one figure is still that figure.
    assert combined([Pace(5e-324, SYNC, NOW - KEPT_FOR / 2)], mode=SYNC, now=NOW) == 5e-324
