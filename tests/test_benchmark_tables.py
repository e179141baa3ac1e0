"""The benchmark's tables: a ratio's range over the rounds beside its median."""

from __future__ import annotations

from types import SimpleNamespace

from benchmarks.common.tables import round_spread, table_row


def figures(**values: float) -> SimpleNamespace:
    return SimpleNamespace(**values)


def test_the_spread_pairs_each_round_with_the_same_round_of_the_base() -> None:
    ours = [figures(cpu=3.0), figures(cpu=2.0), figures(cpu=2.6)]
    base = [figures(cpu=2.0), figures(cpu=2.0), figures(cpu=2.0)]
    assert round_spread(ours, base, "cpu") == "   rounds 1.00-1.50x"  # 1.50, 1.00, 1.30
    # Each round against its own: 1.00, 2.00, 1.30 (the lowest of ours over the highest base would be 0.67).
    assert round_spread(ours, [figures(cpu=3.0), figures(cpu=1.0), figures(cpu=2.0)], "cpu") == (
        "   rounds 1.00-2.00x"
    )


def test_the_spread_can_hold_a_figure_against_another_name() -> None:
    ours = [figures(callback_cpu=4.0), figures(callback_cpu=3.0)]
    base = [figures(cpu=2.0), figures(cpu=2.5)]
    assert round_spread(ours, base, "callback_cpu", "cpu") == "   rounds 1.20-2.00x"


def test_one_round_or_a_zero_base_has_no_spread() -> None:
    assert round_spread([figures(cpu=2.0)], [figures(cpu=1.0)], "cpu") == ""
    assert round_spread([figures(cpu=2.0)] * 2, [figures(cpu=0.0)] * 2, "cpu") == ""


def test_a_row_shows_the_ratio_the_verdict_and_the_spread() -> None:
    row = table_row("CPU", 2.4, 2.0, ".2f", target=1.2, rounds="   rounds 1.10-1.40x")
    assert row.split()[-6:] == ["1.20x", "<=", "1.2x", "ok", "rounds", "1.10-1.40x"]
    assert "OVER" in table_row("CPU", 2.5, 2.0, ".2f", target=1.2)
