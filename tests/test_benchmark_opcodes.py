"""The benchmark's opcode count: only while on, by function (generated ones by their class), without the
skipped file; and the report's ranking of what grew."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common.opcodes import OpcodeCount, differences, read_counts, short_path


@dataclass
class Point:
    x: int
    y: int


def work(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def test_only_what_runs_while_counting_is_counted_by_function(tmp_path: Path) -> None:
    count = OpcodeCount()
    work(1000)  # before: not counted
    count.start()
    try:
        work(10)
        small = count.counts[f"tests/test_benchmark_opcodes.py:{work.__code__.co_firstlineno}:work"]
        work(100)
        Point(1, 2)
    finally:
        count.stop()
    work(1000)  # after: not counted
    name = f"tests/test_benchmark_opcodes.py:{work.__code__.co_firstlineno}:work"
    assert 10 < small < count.counts[name] < 20 * small  # both calls, and nothing after the stop
    assert count.counts["<string>:2:Point.__init__"] > 0  # a dataclass's generated __init__, by its class
    out = tmp_path / "counts.json"
    count.write(out)
    assert read_counts(out) == count.counts


def test_a_skipped_file_is_not_counted() -> None:
    count = OpcodeCount(skip=__file__)
    count.start()
    try:
        work(100)
    finally:
        count.stop()
    assert not any(name.startswith("tests/test_benchmark_opcodes.py") for name in count.counts)


def test_paths_are_shortened_to_the_package() -> None:
    assert short_path(f"{sys.prefix}/lib/python3.11/site-packages/aiohttp/client.py") == "aiohttp/client.py"
    assert short_path("/usr/lib/python3.12/asyncio/tasks.py") == "asyncio/tasks.py"
    assert short_path(str(Path(__file__).resolve())) == "tests/test_benchmark_opcodes.py"
    assert short_path("<frozen posixpath>") == "<frozen posixpath>"
    inside = Path(__file__).resolve().parents[1] / ".venv/lib/python3.11/site-packages/aiohttp/client.py"
    assert short_path(str(inside)) == "aiohttp/client.py"  # a virtualenv in the checkout, as CI makes


def test_the_functions_that_grew_most_come_first_per_upload() -> None:
    ours = Counter({"a": 500, "b": 900, "c": 100, "new": 300})
    theirs = Counter({"a": 500, "b": 100, "c": 400, "gone": 50})
    assert differences(ours, theirs, uploads=100, top=3) == [
        ("b", 8.0, 9.0),
        ("new", 3.0, 3.0),
        ("a", 0.0, 5.0),
    ]
