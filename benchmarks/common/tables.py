"""The tables the scenarios print: figures side by side, their ratio, and the target beside it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.common.figures import CallbackFigures, Figures


def verdict(ratio: float, target: float) -> str:
    """`<= 1.2x ok`, or OVER when the ratio is above its target."""
    return f"<= {target:g}x {'ok' if ratio <= target else 'OVER'}"


def table_row(
    label: str, ours: float, minimal: float, fmt: str, *, target: float | None = None, rounds: str = ""
) -> str:
    """Our figure, the minimal bot's, their ratio, the ratio's target if it has one, and `rounds` (the
    ratio's range over the rounds, from `round_spread`)."""
    ratio = f"{ours / minimal:>10.2f}x" if minimal else f"{'-':>11}"
    goal = f"   {verdict(ours / minimal if minimal else float('inf'), target):<14}" if target else ""
    return f"{label:<36}{ours:>10{fmt}}{minimal:>10{fmt}}{ratio}{goal}{rounds}".rstrip()


def round_spread(ours: Sequence[Any], base: Sequence[Any], name: str, base_name: str | None = None) -> str:
    """`   rounds 1.08-1.31x`: the lowest and highest ratio of one round's figure `name` of `ours` over the
    same round's `base_name` (`name` unless given) of `base`. The median's ratio alone hides how far this
    machine moves a figure between rounds; empty with fewer than two rounds."""
    ratios = sorted(
        getattr(a, name) / getattr(b, base_name or name)
        for a, b in zip(ours, base, strict=False)
        if getattr(b, base_name or name)
    )
    return f"   rounds {ratios[0]:.2f}-{ratios[-1]:.2f}x" if len(ratios) > 1 else ""


#: (label, Figures attribute, format, the target of our bot's figure over the minimal bot's, if any);
#: None is a blank line.
ROWS: Sequence[tuple[str, str, str, float | None] | None] = (
    ("CPU per upload (ms)", "cpu_per_upload_ms", ".2f", 1.2),
    ("first response p99 (ms)", "first_response_p99_ms", ".1f", 1.1),
    ("peak memory VmHWM (MiB)", "peak_mib", ".1f", 1.25),
    None,
    ("  of it the event loop thread (ms)", "loop_cpu_per_upload_ms", ".3f", None),
    ("  of it the store's thread (ms)", "store_cpu_per_upload_ms", ".3f", None),
    ("  of it other threads (ms)", "other_threads_cpu_per_upload_ms", ".3f", None),
    ("store calls per upload", "store_calls_per_upload", ".2f", None),
    ("store statements per upload", "statements_per_upload", ".2f", None),
    ("thread round trips per upload", "wakeups_per_upload", ".2f", None),
    ("garbage collection per upload (ms)", "gc_per_upload_ms", ".3f", None),
    ("first response p50 (ms)", "first_response_p50_ms", ".1f", None),
    ("clip_id answer p50 (s)", "answer_p50_s", ".2f", None),
    ("clip_id answer p99 (s)", "answer_p99_s", ".2f", None),
    ("all clip_ids delivered (s)", "all_delivered_s", ".2f", None),
    ("RSS before burst (MiB)", "rss_before_mib", ".1f", None),
    ("RSS growth during burst (MiB)", "rss_growth_mib", ".1f", None),
)


#: The rows that say where the CPU went, and what the bot asked of the store and its threads.
THREAD_ROWS = (
    "loop_cpu_per_upload_ms",
    "store_cpu_per_upload_ms",
    "other_threads_cpu_per_upload_ms",
    "store_calls_per_upload",
    "statements_per_upload",
    "wakeups_per_upload",
    "gc_per_upload_ms",
)


def thread_row_specs() -> list[tuple[str, str, str]]:
    """(label, attribute, format) of the THREAD_ROWS, as ROWS shows them."""
    return [(row[0], row[1], row[2]) for row in ROWS if row is not None and row[1] in THREAD_ROWS]


def comparison(
    title: str, heads: tuple[str, str, str], rows: Sequence[tuple[str, float, float, str] | None]
) -> str:
    """A table of figures of two configurations and their ratio (second / first); None is a blank line."""
    lines = [title, "", f"{'':<44}{heads[0]:>11}{heads[1]:>11}{heads[2]:>11}"]
    for row in rows:
        if row is None:
            lines.append("")
            continue
        label, a, b, fmt = row
        ratio = f"{b / a:>10.2f}x" if a else f"{'-':>11}"
        lines.append(f"{label:<44}{a:>11{fmt}}{b:>11{fmt}}{ratio}")
    return "\n".join(lines)


def cpu_rows(
    a: Figures | CallbackFigures, b: Figures | CallbackFigures, bot: str
) -> list[tuple[str, float, float, str] | None]:
    """CPU per upload of the bot, of the PostgreSQL server beside it, and of both."""
    return [
        (f"CPU per upload, {bot} (ms)", a.cpu_per_upload_ms, b.cpu_per_upload_ms, ".2f"),
        (
            "CPU per upload, PostgreSQL server (ms)",
            a.server_cpu_per_upload_ms,
            b.server_cpu_per_upload_ms,
            ".2f",
        ),
        (
            f"CPU per upload, {bot} + server (ms)",
            a.cpu_per_upload_ms + a.server_cpu_per_upload_ms,
            b.cpu_per_upload_ms + b.server_cpu_per_upload_ms,
            ".2f",
        ),
    ]


def sync_rows(a: Figures, b: Figures, bot: str) -> list[tuple[str, float, float, str] | None]:
    return [
        *cpu_rows(a, b, bot),
        *thread_rows(a, b),
        ("peak memory VmHWM (MiB)", a.peak_mib, b.peak_mib, ".1f"),
        ("first response p99 (ms)", a.first_response_p99_ms, b.first_response_p99_ms, ".1f"),
        ("all clip_ids delivered (s)", a.all_delivered_s, b.all_delivered_s, ".2f"),
    ]


def thread_rows(
    a: Figures | CallbackFigures, b: Figures | CallbackFigures
) -> list[tuple[str, float, float, str] | None]:
    return [
        (label.strip(), getattr(a, name), getattr(b, name), fmt) for label, name, fmt in thread_row_specs()
    ]


def callback_rows(
    a: CallbackFigures, b: CallbackFigures, bot: str
) -> list[tuple[str, float, float, str] | None]:
    return [
        *cpu_rows(a, b, bot),
        (
            "CPU/upload, interactions phase (ms)",
            a.interaction_cpu_per_upload_ms,
            b.interaction_cpu_per_upload_ms,
            ".2f",
        ),
        (
            "CPU/upload, callbacks phase (ms)",
            a.callback_cpu_per_upload_ms,
            b.callback_cpu_per_upload_ms,
            ".2f",
        ),
        *thread_rows(a, b),
        ("peak memory VmHWM (MiB)", a.peak_mib, b.peak_mib, ".1f"),
        ("first response p99 (ms)", a.first_response_p99_ms, b.first_response_p99_ms, ".1f"),
        ("callback -> clip_id edit p99 (s)", a.latency_p99_s, b.latency_p99_s, ".3f"),
    ]
