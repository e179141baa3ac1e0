"""What the benchmark reads of a bot process from /proc: CPU time by thread, memory; and what launch.py counted."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessSample:
    cpu_seconds: float  # CPU time of every live thread of the process (schedstat, nanoseconds)
    rss_kib: int  # VmRSS
    hwm_kib: int  # VmHWM: the peak RSS so far
    threads: dict[int, float] = field(default_factory=dict)  # thread id -> its CPU seconds
    loops: frozenset[int] = frozenset()  # the ids of the event loops' threads (the processes' main threads)


def read_thread_cpu_seconds(pid: int) -> dict[int, float]:
    """Each live thread's CPU time so far, by thread id: the first field of /proc/<pid>/task/<tid>/schedstat,
    in nanoseconds (utime and stime in /proc/<pid>/stat count 10 ms ticks: too coarse per thread)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found[int(task.name)] = int((task / "schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
    return found


def read_memory_kib(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def sample_process(pid: int) -> ProcessSample:
    memory = read_memory_kib(pid)
    threads = read_thread_cpu_seconds(pid)
    return ProcessSample(sum(threads.values()), memory["VmRSS"], memory["VmHWM"], threads, frozenset({pid}))


def sample_processes(pids: Sequence[int]) -> ProcessSample:
    """The sum over several processes (several instances of the bot): CPU, and memory (the sum of each
    process's peak stands in for the peak of the whole)."""
    samples = [sample_process(pid) for pid in pids]
    return ProcessSample(
        sum(s.cpu_seconds for s in samples),
        sum(s.rss_kib for s in samples),
        sum(s.hwm_kib for s in samples),
        {tid: cpu for s in samples for tid, cpu in s.threads.items()},
        frozenset(pid for s in samples for pid in s.loops),
    )


#: The threads the benchmark names: the event loop's, and a store's worker thread; the rest are "other".
LOOP, STORE, OTHER = "event loop", "store", "other"


def thread_cpu(before: ProcessSample, after: ProcessSample, labels: dict[int, str]) -> dict[str, float]:
    """CPU seconds spent between two samples, by LOOP, STORE and OTHER (labels: thread id -> label)."""
    spent = {LOOP: 0.0, STORE: 0.0, OTHER: 0.0}
    for tid, cpu in after.threads.items():
        label = LOOP if tid in after.loops else labels.get(tid, OTHER)
        spent[label if label in spent else OTHER] += cpu - before.threads.get(tid, 0.0)
    return spent


@dataclass(frozen=True)
class Counts:
    """What benchmarks/launch.py counted in the bot processes between two marks."""

    statements: dict[str, int]  # statements the store ran (SQLite or PostgreSQL), by first word
    store_calls: dict[str, int]  # calls into the upload store, by method
    wakeups: int  # the event loop woken from another thread (a trip through a thread)
    labels: dict[int, str]  # thread id -> label
    collections: int = 0  # garbage collections (every generation)
    collecting_seconds: float = 0.0  # the time spent in them

    @staticmethod
    def between(before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]) -> Counts:
        def spent(key: str) -> dict[str, int]:
            counted: Counter[str] = Counter()
            for mark in after:
                counted.update(mark[key])
            for mark in before:
                counted.subtract(mark[key])
            return {k: v for k, v in sorted(counted.items()) if v}

        return Counts(
            spent("statements"),
            spent("store_calls"),
            sum(m["wakeups"] for m in after) - sum(m["wakeups"] for m in before),
            {int(tid): label for m in after for tid, label in m["threads"].items()},
            int(_gc_total(after, 0) - _gc_total(before, 0)),
            _gc_total(after, 1) - _gc_total(before, 1),
        )

    @property
    def statement_total(self) -> int:
        return sum(self.statements.values())

    def detail(self, n: int) -> str:
        """Per upload: the store calls by method, and the statements by first word."""
        calls = ", ".join(f"{k} {v / n:.2f}" for k, v in self.store_calls.items()) or "none"
        run = ", ".join(f"{k} {v / n:.2f}" for k, v in self.statements.items()) or "none"
        return f"store calls per upload: {calls}\nstore statements per upload: {run}"


def _gc_total(marks: Sequence[dict[str, Any]], field: int) -> float:
    """The collections (field 0) or the seconds in them (field 1), summed over generations and marks."""
    return float(sum(spent[field] for m in marks for spent in m.get("gc", {}).values()))


def read_tree_cpu_seconds(pid: int) -> float:
    """CPU of a server process and its children: its own, what its reaped children used (cutime, cstime),
    and what its live children used so far. A PostgreSQL server's backends are such children."""
    total = 0.0
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_path.read_text()
        except OSError:
            continue  # it exited meanwhile: its CPU is in its parent's cutime now
        fields = stat[stat.rindex(")") + 2 :].split()
        this = int(stat_path.parent.name)
        if this == pid or int(fields[1]) == pid:  # field 4 of proc(5): the parent's pid
            total += sum(int(v) for v in fields[11:15]) / CLK_TCK  # utime, stime, cutime, cstime
    return total
