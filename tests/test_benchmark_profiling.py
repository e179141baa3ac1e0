"""The benchmark's profile summary reads py-spy's raw samples right: by thread, on top, anywhere, the bot's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.common.profiling import sampled, summary

#: A process id no process has (above the kernel's largest, 2**22).
GONE = 2**22 + 1

RAW = "\n".join(
    [
        "thread (11): MainThread;main (bot/__main__.py:55);Delivery._show (bot/discord_app/delivery.py:97);"
        "dumps (json/__init__.py:183) 6",
        "thread (11): MainThread;main (bot/__main__.py:55);select (selectors.py:451) 3",
        "thread (12): Thread-1 (_connection_worker_thread);run (aiosqlite/core.py:48) 1",
        "a line that is not a sample",
        "",
    ]
)


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return [line.strip() for line in lines[start:end]]


def test_samples_are_counted_by_thread() -> None:
    text = summary(RAW)
    assert text.startswith("10 samples")
    assert _section(text, "by thread") == [
        "90.0%  thread (11): MainThread",
        "10.0%  thread (12): Thread-1 (_connection_worker_thread)",
    ]


def test_self_is_the_frame_on_top_and_total_any_frame_of_the_stack() -> None:
    text = summary(RAW)
    assert _section(text, "self (on top of the stack)")[0] == "60.0%  dumps (json/__init__.py:183)"
    assert "90.0%  main (bot/__main__.py:55)" in _section(text, "total (anywhere in the stack)")


def test_the_bots_own_frames_are_listed_apart() -> None:
    own = _section(summary(RAW), "the bot's own frames (bot/, cogs/), total")
    assert own == [
        "90.0%  main (bot/__main__.py:55)",
        "60.0%  Delivery._show (bot/discord_app/delivery.py:97)",
    ]


async def test_a_process_py_spy_cannot_sample_is_reported_after_the_block(tmp_path: Path) -> None:
    ran = []
    with pytest.raises(RuntimeError, match=f"py-spy could not sample process {GONE}"):
        async with sampled(GONE, tmp_path / "gone.raw"):
            ran.append(True)
    assert ran == [True], "the burst runs all the same"
    assert not (tmp_path / "gone.raw.txt").exists()


async def test_an_error_inside_the_block_goes_up_as_it_is(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError):
        async with sampled(GONE, tmp_path / "gone.raw"):
            raise ZeroDivisionError
